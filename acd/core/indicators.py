"""The one definition of every call indicator: the metrics, the report and the
summary all count with these.

* *answered*: picked up by a person; the wait runs from the call's arrival in its
  first queue to its first pick-up, to the millisecond (as ``wait_s`` of the record).
  A call found talking at a resync is answered with its wait unknown.
* QS 30 s / QS 60 s: calls answered with a wait strictly under 30 s / 60 s, over the
  calls answered (abandoned calls are not in the denominator), for calls whose first
  queue is the front office.
* *abandoned*: the caller hung up before any pick-up (outcome ``abandoned``); *short
  abandoned*: an abandoned call whose arrival → end is under ``routing.short_abandon_s``.
  Answer rate = answered / (offered − short abandoned).
* *lost*: Asterisk itself cut the call (outcome ``lost``, ``lost_reason``
  ``pbx-restart`` or ``pbx-crash``): never abandoned (the caller did not give up),
  answered if it was picked up before the cut; one never picked up counts in offered
  and as not answered in the answer rate (the room did not answer it).
* *handling time* of a leg: its talk time plus its skill's wrap-up; the estimated wait
  averages it.
"""

from __future__ import annotations

from collections.abc import Collection

from acd.core.constants import DEFAULT_HANDLE_S
from acd.core.model import Outcome
from acd.core.records import CallRecord, LegRecord

#: the service-quality marks (seconds)
QS30_S = 30.0
QS60_S = 60.0


def answer_wait(wait_s: float) -> float:
    """An answer's wait at the record's precision (the millisecond)."""
    return round(wait_s, 3)


def answered_within(wait_s: float, limit_s: float) -> bool:
    """Whether a call answered after ``wait_s`` counts as answered within ``limit_s``
    (strictly under)."""
    return answer_wait(wait_s) < limit_s


def first_queue(record: CallRecord) -> str | None:
    """The queue the call entered first (the one QS 30 s / 60 s are judged by)."""
    return record.queues[0] if record.queues else None


def is_answered(record: CallRecord) -> bool:
    """Picked up by a person, whether the pick-up was seen or found at a resync (a
    call Asterisk cut afterwards included: it has its agent)."""
    return record.wait_s is not None or record.outcome == Outcome.ANSWERED \
        or (record.outcome == Outcome.LOST and record.agent is not None)


def is_abandoned(outcome: Outcome) -> bool:
    return outcome == Outcome.ABANDONED


def is_lost(outcome: Outcome) -> bool:
    """Cut by Asterisk itself (restart, crash): not an abandon, whatever the wait."""
    return outcome == Outcome.LOST


def is_short_abandon(outcome: Outcome, duration_s: float | None, short_abandon_s: float) -> bool:
    """An abandoned call whose arrival → end is under ``short_abandon_s``."""
    return is_abandoned(outcome) and duration_s is not None and duration_s < short_abandon_s


def answer_rate_base(offered: int, short_abandoned: int) -> int:
    """The answer rate's denominator: short abandoned calls are left out."""
    return offered - short_abandoned


def ratio(numerator: int, denominator: int) -> float | None:
    """A QS or a rate; None with nothing to divide by."""
    return numerator / denominator if denominator else None


def leg_answered(leg: LegRecord) -> bool:
    return leg.answered_at is not None


def leg_talk_s(leg: LegRecord) -> float | None:
    """The talk time of an answered leg (None if not answered or not over)."""
    return leg.talk_s if leg.answered_at is not None else None


def handling_time(talk_s: float, wrap_up_s: float) -> float:
    """A handled leg's cost to its queue: talk, then the skill's wrap-up."""
    return talk_s + wrap_up_s


def mean_handling_time(handled: Collection[float]) -> float:
    """The mean handling time of a queue's last handled legs (a default before any)."""
    return sum(handled) / len(handled) if handled else DEFAULT_HANDLE_S
