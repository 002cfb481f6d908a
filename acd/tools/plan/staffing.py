"""Staffing in the planner's terms: roles, the day's intervals, a site's positions.

A **role** is an agent's primary skill (the skill at its best level), as a scenario's
``[[staffing]]`` counts people: "ARM_N1 = 4" logs in the first four agents of the
roster whose primary skill is ARM_N1. Where they then work is the engine's business
(an ARM whose skills are ARM_N1 = 1, AMU_N2 = 2 takes N2 calls once they have waited
the expansion delay): the planner counts people, the engine places them.

The **intervals** cover the scenario from its start, ``interval_s`` each; staffing
changes at their starts (``HH:MM:SS`` local steps, as a scenario writes them). A plan
covers one local day at most, so that each step's time of day is unambiguous.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time

import msgspec

from acd.config import AgentConfig, Config
from acd.tools.plan.model import STANDARD_ROLES
from acd.tools.simulate.scenario import Scenario, StaffingStep, parse_time_of_day
from acd.tools.simulate.traffic import primary_skill, scenario_start

Counts = dict[str, int]


class PlanInputError(ValueError):
    """A scenario or plan file the planner cannot use; the message says why."""


@dataclass(frozen=True)
class Grid:
    """The plan's intervals: epoch starts, ``interval_s`` apart, from the scenario's
    start to its end."""

    starts: tuple[float, ...]
    interval_s: int
    end: float

    def index(self, at: float) -> int | None:
        """The interval ``at`` falls in, or None outside the grid."""
        if not self.starts or at < self.starts[0] or at >= self.end:
            return None
        return min(int((at - self.starts[0]) // self.interval_s), len(self.starts) - 1)

    def __len__(self) -> int:
        return len(self.starts)


def grid_of(scenario: Scenario, config: Config, interval_s: int) -> Grid:
    """The intervals of ``scenario``; refuses one that spans more than a local day."""
    zone = config.zone()
    start = scenario_start(scenario, zone)
    end = start + scenario.duration_s
    first_day = datetime.fromtimestamp(start, zone).date()
    last_day = datetime.fromtimestamp(end - 1, zone).date()
    if last_day != first_day:
        raise PlanInputError(
            f"scenario {scenario.name!r} runs past midnight ({first_day} to {last_day}): "
            "a plan covers one local day; split it into days")
    count = math.ceil(scenario.duration_s / interval_s)
    return Grid(tuple(start + k * interval_s for k in range(count)), interval_s, end)


def roles_of(config: Config) -> list[str]:
    """The standard roles, then every other primary skill of the roster, in file order."""
    extra: list[str] = []
    for agent in config.agents:
        role = primary_skill(agent)
        if role not in STANDARD_ROLES and role not in extra:
            extra.append(role)
    return [*STANDARD_ROLES, *extra]


def positions(config: Config) -> Counts:
    """How many agents of the roster hold each role."""
    out: Counts = {}
    for agent in config.agents:
        role = primary_skill(agent)
        out[role] = out.get(role, 0) + 1
    return out


def with_positions(config: Config, needed: Mapping[str, int]) -> tuple[Config, Counts]:
    """``config`` with enough positions for ``needed`` people per role: where the
    roster is short, copies of the role's last agent (same skills and levels), ids
    ``<id>-p<n>``. Returns the config and the positions added per role."""
    have = positions(config)
    added: Counts = {}
    extra: list[AgentConfig] = []
    for role, count in needed.items():
        missing = count - have.get(role, 0)
        if missing <= 0:
            continue
        template = next((a for a in reversed(config.agents) if primary_skill(a) == role), None)
        if template is None:
            raise PlanInputError(
                f"the site declares no agent whose first skill is {role}: add one to its "
                "[[agents]] (the planner copies it to add positions)")
        for n in range(1, missing + 1):
            ident = f"{template.id}-p{n}"
            extra.append(msgspec.structs.replace(
                template, id=ident, device=f"{template.device}-p{n}",
                name=f"{template.name or template.id} (added {n})", logged_in=False))
        added[role] = missing
    if not extra:
        return config, {}
    return msgspec.structs.replace(config, agents=[*config.agents, *extra]), added


def max_counts(staff: Iterable[Mapping[str, int]]) -> Counts:
    out: Counts = {}
    for counts in staff:
        for role, count in counts.items():
            out[role] = max(out.get(role, 0), count)
    return out


def steps_of(grid: Grid, staff: Sequence[Mapping[str, int]], config: Config
             ) -> list[StaffingStep]:
    """Scenario staffing steps: ``staff[k]`` from the start of interval ``k`` on."""
    zone = config.zone()
    steps: list[StaffingStep] = []
    previous: Mapping[str, int] | None = None
    for start, counts in zip(grid.starts, staff, strict=True):
        if previous is not None and dict(counts) == dict(previous):
            continue
        at = datetime.fromtimestamp(start, zone).strftime("%H:%M:%S")
        steps.append(StaffingStep(at=at, counts=dict(counts)))
        previous = counts
    return steps


def scenario_counts(scenario: Scenario, config: Config, grid: Grid) -> list[Counts]:
    """The scenario's own staffing in each interval (its step in force at the
    interval's start; a step before the scenario's start holds from the start).
    Without steps: the roster's ``logged_in`` agents."""
    roles = roles_of(config)
    if not scenario.staffing:
        base = {role: 0 for role in roles}
        for agent in config.agents:
            if agent.logged_in:
                base[primary_skill(agent)] = base.get(primary_skill(agent), 0) + 1
        return [dict(base) for _ in grid.starts]
    zone = config.zone()
    day = datetime.fromtimestamp(grid.starts[0], zone).date()
    start = grid.starts[0]
    moments = sorted(
        (max(datetime.combine(day, parse_time_of_day(step.at), zone).timestamp(), start), n)
        for n, step in enumerate(scenario.staffing))
    out: list[Counts] = []
    for t in grid.starts:
        in_force = [n for moment, n in moments if moment <= t]
        counts = {role: 0 for role in roles}
        if in_force:
            counts.update(scenario.staffing[in_force[-1]].counts)
        out.append(counts)
    return out


def steps_from_plan(data: object, config: Config, source: str) -> list[StaffingStep]:
    """Staffing steps from a plan's JSON (``acd plan --json``): its ``intervals``, each
    with ``start`` (ISO local time) and ``staff`` (role → people). A bare list of
    intervals is read too. Errors name the file, the key and the problem."""
    intervals = data.get("intervals") if isinstance(data, dict) else data
    if not isinstance(intervals, list) or not intervals:
        raise PlanInputError(f"{source}: intervals: a plan has a non-empty list of intervals")
    zone = config.zone()
    steps: list[StaffingStep] = []
    for n, interval in enumerate(intervals):
        key = f"{source}: intervals[{n}]"
        if not isinstance(interval, dict):
            raise PlanInputError(f"{key}: an interval is an object with start and staff")
        try:
            start = datetime.fromisoformat(str(interval.get("start")))
        except ValueError as exc:
            raise PlanInputError(f"{key}.start: not an ISO 8601 time ({exc})") from exc
        staff = interval.get("staff")
        if not isinstance(staff, dict) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0
                for v in staff.values()):
            raise PlanInputError(f"{key}.staff: role → number of people (whole, ≥ 0)")
        local = start.astimezone(zone) if start.tzinfo else start
        steps.append(StaffingStep(at=_clock(local.time()),
                                  counts={str(k): int(v) for k, v in staff.items()}))
    return steps


def _clock(moment: time) -> str:
    return moment.strftime("%H:%M:%S")


def interval_label(start: float, config: Config) -> datetime:
    return datetime.fromtimestamp(start, config.zone())
