"""The fast simulated day: the engine and the simulator's PBX in one process, on a
virtual clock (acd.tools.fastday)."""

from __future__ import annotations

import msgspec

from acd.core.model import Outcome
from acd.tools.fastday import load_day, play_day
from acd.tools.simulate.scenario import StaffingStep
from tests.support.paths import REPO

SCENARIOS = REPO / "config" / "scenarios"


def test_a_day_is_the_same_for_a_seed_and_differs_for_another() -> None:
    config, scenario = load_day(SCENARIOS / "sas-large-transfers-morning.toml")
    scenario = msgspec.structs.replace(scenario, duration_s=3600)
    one, again = play_day(config, scenario, seed=3), play_day(config, scenario, seed=3)
    assert one.calls_placed > 30
    assert msgspec.json.encode(one.records) == msgspec.json.encode(again.records)
    other = play_day(config, scenario, seed=4)
    assert msgspec.json.encode(other.records) != msgspec.json.encode(one.records)


def test_every_call_has_one_record_and_nobody_is_hung_up_by_the_router() -> None:
    config, scenario = load_day(SCENARIOS / "sas-large-transfers-morning.toml")
    result = play_day(config, msgspec.structs.replace(scenario, duration_s=2400), seed=1)
    assert result.hung_up_by_router == []
    assert len(result.records) == result.calls_placed
    assert result.summary.accounted()
    assert result.summary.counts.answered > 0
    # the same routing as production: N1 transfers to OSNP and on to MG
    assert any(r.queues[:3] == ["ARM_N1", "OSNP", "MG"] for r in result.records)
    assert {r.outcome for r in result.records} <= {"answered", "abandoned", "overflowed"}


def test_staffing_replaces_the_scenarios_own() -> None:
    config, scenario = load_day(SCENARIOS / "sas-large-winter-surge-day.toml")
    scenario = msgspec.structs.replace(  # the late morning: about 150 calls
        scenario, start=scenario.start.replace(hour=10), duration_s=3600)
    own = play_day(config, scenario, seed=2)
    roles = {"ARM_N1", "AMU_N2", "OSNP", "MG"}
    one_each = [StaffingStep(at="00:00", counts=dict.fromkeys(roles, 1))]
    thin = play_day(config, scenario, seed=2, staffing=one_each)
    assert thin.summary.counts.offered == own.summary.counts.offered  # the same callers
    thin_qs30, own_qs30 = thin.summary.counts.qs30.value, own.summary.counts.qs30.value
    assert thin_qs30 is not None and own_qs30 is not None
    assert thin_qs30 < own_qs30
    answered_by = {r.agent for r in thin.records if r.agent is not None}
    assert len(answered_by) <= len(roles)


def test_the_partner_and_pdsa_paths_play_too() -> None:
    config, scenario = load_day(SCENARIOS / "sas-large-winter-surge-day.toml")
    result = play_day(config, msgspec.structs.replace(scenario, duration_s=6 * 3600), seed=1)
    assert result.hung_up_by_router == []
    assert len(result.records) == result.calls_placed
    outcomes = result.summary.other_outcomes
    assert outcomes.get(Outcome.FORWARDED, 0) > 0  # the night's PDSA forwarding


def test_callers_who_hang_up_during_the_announcement_have_a_record_each() -> None:
    """Patience shorter than the announcement (Answer()'s half second) for about half
    the callers: each has its record (``in_announcement``), the summary and the
    planner's estimate count them."""
    from acd.tools.plan.history import estimate_history

    config, scenario = load_day(SCENARIOS / "sas-large-transfers-morning.toml")
    calls = msgspec.structs.replace(scenario.calls, patience_s=[0.1, 0.9])
    result = play_day(config, msgspec.structs.replace(scenario, calls=calls,
                                                      duration_s=3600), seed=2)
    assert len(result.records) == result.calls_placed > 30
    early = [r for r in result.records if r.in_announcement]
    assert 0.3 < len(early) / result.calls_placed < 0.7
    assert {(r.outcome, r.agent, len(r.legs)) for r in early} == {("abandoned", None, 0)}
    assert result.summary.counts.abandoned_in_announcement == len(early)
    assert result.summary.counts.offered == result.calls_placed and result.summary.accounted()
    assert result.hung_up_by_router == []
    est = estimate_history(result.records)
    assert round(sum(sum(v) for by_day in est.arrivals.values() for v in by_day.values())) \
        == result.calls_placed
    assert est.in_announcement == len(early)
    assert est.patience.events >= len(early)
