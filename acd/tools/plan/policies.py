"""The router's routing beside Asterisk's ``Queue()``, on the same trace and staffing.

Each policy plays the same simulated days: the same seeded arrivals, patience and
agents' behaviour drawn per caller and offer, the same staffing. The router plays them
with its engine and the simulated PBX (:mod:`acd.tools.fastday`), with its routing
(``acd``: backups lent when their filière can spare them, ``[routing] backups =
"spare"``, and the site's ring groups, ``ring_phones``), the same ringing one phone at
a time (``acd (one phone)``) and its older rule (``acd (fixed expansion)``, one phone
at a time); app_queue plays
them in its model (:mod:`acd.tools.appqueue`) under every configuration worth trying
(strategy × ``autofill`` × queue rules mimicking the expansion). The router's partner
overflow is off for the comparison: a room of plain queues has none.

Per policy: QS 30 s and QS 60 s at N1 pooled over the seeds with their bands (lowest
and highest seed), per queue the mean wait of the legs answered there (pooled, with
its band), their 90th percentile (pooled) and the longest, and the share of the calls
entering N1 that were abandoned. The figures come from
:func:`acd.tools.summary.summarize`, as everywhere.

app_queue's side is its *best configuration*: the highest QS 30 s at N1, then the
shortest N1 90th percentile, then the fewest abandons, chosen on the same seeds it is
reported on (which flatters it: the router is not tuned per day).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from typing import Literal

import msgspec

from acd.config import FRONT_OFFICE, Config, with_routing
from acd.core.indicators import first_queue, ratio
from acd.core.records import CallRecord
from acd.core.tally import tally
from acd.tools.appqueue import AppQueueDay, AppQueueOptions, appqueue_configurations
from acd.tools.fastday import DayRequest
from acd.tools.plan.model import Band, PolicyComparison, PolicyResult, band_of
from acd.tools.simulate.scenario import Scenario, StaffingStep
from acd.tools.summary import Summary, queue_order, summarize

__all__ = ["ACD", "ACD_FIXED", "ACD_ONE_PHONE", "best_of", "compare_policies", "policy_result",
           "render_comparison", "with_backups", "without_partners"]

#: the router's routing (the site's ring groups); the same ringing one phone at a
#: time; and its older rule: fixed skill expansion, one phone at a time
ACD = "acd"
ACD_ONE_PHONE = "acd (one phone)"
ACD_FIXED = "acd (fixed expansion)"

Day = DayRequest | AppQueueDay


def _records(day: Day) -> list[CallRecord]:
    played = day.play()
    return played if isinstance(played, list) else played.records


def one_phone(config: Config) -> Config:
    """``config`` ringing one phone at a time (``[routing] ring_phones = 1``)."""
    return with_routing(config, ring_phones=1)


def without_partners(config: Config) -> Config:
    """``config`` with no partner SAS: no policy may send calls out of the room."""
    return msgspec.structs.replace(config, partners=[], overflow={})


def with_backups(config: Config, rule: Literal["spare", "fixed"]) -> Config:
    """``config`` with ``[routing] backups = rule``."""
    return with_routing(config, backups=rule)


def compare_policies(config: Config, scenario: Scenario, *, seeds: Sequence[int],
                     staffing: Sequence[StaffingStep] | None = None,
                     appqueue: Mapping[str, AppQueueOptions] | None = None,
                     pool: Executor | None = None) -> PolicyComparison:
    """Play ``scenario`` once per seed under the router's two rules and each app_queue
    configuration (default: :func:`acd.tools.appqueue.appqueue_configurations`);
    ``staffing`` replaces the scenario's own (for every policy alike); ``pool`` plays
    the days in parallel. The results: the router's rows, then app_queue's best
    configuration of each strategy, the best of all named in ``best``."""
    if not seeds:
        raise ValueError("compare_policies needs at least one seed")
    room = without_partners(config)
    options = dict(appqueue) if appqueue is not None else appqueue_configurations(room)
    days: dict[str, list[Day]] = {
        ACD: [DayRequest(with_backups(room, "spare"), scenario, s, staffing) for s in seeds],
        ACD_ONE_PHONE: [DayRequest(one_phone(with_backups(room, "spare")), scenario, s,
                                   staffing) for s in seeds],
        ACD_FIXED: [DayRequest(one_phone(with_backups(room, "fixed")), scenario, s, staffing)
                    for s in seeds],
        **{name: [AppQueueDay(room, scenario, s, option, staffing) for s in seeds]
           for name, option in options.items()}}
    jobs = [day for per_seed in days.values() for day in per_seed]
    played = list(pool.map(_records, jobs)) if pool else [_records(j) for j in jobs]
    n = len(seeds)
    results = {name: policy_result(name, played[k * n:(k + 1) * n], room)
               for k, name in enumerate(days)}
    appqueue_results = [results[name] for name in options]
    best = best_of(appqueue_results)
    by_strategy: dict[str, list[PolicyResult]] = {}
    for result in appqueue_results:
        by_strategy.setdefault(result.policy.split("+")[0], []).append(result)
    strategies = [top for variants in by_strategy.values()
                  if (top := best_of(variants)) is not None]
    return PolicyComparison(seeds=list(seeds),
                            results=[results[ACD], results[ACD_ONE_PHONE], results[ACD_FIXED],
                                     *strategies],
                            best=best.policy if best is not None else None)


def best_of(results: Sequence[PolicyResult]) -> PolicyResult | None:
    """The result with the highest QS 30 s at N1, then the shortest N1 90th percentile
    of the wait, then the fewest abandons at N1 (the first of equals)."""
    def rank(result: PolicyResult) -> tuple[float, float, float]:
        p90 = result.p90_wait_s.get(FRONT_OFFICE)
        return (-(result.qs30 or 0.0), p90 if p90 is not None else float("inf"),
                result.abandon_rate if result.abandon_rate is not None else 1.0)
    return min(results, key=rank, default=None)


def policy_result(policy: str, days: Sequence[Sequence[CallRecord]],
                  config: Config | None = None) -> PolicyResult:
    """One policy's figures from the call records of its days (one list per seed)."""
    per_seed = [summarize(records, config) for records in days]
    pooled = summarize([r for records in days for r in records], config)
    queues = queue_order(pooled.queues)
    return PolicyResult(
        policy=policy,
        qs30=pooled.counts.qs30.value,
        qs30_band=band_of([s.counts.qs30.value for s in per_seed]),
        mean_wait_s={q: pooled.queues[q].mean_wait for q in queues},
        mean_wait_band={q: band_of([_mean_wait(s, q) for s in per_seed]) for q in queues},
        p90_wait_s={q: pooled.queues[q].p90_wait for q in queues},
        abandon_rate=_abandon_rate([r for records in days for r in records]),
        offered=pooled.counts.offered,
        qs60=pooled.counts.qs60.value,
        qs60_band=band_of([s.counts.qs60.value for s in per_seed]),
        max_wait_s={q: max(pooled.queues[q].waits, default=None) for q in queues})


def _mean_wait(summary: Summary, queue: str) -> float | None:
    figures = summary.queues.get(queue)
    return figures.mean_wait if figures is not None else None


def _abandon_rate(records: Sequence[CallRecord]) -> float | None:
    """Abandoned / offered, over the calls whose first queue is N1."""
    front = tally(r for r in records if first_queue(r) == FRONT_OFFICE)
    return ratio(front.abandoned, front.offered)


# ---------------------------------------------------------------------- the table

def render_comparison(comparison: PolicyComparison) -> str:
    """The comparison as a terminal table: one row per policy, app_queue's best
    configuration marked with ``*``."""
    queues = queue_order({q for r in comparison.results for q in r.mean_wait_s})
    header = ["policy", "QS 30 s N1 [band]", "QS 60 s N1 [band]", "abandon N1"] + [
        f"{q} mean [band] / p90 / max" for q in queues]
    rows = [header]
    for result in comparison.results:
        mark = " *" if result.policy == comparison.best else ""
        rows.append([result.policy + mark,
                     f"{_share(result.qs30)} {_share_band(result.qs30_band)}",
                     f"{_share(result.qs60)} {_share_band(result.qs60_band)}",
                     _share(result.abandon_rate)] + [
            f"{_secs(result.mean_wait_s.get(q))} {_secs_band(result.mean_wait_band.get(q))}"
            f" / {_secs(result.p90_wait_s.get(q))} / {_secs(result.max_wait_s.get(q))}"
            for q in queues])
    widths = [max(len(row[n]) for row in rows) for n in range(len(header))]
    seeds = ", ".join(str(s) for s in comparison.seeds)
    offered = comparison.results[0].offered if comparison.results else 0
    lines = [f"Routing policies on the same trace ({offered} calls over seeds {seeds}; "
             "bands: lowest and highest seed; app_queue: the best of each strategy's "
             "variants, * the best of all)"]
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
