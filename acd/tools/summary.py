"""A run's summary from its call records: what ``acd demo`` and ``acd simulate`` print.

Computed only from the router's own call records (never from a simulator's
bookkeeping), with the DGOS definitions (docs/indicators.md):

* *answered* means picked up by a person; the wait runs from the call's arrival in its
  first queue to that first pick-up (``wait_s`` of the record);
* QS 30 s = calls answered within 30 s / calls answered, for calls whose first queue
  is the front office (ARM_N1); abandoned calls are not in the denominator; QS 60 s
  likewise with 60 s;
* calls still waiting when the run stops are counted apart, neither answered nor
  abandoned; so are calls Asterisk itself cut before any pick-up (outcome ``lost``);
* a caller who hung up during the announcement (``in_announcement``) is offered and
  abandoned, counted apart too (``abandoned_in_announcement``), and in its queue's row
  as a call that never reached an agent (the queue its number led to).

The per-queue rows count each *visit* of a call to a queue (its consecutive legs in
that queue), so a call answered at N1 and transferred to OSNP, then to MG, is offered
once in each of the three rows; a queue's wait runs from entering it to the pick-up
there (``wait_s`` of the leg).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from acd.config import FRONT_OFFICE, STANDARD_SKILLS, Config
from acd.core.constants import FORWARD_PARTNER
from acd.core.indicators import first_queue, leg_answered
from acd.core.model import Outcome
from acd.core.records import CallRecord, LegRecord
from acd.core.tally import Ratio, Tally, headline

#: the ``partner`` of a call forwarded to the external PDSA line of its number
PDSA = FORWARD_PARTNER
#: the outcomes the headline counts apart (every other one is "other")
_HEADLINE = (Outcome.ABANDONED, Outcome.ANSWERED, Outcome.WAITING)


@dataclass
class QueueFigures:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    waiting: int = 0
    waits: list[float] = field(default_factory=list)

    @property
    def mean_wait(self) -> float | None:
        return sum(self.waits) / len(self.waits) if self.waits else None

    @property
    def p90_wait(self) -> float | None:
        return percentile(self.waits, 90)


@dataclass
class TransferFigures:
    """Moves of calls from one queue to another, as the records show them."""

    #: the caller entered the target queue (a cold transfer at its request, a warm one
    #: when the target agent answered; a move back by the transfer fallback too)
    count: int = 0
    #: an agent of the target queue picked the call up there
    connected: int = 0


@dataclass
class PartnerFigures:
    #: attempts to hand a call to this partner SAS, whatever their result
    tried: int = 0
    #: calls the partner took (outcome "overflowed")
    taken: int = 0


@dataclass
class Summary:
    #: the calls counted (offered, answered, QS 30 s / 60 s, abandoned…)
    counts: Tally = field(default_factory=Tally)
    queues: dict[str, QueueFigures] = field(default_factory=dict)
    #: role → legs answered by agents of that role's skill
    handled_by_role: dict[str, int] = field(default_factory=dict)
    #: (from queue, to queue) → moves between them
    transfers: dict[tuple[str, str], TransferFigures] = field(default_factory=dict)
    #: partner SAS → overflow attempts and calls taken
    overflows: dict[str, PartnerFigures] = field(default_factory=dict)
    #: number dialled → calls forwarded to its PDSA line
    forwarded: dict[str, int] = field(default_factory=dict)

    @property
    def other_outcomes(self) -> dict[Outcome, int]:
        """The calls neither answered, abandoned nor waiting, by outcome ("forwarded"
        to a PDSA line, "overflowed" to a partner SAS, "lost" in an Asterisk restart…)."""
        return {outcome: n for outcome, n in self.counts.unanswered.items()
                if outcome not in _HEADLINE}

    @property
    def other(self) -> int:
        return sum(self.other_outcomes.values())

    def accounted(self) -> bool:
        """Every offered call is answered, abandoned, still waiting or other."""
        counts = self.counts
        return counts.offered == (counts.answered + counts.abandoned + counts.waiting
                                  + self.other)


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summarize(records: Iterable[CallRecord], config: Config | None = None) -> Summary:
    summary = Summary()
    for record in records:
        summary.counts.add(record)
        _add_queues(summary, record, first_queue(record) or FRONT_OFFICE, headline(record))
        _add_moves(summary, record)
        for leg in record.legs:
            if leg_answered(leg):
                role = _role(leg.queue, config)
                summary.handled_by_role[role] = summary.handled_by_role.get(role, 0) + 1
    return summary


def _visits(record: CallRecord) -> list[list[LegRecord]]:
    """The record's legs, consecutive legs in the same queue grouped as one visit (a
    second leg in the same queue is a re-answer after a lost agent leg)."""
    visits: list[list[LegRecord]] = []
    for leg in record.legs:
        if visits and visits[-1][0].queue == leg.queue:
            visits[-1].append(leg)
        else:
            visits.append([leg])
    return visits


def _add_queues(summary: Summary, record: CallRecord, first_queue: str,
                kind: Outcome) -> None:
    """The call's visits to its queues (``kind``: how it counts in the headline)."""
    visits = _visits(record)
    if not visits:  # no leg known: the call as a whole, in its first queue
        figures = summary.queues.setdefault(first_queue, QueueFigures())
        figures.offered += 1
        if kind == Outcome.ANSWERED:
            figures.answered += 1
            if record.wait_s is not None:
                figures.waits.append(record.wait_s)
        elif kind == Outcome.ABANDONED:
            figures.abandoned += 1
        elif kind == Outcome.WAITING:
            figures.waiting += 1
        return
    last = len(visits) - 1
    for n, legs in enumerate(visits):
        figures = summary.queues.setdefault(legs[0].queue, QueueFigures())
        figures.offered += 1
        picked = next((leg for leg in legs if leg.answered_at is not None), None)
        if picked is not None:
            figures.answered += 1
            if picked.wait_s is not None:
                figures.waits.append(picked.wait_s)
        elif n < last or record.outcome not in _HEADLINE:
            continue
        elif record.outcome == Outcome.ANSWERED and record.wait_s is None:
            figures.answered += 1  # found talking at a resync: its wait is not known
        elif record.ended_at is None:
            figures.waiting += 1  # never picked up in its last queue: still there
        else:
            figures.abandoned += 1  # never picked up in its last queue: hung up there


def _add_moves(summary: Summary, record: CallRecord) -> None:
    for before, after in zip(record.legs, record.legs[1:], strict=False):
        if before.queue != after.queue:
            move = summary.transfers.setdefault((before.queue, after.queue),
                                                TransferFigures())
            move.count += 1
            move.connected += after.answered_at is not None
    for attempt in record.overflows:
        if attempt.partner != PDSA:
            summary.overflows.setdefault(attempt.partner, PartnerFigures()).tried += 1
    if record.outcome == Outcome.OVERFLOWED:
        partner = record.partner or "unknown"
        summary.overflows.setdefault(partner, PartnerFigures()).taken += 1
    elif record.outcome == Outcome.FORWARDED:
        summary.forwarded[record.number] = summary.forwarded.get(record.number, 0) + 1


def _role(queue: str, config: Config | None) -> str:
    if config is not None and queue in config.skills and config.skills[queue].role:
        return config.skills[queue].role
    return queue


def queue_order(names: Iterable[str]) -> list[str]:
    """The four standard filières first, in the order of a call's path, then the rest."""
    return sorted(names, key=lambda q: (STANDARD_SKILLS.index(q) if q in STANDARD_SKILLS
                                        else len(STANDARD_SKILLS), q))


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def _qs(qs: Ratio, limit: int) -> str:
    head = f"  QS {limit} s at N1: "
    if qs.value is None:
        return head + "—"
    return head + (f"{qs.value:.1%} ({qs.numerator}/{qs.denominator} "
                   f"answered within {limit} s)")


def render(summary: Summary, title: str = "Summary") -> str:
    """The summary table printed at the end of a run."""
    counts = summary.counts
    lines = [
        title,
        f"  offered {counts.offered}   answered {counts.answered}   "
        f"abandoned {counts.abandoned}"
        + (f" ({counts.abandoned_in_announcement} during the announcement)"
           if counts.abandoned_in_announcement else "")
        + f"   still waiting {counts.waiting}"
        + "".join(f"   {outcome} {count}"
                  for outcome, count in sorted(summary.other_outcomes.items())),
        _qs(counts.qs30, 30),
        _qs(counts.qs60, 60),
        "",
        f"  {'queue':<10} {'offered':>8} {'answered':>9} {'abandoned':>10} "
        f"{'waiting':>8} {'mean wait':>10} {'p90 wait':>9}",
    ]
    for name in queue_order(summary.queues):
        q = summary.queues[name]
        lines.append(f"  {name:<10} {q.offered:>8} {q.answered:>9} {q.abandoned:>10} "
                     f"{q.waiting:>8} {_seconds(q.mean_wait):>10} {_seconds(q.p90_wait):>9}")
    lines += _render_moves(summary)
    if summary.handled_by_role:
        lines += ["", "  calls handled per role"]
        for role in sorted(summary.handled_by_role):
            lines.append(f"  {role:<24} {summary.handled_by_role[role]:>6}")
    return "\n".join(lines)


def _render_moves(summary: Summary) -> list[str]:
    lines: list[str] = []
    if summary.transfers:
        lines += ["", f"  {'transfers':<22} {'moved':>6} {'connected':>10}"]
        order = queue_order({q for pair in summary.transfers for q in pair})
        for pair in sorted(summary.transfers,
                           key=lambda p: (order.index(p[0]), order.index(p[1]))):
            move = summary.transfers[pair]
            lines.append(f"  {pair[0] + ' → ' + pair[1]:<22} {move.count:>6} "
                         f"{move.connected:>10}")
    if summary.overflows:
        lines += ["", f"  {'overflow to partner':<22} {'tried':>6} {'taken':>10}"]
        for partner in sorted(summary.overflows):
            figures = summary.overflows[partner]
            lines.append(f"  {partner:<22} {figures.tried:>6} {figures.taken:>10}")
    if summary.forwarded:
        lines += ["", f"  forwarded to the PDSA line: {sum(summary.forwarded.values())} ("
                  + ", ".join(f"{number} {count}"
                              for number, count in sorted(summary.forwarded.items())) + ")"]
    return lines
