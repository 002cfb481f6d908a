"""What a simulated day gives, interval by interval, in counts that pool over seeds.

- **N1 figures** of the calls *arriving* in the interval whose first queue is the
  front office (as QS 30 s counts them, ``docs/indicators.md``), calls forwarded to
  the PDSA line left out (they never reach the room): offered, answered
  with a known wait, answered in under 30 s and under 60 s, abandoned.
- **legs and waits per queue**: the legs entering each queue (answered or not) and
  the wait of every leg answered there, by the interval in which the leg entered; a
  warm transfer that never connected counts as a leg left unanswered in its target.
- **busy seconds per role**: an answered leg keeps its agent from its pick-up to its
  end, then for the queue's wrap-up; that time is cut at interval bounds and added to
  the agent's role. Divided by the people logged in, it is the occupancy.
- **why legs were left unanswered**, per queue: the caller hung up there
  (``abandoned``), a partner took the call (``partner``), the call moved on unanswered
  (``moved``: a transfer fell back, the call was sent elsewhere), a warm transfer
  nobody took (``warm-cancelled``), or the call was still waiting, forwarded or cut.
- **lines**: the calls the PBX held at once (:mod:`acd.tools.plan.lines`).

Counts, not shares, so that seeds pool by adding: the plan's QS 30 s is the calls
of all seeds answered in under 30 s over all answered calls, not a mean of shares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from acd.config import FRONT_OFFICE, Config
from acd.core.facts import CallTransferred
from acd.core.indicators import first_queue
from acd.core.model import Outcome
from acd.core.records import CallRecord, LegRecord
from acd.core.tally import Tally, short_abandon
from acd.tools.plan.lines import LineCounts, line_counts
from acd.tools.plan.staffing import Grid
from acd.tools.simulate.traffic import primary_skill
from acd.tools.summary import percentile


@dataclass
class IntervalCounts:
    offered: int = 0
    answered: int = 0
    within30: int = 0
    within60: int = 0
    abandoned: int = 0
    #: of the abandoned, the short abandons (arrival → hang-up under
    #: ``routing.short_abandon_s``): misdials, left out of the abandon rate as DGOS
    #: leaves them out of the answer rate
    short_abandoned: int = 0
    waits: dict[str, list[float]] = field(default_factory=dict)
    #: legs that entered each queue in the interval, answered or not
    entered: dict[str, int] = field(default_factory=dict)
    #: of those, the legs that left the queue unanswered (the caller hung up, a
    #: transfer fell back, a partner took the call) or were still waiting at the end
    unanswered: dict[str, int] = field(default_factory=dict)
    busy_s: dict[str, float] = field(default_factory=dict)
    #: of the unanswered legs, queue → why → count (see the module)
    unanswered_why: dict[str, dict[str, int]] = field(default_factory=dict)
    lines: LineCounts = field(default_factory=LineCounts)

    def count_n1(self, n1: Tally) -> None:
        """The N1 figures from the tally of the interval's N1 calls: the calls that
        reached the room (the forwarded ones never do), answered with a known wait."""
        self.offered = n1.entered
        self.answered = n1.qs_answered
        self.within30 = n1.qs30_within
        self.within60 = n1.qs60_within
        self.abandoned = n1.abandoned
        self.short_abandoned = n1.short_abandoned

    def add(self, other: IntervalCounts) -> None:
        self.offered += other.offered
        self.answered += other.answered
        self.within30 += other.within30
        self.within60 += other.within60
        self.abandoned += other.abandoned
        self.short_abandoned += other.short_abandoned
        for queue, waits in other.waits.items():
            self.waits.setdefault(queue, []).extend(waits)
        for queue, count in other.entered.items():
            self.entered[queue] = self.entered.get(queue, 0) + count
        for queue, count in other.unanswered.items():
            self.unanswered[queue] = self.unanswered.get(queue, 0) + count
        for role, busy in other.busy_s.items():
            self.busy_s[role] = self.busy_s.get(role, 0.0) + busy
        for queue, why in other.unanswered_why.items():
            mine = self.unanswered_why.setdefault(queue, {})
            for reason, count in why.items():
                mine[reason] = mine.get(reason, 0) + count
        self.lines.add(other.lines)

    @property
    def qs30(self) -> float | None:
        return self.within30 / self.answered if self.answered else None

    @property
    def qs60(self) -> float | None:
        return self.within60 / self.answered if self.answered else None

    @property
    def abandon_rate(self) -> float | None:
        abandoned, base = self.abandon_counts()
        return abandoned / base if base > 0 else None

    def abandon_counts(self) -> tuple[int, int]:
        """The abandoned and the offered, short abandons left out of both (the DGOS
        answer rate's rule, docs/indicators.md): a caller who hangs up within seconds
        of calling is no staffing's to keep."""
        return (self.abandoned - self.short_abandoned,
                self.offered - self.short_abandoned)

    def legs_over(self, queue: str, mark_s: float) -> tuple[int, int]:
        """The legs entering ``queue`` that waited over ``mark_s`` (a leg left
        unanswered waits over any), and the legs."""
        waits = self.waits.get(queue, [])
        unanswered = self.unanswered.get(queue, 0)
        return (unanswered + sum(wait > mark_s + 1e-12 for wait in waits),
                len(waits) + unanswered)

    def wait_percentile(self, queue: str, pct: float) -> float | None:
        """The ``pct``-th percentile of the waits of the legs entering ``queue``, a leg
        that left it unanswered counting as a wait longer than any (``inf``): a
        transfer that fell back after ``transfers.max_wait_s`` was not served in
        time, whatever the answered legs' waits. None without legs."""
        ranked = self.ranked_waits(queue)
        return percentile(ranked, pct) if ranked else None

    def ranked_waits(self, queue: str) -> list[float]:
        """The waits of the legs entering ``queue``, shortest first, a leg left
        unanswered as ``inf``."""
        return sorted(self.waits.get(queue, [])) + [math.inf] * self.unanswered.get(queue, 0)

    def leg_entered(self, queue: str) -> None:
        self.entered[queue] = self.entered.get(queue, 0) + 1

    def leg_unanswered(self, queue: str, reason: str) -> None:
        """A leg that entered ``queue`` in the interval left it unanswered, for
        ``reason`` (see the module)."""
        self.unanswered[queue] = self.unanswered.get(queue, 0) + 1
        why = self.unanswered_why.setdefault(queue, {})
        why[reason] = why.get(reason, 0) + 1


def measure(records: list[CallRecord], config: Config, grid: Grid,
            transfers: Sequence[CallTransferred] = (),
            lines: Sequence[tuple[float, float]] | None = None) -> list[IntervalCounts]:
    """One :class:`IntervalCounts` per interval of ``grid``; ``transfers`` (the day's
    transfer facts) add the warm transfers that never connected, ``lines`` (each
    caller's line, seized and released) the calls held at once (none counted
    without)."""
    out = ([IntervalCounts() for _ in grid.starts] if lines is None else
           [IntervalCounts(lines=held) for held in line_counts(lines, grid)])
    for queue, at in unconnected_warm(transfers):
        k = grid.index(at)
        if k is not None:
            out[k].leg_entered(queue)
            out[k].leg_unanswered(queue, "warm-cancelled")
    legs = _LegCounter(out, grid, config)
    short_abandon_s = config.routing.short_abandon_s
    n1 = [Tally() for _ in grid.starts]
    for record in records:
        k = grid.index(_epoch(record.arrived_at))
        if k is not None and (first_queue(record) or FRONT_OFFICE) == FRONT_OFFICE:
            n1[k].add(record, short=short_abandon(record, short_abandon_s, _duration))
        legs.add(record)
    for counts, tallied in zip(out, n1, strict=True):
        counts.count_n1(tallied)
    return out


#: why a call's last leg was left unanswered, from the call's outcome
_UNANSWERED = {Outcome.OVERFLOWED: "partner"}


class _LegCounter:
    """A record's legs into the intervals they entered (entered, unanswered and why,
    waits) and their agents' busy time into the intervals it spans."""

    def __init__(self, out: list[IntervalCounts], grid: Grid, config: Config) -> None:
        self.out = out
        self.grid = grid
        self.role_of = {agent.id: primary_skill(agent) for agent in config.agents}
        self.wrap = {name: config.skill(name).wrap_up_s for name in config.skill_names()}

    def add(self, record: CallRecord) -> None:
        last = len(record.legs) - 1
        for n, leg in enumerate(record.legs):
            entered = self.grid.index(_epoch(leg.entered_at)) if leg.entered_at else None
            counts = None if entered is None else self.out[entered]
            if counts is not None:
                counts.leg_entered(leg.queue)
            if leg.answered_at is None:
                if counts is not None:
                    counts.leg_unanswered(leg.queue, _UNANSWERED.get(
                        record.outcome, record.outcome) if n == last else "moved")
                continue
            if counts is not None and leg.wait_s is not None:
                counts.waits.setdefault(leg.queue, []).append(leg.wait_s)
            self._busy(leg, leg.answered_at)

    def _busy(self, leg: LegRecord, answered_at: str) -> None:
        """The agent kept from pick-up to the leg's end (the day's end while it goes
        on), then for the queue's wrap-up."""
        role = self.role_of.get(leg.agent or "")
        if role is None:
            return
        end = _epoch(leg.ended_at) if leg.ended_at else self.grid.end
        _spread(self.out, self.grid, role, _epoch(answered_at),
                end + self.wrap.get(leg.queue, 0.0))


def unconnected_warm(transfers: Sequence[CallTransferred]) -> list[tuple[str, float]]:
    """(target queue, time asked) of each warm transfer that never connected.

    A warm transfer keeps the caller with the first agent until an agent of the target
    answers; if none does within ``warm_max_wait_s`` it is cancelled and the call
    record shows no leg in the target queue at all. That demand is still the target
    filière's: each such attempt counts there as a leg left unanswered."""
    asked: dict[tuple[str, str], list[float]] = {}
    for fact in transfers:
        if fact.reason != "warm":
            continue
        key = (fact.call, fact.to_queue)
        if fact.result == "requested":
            asked.setdefault(key, []).append(fact.at)
        elif fact.result == "connected" and asked.get(key):
            asked[key].pop(0)
    return [(queue, at) for (_, queue), times in asked.items() for at in times]


def _spread(out: list[IntervalCounts], grid: Grid, role: str, begin: float,
            end: float) -> None:
    """Add [begin, end) to ``role``'s busy time, cut at the intervals' bounds."""
    k = grid.index(begin)
    if k is None:
        if not grid.starts or begin >= grid.end or end <= grid.starts[0]:
            return
        k, begin = 0, grid.starts[0]
    end = min(end, grid.end)
    while begin < end and k < len(grid.starts):
        bound = grid.starts[k] + grid.interval_s
        piece = min(end, bound) - begin
        busy = out[k].busy_s
        busy[role] = busy.get(role, 0.0) + piece
        begin, k = bound, k + 1


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _duration(record: CallRecord) -> float | None:
    """Arrival → end of the call, seconds (None while it goes on)."""
    return _epoch(record.ended_at) - _epoch(record.arrived_at) if record.ended_at else None
