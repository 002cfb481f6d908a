"""``compare_policies``: the engine's routing and app_queue's strategies played on the
same simulated days (acd.tools.plan.policies)."""

from __future__ import annotations

import msgspec

from acd.tools.fastday import load_day, play_day
from acd.tools.fastday.appqueue import POLICIES
from acd.tools.plan.model import Band
from acd.tools.plan.policies import compare_policies, render_comparison
from acd.tools.scenario import StaffingStep
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
    assert [r.policy for r in comparison.results] == list(POLICIES)
    placed = sum(play_day(config, scenario, seed=seed).calls_placed for seed in SEEDS)
    assert placed > 40
    assert {r.offered for r in comparison.results} == {placed}  # the same callers
    for result in comparison.results:
        assert result.qs30 is not None
        assert _inside(result.qs30, result.qs30_band)
        assert result.abandon_rate is not None and 0 <= result.abandon_rate < 1
        assert "ARM_N1" in result.mean_wait_s
        for queue, mean in result.mean_wait_s.items():
            assert _inside(mean, result.mean_wait_band[queue])
            p90 = result.p90_wait_s[queue]
            assert (mean is None) == (p90 is None)
    # the policies route differently: not every one gives the same waits
    assert len({tuple(r.mean_wait_s.items()) for r in comparison.results}) > 1
    table = render_comparison(comparison)
    for policy in POLICIES:
        assert f"\n{policy} " in table


def test_a_staffing_given_is_played_by_every_policy() -> None:
    config, scenario = load_day(SCENARIOS / "sas-large-winter-surge-day.toml")
    scenario = msgspec.structs.replace(
        scenario, start=scenario.start.replace(hour=10), duration_s=1800)
    own = compare_policies(config, scenario, seeds=[3], policies=["acd", "linear"])
    thin = compare_policies(config, scenario, seeds=[3], policies=["acd", "linear"],
                            staffing=[StaffingStep(at="00:00", counts={
                                "ARM_N1": 1, "AMU_N2": 1, "OSNP": 1, "MG": 1})])
    for before, after in zip(own.results, thin.results, strict=True):
        assert after.offered == before.offered
        assert after.qs30 is not None and before.qs30 is not None
        assert after.qs30 < before.qs30
