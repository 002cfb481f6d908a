"""Reading a :class:`~acd.tools.plan.model.Plan` for people: what the terminal table and
the HTML page both show (times of day, shares, staff-hours, the targets an interval
misses), computed once so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from acd.tools.plan.confidence import Confidence
from acd.tools.plan.model import IntervalPlan, Lines, Plan, Target

#: shown where there is nothing to measure (no call answered, no wait)
NOTHING = "—"


def hhmm(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def interval_end(interval: IntervalPlan, interval_s: int) -> datetime:
    """The end of an interval in its own time zone, counted in real time (a day that
    changes clocks keeps intervals of ``interval_s`` seconds)."""
    zone = interval.start.tzinfo
    return (interval.start.astimezone(UTC) + timedelta(seconds=interval_s)).astimezone(zone)


def share(value: float | None, digits: int = 1) -> str:
    """``0.9123`` → ``"91.2"`` (a percentage without its sign), None → ``"—"``."""
    return NOTHING if value is None else f"{value * 100:.{digits}f}"


def band(values: tuple[float, float] | None, digits: int = 1) -> str:
    """A band, ``"88.1–94.0"`` in percent, None → ``"—"``."""
    if values is None:
        return NOTHING
    return f"{share(values[0], digits)}–{share(values[1], digits)}"


def target_text(target: Target) -> str:
    """``qs30 ≥ 90 %``, ``abandon_rate ≤ 5 %``, ``amu_n2_p90 ≤ 60 s``."""
    op = "≥" if target.op == ">=" else "≤"
    if target.queue is not None:
        return f"{target.metric} {op} {target.value:g} s"
    return f"{target.metric} {op} {target.value * 100:g} %"


def target_value(interval: IntervalPlan, target: Target) -> tuple[bool, float | None]:
    """``(known, value)``: the interval's figure a target is judged on, when the plan
    holds it (a wait target other than the 90th percentile is not kept per interval)."""
    if target.metric == "qs30":
        return True, interval.qs30
    if target.metric == "qs60":
        return True, interval.qs60
    if target.metric == "abandon_rate":
        return True, interval.abandon_rate
    if target.queue is not None and target.percentile == 90:
        return True, interval.p90_wait_s.get(target.queue)
    return False, None


def missed_targets(interval: IntervalPlan, targets: list[Target]) -> list[Target]:
    """The targets whose figure, as the plan holds it, the interval does not meet.

    Empty for an interval that meets them all; it may be empty too for an interval the
    planner marked not met on a figure the plan does not keep (``met`` decides)."""
    missed = []
    for target in targets:
        known, value = target_value(interval, target)
        if known and not target.met_by(value):
            missed.append(target)
    return missed


def role_count(counts: dict[str, int], role: str) -> int:
    return counts.get(role, 0)


@dataclass(frozen=True)
class RoleHours:
    """Staff-hours of one role over the day: needed by the plan, planned by the
    scenario; ``difference`` > 0 is a shortfall of the scenario's staffing."""

    role: str
    needed: float
    planned: float

    @property
    def difference(self) -> float:
        return self.needed - self.planned


def role_hours(plan: Plan) -> list[RoleHours]:
    """One row per role of the plan, in the plan's order."""
    needed, planned = plan.staff_hours(), plan.planned_hours()
    return [RoleHours(role, needed.get(role, 0.0), planned.get(role, 0.0))
            for role in plan.roles]


def signed(value: float, digits: int = 1) -> str:
    """``+2.5`` / ``-1.0`` / ``0.0`` (no sign on zero)."""
    text = f"{value:+.{digits}f}"
    return text[1:] if float(text) == 0 else text


def busiest_lines(plan: Plan) -> Lines | None:
    """The day's lines: each figure's highest over the intervals (the lines a site
    provisions are those of its busiest interval)."""
    known = [i.lines for i in plan.intervals if i.lines is not None]
    if not known:
        return None
    p99s = [lines.p99 for lines in known if lines.p99 is not None]
    return Lines(p99=max(p99s) if p99s else None, max=max(lines.max for lines in known),
                 load=max(lines.load for lines in known),
                 erlang_b=max(lines.erlang_b for lines in known))


def lines_text(lines: Lines | None) -> str:
    """``"9/10"``: calls held at once 99 % of the time, Erlang B's lines."""
    if lines is None:
        return NOTHING
    p99 = NOTHING if lines.p99 is None else str(lines.p99)
    return f"{p99}/{lines.erlang_b}"


def sure_text(sure: Confidence | None) -> str:
    """``"5/5"``: the days that met every target over the days played."""
    return NOTHING if sure is None else f"{sure.days_met}/{sure.days}"


def wilson_text(sure: Confidence | None) -> str:
    """``"57–100"``: the Wilson interval of the probability, in percent."""
    return NOTHING if sure is None else f"{sure.low * 100:.0f}–{sure.high * 100:.0f}"
