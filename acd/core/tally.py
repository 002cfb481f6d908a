"""The counts of call records, written once: the report, the summary, the plan and
the metrics all count with :class:`Tally` (the definitions: :mod:`acd.core.indicators`
and ``docs/indicators.md``).

*offered* is the DGOS's: every call that reached the service, a caller who hung up
during the announcement and a call forwarded to its PDSA line included. *entered*
leaves out the forwarded calls: the calls that reached the room (the plan's load).
A call is *answered* when a person picked it up, its wait seen or not, whatever
happened next (a call Asterisk cut afterwards included); the other counts by outcome
overlap with it only for such calls (``lost`` picked up before the cut, an answered
call a transfer fallback overflowed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from acd.config import FRONT_OFFICE
from acd.core.indicators import (
    QS30_S,
    QS60_S,
    answer_rate_base,
    answered_within,
    first_queue,
    is_answered,
    is_short_abandon,
)
from acd.core.model import Outcome
from acd.core.records import CallRecord

#: the short-abandon threshold without a site's ``routing.short_abandon_s``
SHORT_ABANDON_S = 15.0


@dataclass(frozen=True)
class Ratio:
    """A QS or a rate, kept as its two counts (ratios pool by adding them)."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


def headline(record: CallRecord) -> Outcome:
    """How a call counts first: answered if a person picked it up (even if Asterisk
    cut it afterwards), else its outcome."""
    return Outcome.ANSWERED if is_answered(record) else record.outcome


def duration_s(record: CallRecord) -> float | None:
    """Arrival → end of the call, seconds; None while it has not ended."""
    if record.ended_at is None:
        return None
    return (datetime.fromisoformat(record.ended_at)
            - datetime.fromisoformat(record.arrived_at)).total_seconds()


def short_abandon(record: CallRecord, short_abandon_s: float,
                  duration: Callable[[CallRecord], float | None] = duration_s) -> bool:
    """An abandoned call whose arrival → end is under ``short_abandon_s`` (its duration
    read only for an abandoned call)."""
    return record.outcome == Outcome.ABANDONED and is_short_abandon(
        record.outcome, duration(record), short_abandon_s)


@dataclass
class Tally:
    #: every call (the DGOS's offered)
    offered: int = 0
    #: the calls that reached the room: offered less those forwarded to their PDSA line
    entered: int = 0
    #: first pick-up by a person, whatever happened next
    answered: int = 0
    #: answered at a time no router saw (found talking at a resync): left out of QS
    answered_wait_unknown: int = 0
    #: answered with a known wait, first queue the front office: the QS denominator
    qs_answered: int = 0
    qs30_within: int = 0
    qs60_within: int = 0
    #: the caller hung up before any pick-up
    abandoned: int = 0
    #: of the abandoned, those whose arrival → end is under the short-abandon threshold
    short_abandoned: int = 0
    #: of the abandoned, those whose caller hung up during the announcement
    abandoned_in_announcement: int = 0
    waiting: int = 0
    overflowed: int = 0
    forwarded: int = 0
    #: cut by Asterisk itself, never abandoned; of which never picked up
    lost: int = 0
    lost_unanswered: int = 0
    #: calls never answered, by outcome
    unanswered: dict[Outcome, int] = field(default_factory=dict)
    #: partner SAS → calls it took
    overflowed_by_partner: dict[str, int] = field(default_factory=dict)
    #: lost_reason ("pbx-restart", "pbx-crash") → lost calls
    lost_by_reason: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, record: CallRecord, *, front_office: str = FRONT_OFFICE,
           short: bool = False) -> Tally:
        """The tally of one call."""
        one = cls()
        one.add(record, front_office=front_office, short=short)
        return one

    def add(self, record: CallRecord, *, front_office: str = FRONT_OFFICE,
            short: bool = False) -> None:
        """Count one call; ``short``: an abandon under the short-abandon threshold
        (:func:`~acd.core.indicators.is_short_abandon`)."""
        self.offered += 1
        outcome = record.outcome
        self.entered += outcome != Outcome.FORWARDED
        counted = headline(record)
        if counted == Outcome.ANSWERED:
            self.answered += 1
            if record.wait_s is None:
                self.answered_wait_unknown += 1
            elif (first_queue(record) or front_office) == front_office:
                self.qs_answered += 1
                self.qs30_within += answered_within(record.wait_s, QS30_S)
                self.qs60_within += answered_within(record.wait_s, QS60_S)
        else:
            self.unanswered[counted] = self.unanswered.get(counted, 0) + 1
        if outcome == Outcome.ABANDONED:
            self.abandoned += 1
            self.short_abandoned += short
            self.abandoned_in_announcement += record.in_announcement
        elif outcome == Outcome.WAITING:
            self.waiting += 1
        elif outcome == Outcome.OVERFLOWED:
            self.overflowed += 1
            partner = record.partner or "unknown"
            self.overflowed_by_partner[partner] = self.overflowed_by_partner.get(partner, 0) + 1
        elif outcome == Outcome.FORWARDED:
            self.forwarded += 1
        elif outcome == Outcome.LOST:
            self.lost += 1
            self.lost_unanswered += counted != Outcome.ANSWERED
            reason = record.lost_reason or "unknown"
            self.lost_by_reason[reason] = self.lost_by_reason.get(reason, 0) + 1

    @property
    def qs30(self) -> Ratio:
        return Ratio(self.qs30_within, self.qs_answered)

    @property
    def qs60(self) -> Ratio:
        return Ratio(self.qs60_within, self.qs_answered)

    @property
    def answer_rate(self) -> Ratio:
        """Answered / offered, short abandons left out of offered."""
        return Ratio(self.answered, answer_rate_base(self.offered, self.short_abandoned))


def tally(records: Iterable[CallRecord], *, front_office: str = FRONT_OFFICE,
          short_abandon_s: float = SHORT_ABANDON_S) -> Tally:
    """The tally of ``records``."""
    counts = Tally()
    for record in records:
        counts.add(record, front_office=front_office,
                   short=short_abandon(record, short_abandon_s))
    return counts
