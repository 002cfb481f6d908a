"""The fast simulated day: the engine and the simulator's PBX in one process, on a
virtual clock (acd.tools.fastday)."""

from __future__ import annotations

import msgspec

from acd.tools.fastday import load_day, play_day
from acd.tools.scenario import StaffingStep
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
    assert result.summary.answered > 0
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
    assert thin.summary.offered == own.summary.offered  # the same callers
    assert thin.summary.qs30 is not None and own.summary.qs30 is not None
    assert thin.summary.qs30 < own.summary.qs30
    answered_by = {r.agent for r in thin.records if r.agent is not None}
    assert len(answered_by) <= len(roles)


def test_the_partner_and_pdsa_paths_play_too() -> None:
    config, scenario = load_day(SCENARIOS / "sas-large-winter-surge-day.toml")
    result = play_day(config, msgspec.structs.replace(scenario, duration_s=6 * 3600), seed=1)
    assert result.hung_up_by_router == []
    assert len(result.records) == result.calls_placed
    outcomes = result.summary.other_outcomes
    assert outcomes.get("forwarded", 0) > 0  # the night's PDSA forwarding
