"""The engine's routing beside app_queue's strategies, on the same trace and staffing.

Each policy plays the same simulated days (:func:`acd.tools.fastday.play_day`: the
same seeded arrivals, patience and agent behaviour, the same staffing); only the
choice of agent and caller differs (:mod:`acd.tools.fastday.appqueue`). Per policy:
QS 30 s at N1 over the day pooled over the seeds with its band (lowest and highest
seed), per queue the mean wait of the legs answered there (pooled, with its band) and
their 90th percentile (pooled), and the share of the calls entering N1 that were
abandoned. The figures come from :func:`acd.tools.summary.summarize`, as everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor

from acd.config import Config
from acd.core.constants import FRONT_OFFICE
from acd.core.indicators import first_queue, is_abandoned, ratio
from acd.core.records import CallRecord
from acd.tools.fastday import DayRequest
from acd.tools.fastday.appqueue import POLICIES
from acd.tools.plan.model import Band, PolicyComparison, PolicyResult, band_of
from acd.tools.scenario import Scenario, StaffingStep
from acd.tools.summary import Summary, queue_order, summarize

__all__ = ["POLICIES", "compare_policies", "policy_result", "render_comparison"]


def _records(day: DayRequest) -> list[CallRecord]:
    return day.play().records


def compare_policies(config: Config, scenario: Scenario, *, seeds: Sequence[int],
                     staffing: Sequence[StaffingStep] | None = None,
                     policies: Sequence[str] = POLICIES,
                     pool: Executor | None = None) -> PolicyComparison:
    """Play ``scenario`` once per seed and policy; ``staffing`` replaces the
    scenario's own (for every policy alike); ``pool`` plays the days in parallel."""
    if not seeds:
        raise ValueError("compare_policies needs at least one seed")
    jobs = [DayRequest(config, scenario, seed, staffing, policy)
            for policy in policies for seed in seeds]
    played = list(pool.map(_records, jobs)) if pool else [_records(j) for j in jobs]
    results = [policy_result(policy, played[n * len(seeds):(n + 1) * len(seeds)], config)
               for n, policy in enumerate(policies)]
    return PolicyComparison(seeds=list(seeds), results=results)


def policy_result(policy: str, days: Sequence[Sequence[CallRecord]],
                  config: Config | None = None) -> PolicyResult:
    """One policy's figures from the call records of its days (one list per seed)."""
    per_seed = [summarize(records, config) for records in days]
    pooled = summarize([r for records in days for r in records], config)
    queues = queue_order(pooled.queues)
    return PolicyResult(
        policy=policy,
        qs30=pooled.qs30,
        qs30_band=band_of([s.qs30 for s in per_seed]),
        mean_wait_s={q: pooled.queues[q].mean_wait for q in queues},
        mean_wait_band={q: band_of([_mean_wait(s, q) for s in per_seed]) for q in queues},
        p90_wait_s={q: pooled.queues[q].p90_wait for q in queues},
        abandon_rate=_abandon_rate([r for records in days for r in records]),
        offered=pooled.offered)


def _mean_wait(summary: Summary, queue: str) -> float | None:
    figures = summary.queues.get(queue)
    return figures.mean_wait if figures is not None else None


def _abandon_rate(records: Sequence[CallRecord]) -> float | None:
    """Abandoned / offered, over the calls whose first queue is N1."""
    front = [r for r in records if first_queue(r) == FRONT_OFFICE]
    return ratio(sum(is_abandoned(r.outcome) for r in front), len(front))


# ---------------------------------------------------------------------- the table

def render_comparison(comparison: PolicyComparison) -> str:
    """The comparison as a terminal table: one row per policy."""
    queues = queue_order({q for r in comparison.results for q in r.mean_wait_s})
    header = ["policy", "offered", "QS 30 s N1 [band]", "abandon N1"] + [
        f"{q} mean [band] / p90" for q in queues]
    rows = [header]
    for result in comparison.results:
        rows.append([result.policy, str(result.offered),
                     f"{_share(result.qs30)} {_share_band(result.qs30_band)}",
                     _share(result.abandon_rate)] + [
            f"{_secs(result.mean_wait_s.get(q))} {_secs_band(result.mean_wait_band.get(q))}"
            f" / {_secs(result.p90_wait_s.get(q))}" for q in queues])
    widths = [max(len(row[n]) for row in rows) for n in range(len(header))]
    seeds = ", ".join(str(s) for s in comparison.seeds)
    lines = [f"Routing policies on the same trace (seeds {seeds}; bands: lowest and "
             "highest seed)"]
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths,
                                                                       strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def _share_band(band: Band | None) -> str:
    return "" if band is None else f"[{100 * band[0]:.1f}–{100 * band[1]:.1f}]"


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _secs_band(band: Band | None) -> str:
    return "" if band is None else f"[{band[0]:.1f}–{band[1]:.1f}]"
