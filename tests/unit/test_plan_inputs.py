"""What ``acd plan`` reads: targets, intervals, a scenario's staffing, a plan's JSON,
and the positions it adds to a roster."""

from __future__ import annotations

from datetime import datetime

import msgspec
import pytest

from acd.config import Config
from acd.config.load import parse_config
from acd.tools.plan.command import parse_interval
from acd.tools.plan.model import Target, TargetError, parse_targets
from acd.tools.plan.staffing import (
    PlanInputError,
    grid_of,
    positions,
    roles_of,
    scenario_counts,
    steps_from_plan,
    steps_of,
    with_positions,
)
from acd.tools.simulate.scenario import CallsSpec, Scenario, StaffingStep
from tests.support.sites import site_toml

SITE = site_toml("SAS plan", skills={"PSY": {"wrap_up_s": 10}}, agents=[
    {"id": ident, "device": f"PJSIP/{ident}", "skills": skills}
    for ident, skills in (("arm01", {"ARM_N1": 1, "AMU_N2": 2}),
                          ("arm02", {"ARM_N1": 1, "AMU_N2": 2}),
                          ("amu01", {"AMU_N2": 1, "ARM_N1": 2}), ("psy01", {"PSY": 1}))])


def config() -> Config:
    return parse_config(SITE, "site.toml")


def scenario(start: str = "2026-12-15T07:00:00", duration_s: float = 7200,
             staffing: list[StaffingStep] | None = None) -> Scenario:
    return Scenario(site="site.toml", name="t", start=datetime.fromisoformat(start),
                    duration_s=duration_s, calls=CallsSpec(per_day={"15": 100}),
                    staffing=staffing or [])


def test_targets_are_read_with_their_queue_and_percentile() -> None:
    targets = parse_targets("qs30>=0.90, qs60>=0.99,amu_n2_p90<=60,abandon_rate<=0.05")
    assert [str(t) for t in targets] == ["qs30>=0.9", "qs60>=0.99", "amu_n2_p90<=60",
                                         "abandon_rate<=0.05"]
    wait = targets[2]
    assert (wait.queue, wait.percentile) == ("AMU_N2", 90)
    assert targets[0].queue is None


@pytest.mark.parametrize(("text", "part"), [
    ("qs30>0.9", "write METRIC"), ("qs30<=0.9", "share"), ("qs30>=90", "share"),
    ("speed>=3", "unknown metric"), ("amu_n2_p90>=60", "wait target"), ("", "no target"),
    ("abandon_rate>=0.1", "abandon_rate<="),
])
def test_a_target_that_cannot_be_read_says_why(text: str, part: str) -> None:
    with pytest.raises(TargetError, match=part):
        parse_targets(text)


def test_a_target_is_met_at_its_bound_and_by_an_interval_without_calls() -> None:
    at_least = Target("qs30", ">=", 0.9)
    at_most = Target("amu_n2_p90", "<=", 60)
    assert at_least.met_by(0.9) and not at_least.met_by(0.8999) and at_least.met_by(None)
    assert at_most.met_by(60) and not at_most.met_by(60.5)


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("1h", 3600), ("900s", 900),
                                               ("900", 900), ("15min", 900)])
def test_intervals_are_read_in_minutes_hours_or_seconds(text: str, seconds: int) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize(("text", "why"), [("2m", "5 min to 24 h"), ("25h", "5 min to 24 h"),
                                         ("half an hour", "write 30m")])
def test_an_interval_out_of_range_is_refused(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_interval(text)


def test_the_grid_covers_the_scenario_and_refuses_a_night_across_midnight() -> None:
    site = config()
    grid = grid_of(scenario(duration_s=5400), site, 1800)
    assert len(grid) == 3
    assert grid.index(grid.starts[0]) == 0 and grid.index(grid.starts[0] + 1799.9) == 0
    assert grid.index(grid.starts[2] + 10) == 2 and grid.index(grid.end) is None
    with pytest.raises(PlanInputError, match="past midnight"):
        grid_of(scenario(start="2026-12-15T20:00:00", duration_s=8 * 3600), site, 1800)


def test_roles_are_the_standard_ones_then_the_rosters_other_primary_skills() -> None:
    site = config()
    assert roles_of(site) == ["ARM_N1", "AMU_N2", "OSNP", "MG", "PSY"]
    assert positions(site) == {"ARM_N1": 2, "AMU_N2": 1, "PSY": 1}


def test_positions_are_added_as_copies_of_the_roles_agent() -> None:
    site = config()
    bigger, added = with_positions(site, {"ARM_N1": 4, "AMU_N2": 1})
    assert added == {"ARM_N1": 2}
    new = bigger.agents[len(site.agents):]
    assert [a.id for a in new] == ["arm02-p1", "arm02-p2"]
    assert all(a.skills == {"ARM_N1": 1, "AMU_N2": 2} and not a.logged_in for a in new)
    assert len({a.device for a in bigger.agents}) == len(bigger.agents)
    same, none = with_positions(site, {"ARM_N1": 1})
    assert same is site and none == {}
    with pytest.raises(PlanInputError, match="no agent whose first skill is OSNP"):
        with_positions(site, {"OSNP": 1})


def test_the_scenarios_own_staffing_is_read_per_interval() -> None:
    site = config()
    steps = [StaffingStep(at="06:00", counts={"ARM_N1": 1}),
             StaffingStep(at="08:00", counts={"ARM_N1": 2, "AMU_N2": 1})]
    counts = scenario_counts(scenario(staffing=steps), site,
                             grid_of(scenario(), site, 1800))
    assert [c["ARM_N1"] for c in counts] == [1, 1, 2, 2]
    assert [c["AMU_N2"] for c in counts] == [0, 0, 1, 1]


def test_steps_change_only_where_the_staffing_does_and_read_back_from_json() -> None:
    site = config()
    grid = grid_of(scenario(), site, 1800)
    staff = [{"ARM_N1": 1}, {"ARM_N1": 1}, {"ARM_N1": 3}, {"ARM_N1": 2}]
    steps = steps_of(grid, staff, site)
    assert [(s.at, s.counts["ARM_N1"]) for s in steps] == [
        ("07:00:00", 1), ("08:00:00", 3), ("08:30:00", 2)]
    plan = {"intervals": [{"start": "2026-12-15T07:00:00+01:00", "staff": {"ARM_N1": 1}},
                          {"start": "2026-12-15T08:00:00+01:00", "staff": {"ARM_N1": 3}}]}
    back = steps_from_plan(plan, site, "plan.json")
    assert [(s.at, s.counts) for s in back] == [("07:00:00", {"ARM_N1": 1}),
                                                ("08:00:00", {"ARM_N1": 3})]
    assert steps_from_plan(plan["intervals"], site, "p") == back


@pytest.mark.parametrize(("data", "key"), [
    ({"intervals": []}, "intervals"),
    ({"intervals": [{"start": "nine", "staff": {}}]}, r"intervals\[0\].start"),
    ({"intervals": [{"start": "2026-12-15T07:00:00", "staff": {"ARM_N1": -1}}]},
     r"intervals\[0\].staff"),
    ({"intervals": [{"start": "2026-12-15T07:00:00", "staff": {"ARM_N1": 1.5}}]},
     r"intervals\[0\].staff"),
])
def test_a_plan_file_that_cannot_be_used_names_the_key(data: object, key: str) -> None:
    with pytest.raises(PlanInputError, match=f"plan.json: {key}"):
        steps_from_plan(data, config(), "plan.json")


def test_a_scenario_with_a_plans_staffing_validates() -> None:
    site = config()
    steps = steps_of(grid_of(scenario(), site, 1800), [{"ARM_N1": 2}] * 4, site)
    msgspec.convert(msgspec.to_builtins(scenario(staffing=steps)), Scenario)
