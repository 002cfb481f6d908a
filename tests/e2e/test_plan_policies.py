"""``compare_policies``: the router's routing and app_queue's configurations played on
the same simulated days (acd.tools.plan.policies), and the suite of comparison days
(acd.tools.plan.suite, ``acd plan --compare-policies --suite``)."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from acd.tools.appqueue import STRATEGIES, QueueOptions, appqueue_configurations
from acd.tools.appqueue.options import AppQueueOptions
from acd.tools.fastday import load_day, play_day
from acd.tools.plan.model import Band, PolicyResult
from acd.tools.plan.policies import (
    ACD,
    ACD_FIXED,
    ACD_ONE_PHONE,
    best_of,
    compare_policies,
    render_comparison,
    without_partners,
)
from acd.tools.simulate.scenario import StaffingStep
from tests.support.cli import acd
from tests.support.paths import REPO

SCENARIOS = REPO / "config" / "scenarios"
SEEDS = [1, 2]


def _inside(value: float | None, band: Band | None) -> bool:
    if value is None or band is None:
        return value is None and band is None
    return band[0] - 1e-9 <= value <= band[1] + 1e-9


def test_every_policy_plays_the_same_trace_and_its_bands_hold_the_pooled_value() -> None:
    # a thin room: callers wait, so the policies' choices show in the waits
    config, scenario = load_day(SCENARIOS / "sas-large-thin-room-transfers.toml")
    scenario = msgspec.structs.replace(scenario, duration_s=1800)
    comparison = compare_policies(config, scenario, seeds=SEEDS)
    assert comparison.seeds == SEEDS
    names = [r.policy for r in comparison.results]
    assert names[:3] == [ACD, ACD_ONE_PHONE, ACD_FIXED]
    assert [name.split("+")[0] for name in names[3:]] == list(STRATEGIES)
    room = without_partners(config)
    placed = sum(play_day(room, scenario, seed=seed).calls_placed for seed in SEEDS)
    assert placed > 40
    assert {r.offered for r in comparison.results} == {placed}  # the same callers
    for result in comparison.results:
        assert result.qs30 is not None and _inside(result.qs30, result.qs30_band)
        assert result.qs60 is not None and _inside(result.qs60, result.qs60_band)
        assert result.qs60 >= result.qs30
        assert result.abandon_rate is not None and 0 <= result.abandon_rate < 1
        for queue, mean in result.mean_wait_s.items():
            assert _inside(mean, result.mean_wait_band[queue])
            p90, longest = result.p90_wait_s[queue], result.max_wait_s[queue]
            assert (mean is None) == (p90 is None) == (longest is None)
            assert mean is None or p90 is None or longest is None or \
                (mean <= longest and p90 <= longest)
    # the policies route differently: not every one gives the same waits
    assert len({tuple(r.mean_wait_s.items()) for r in comparison.results}) > 1
    table = render_comparison(comparison)
    for name in names:
        assert f"\n{name} " in table
    assert f"\n{comparison.best} *" in table


def test_the_best_configuration_is_chosen_among_all_of_them() -> None:
    config, scenario = load_day(SCENARIOS / "sas-large-thin-room-transfers.toml")
    scenario = msgspec.structs.replace(scenario, duration_s=1800)
    every = appqueue_configurations(without_partners(config))
    comparison = compare_policies(config, scenario, seeds=[3], appqueue=every)
    alone = [compare_policies(config, scenario, seeds=[3], appqueue={name: options})
             .results[-1] for name, options in every.items()]
    best = best_of(alone)
    assert best is not None and comparison.best == best.policy
    assert best.qs30 == max(r.qs30 or 0.0 for r in alone)


def test_best_of_ranks_qs30_then_the_n1_p90_then_abandons() -> None:
    def result(name: str, qs30: float, p90: float, abandon: float) -> PolicyResult:
        return PolicyResult(policy=name, qs30=qs30, qs30_band=None, mean_wait_s={},
                            mean_wait_band={}, p90_wait_s={"ARM_N1": p90},
                            abandon_rate=abandon)
    chosen = best_of([result("a", 0.90, 10, 0.01), result("b", 0.92, 30, 0.02),
                      result("c", 0.92, 20, 0.03), result("d", 0.92, 20, 0.01)])
    assert chosen is not None and chosen.policy == "d"
    assert best_of([]) is None


def test_a_staffing_given_is_played_by_every_policy() -> None:
    config, scenario = load_day(SCENARIOS / "sas-large-winter-surge-day.toml")
    scenario = msgspec.structs.replace(
        scenario, start=scenario.start.replace(hour=10), duration_s=1800)
    linear = {"linear": AppQueueOptions(default=QueueOptions(strategy="linear"))}
    own = compare_policies(config, scenario, seeds=[3], appqueue=linear)
    thin = compare_policies(config, scenario, seeds=[3], appqueue=linear,
                            staffing=[StaffingStep(at="00:00", counts={
                                "ARM_N1": 1, "AMU_N2": 1, "OSNP": 1, "MG": 1})])
    for before, after in zip(own.results, thin.results, strict=True):
        assert after.offered == before.offered
        assert after.qs30 is not None and before.qs30 is not None
        assert after.qs30 < before.qs30


def test_acd_plan_compares_the_suite_day_by_day(tmp_path: Path) -> None:
    short = tmp_path / "short-thin-room.toml"
    short.write_text((SCENARIOS / "sas-large-thin-room-transfers.toml").read_text(
        encoding="utf-8").replace("duration_s = 10800", "duration_s = 1200")
        .replace('site = "config/sas-large.toml"',
                 f'site = "{REPO / "config" / "sas-large.toml"}"'), encoding="utf-8")
    result = acd("plan", "--compare-policies", "--suite", str(short), "--seeds", "1",
                 "--json", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    (day,) = json.loads(result.stdout)
    assert day["scenario"] == str(short)
    names = [p["policy"] for p in day["policies"]]
    assert names[:3] == [ACD, ACD_ONE_PHONE, ACD_FIXED] and day["best"] in names[3:]
    assert {"qs30", "qs60", "max_wait_s", "p90_wait_s"} <= set(day["policies"][0])
    table = acd("plan", "--compare-policies", "--suite", str(short), "--seeds", "1",
                "--jobs", "1")
    assert table.returncode == 0, table.stderr
    assert table.stdout.startswith("SAS 59 — thin room with transfers")
    assert table.stdout.endswith("\n")


def test_a_suite_without_a_comparison_and_a_plan_without_a_target_are_refused() -> None:
    alone = acd("plan", "--suite")
    assert alone.returncode == 2 and "--suite goes with --compare-policies" in alone.stderr
    untargeted = acd("plan", "--scenario", str(SCENARIOS / "sas-large-n2-day.toml"))
    assert untargeted.returncode == 2 and "--target TARGETS is required" in untargeted.stderr
