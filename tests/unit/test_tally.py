"""The one tally of call records: offered the DGOS way, entered without the calls
forwarded to a PDSA line, answered whatever happened next."""

from __future__ import annotations

from acd.core.model import Outcome
from acd.core.records import CallRecord
from acd.core.tally import Tally, headline, tally

ARRIVED = "2026-03-10T10:00:00.000+01:00"


def record(uid: str, outcome: Outcome, *, wait_s: float | None = None,
           agent: str | None = None, queue: str = "ARM_N1",
           ended: str | None = "2026-03-10T10:00:10.000+01:00") -> CallRecord:
    return CallRecord(uniqueid=uid, linkedid=uid, number="15", caller_name="",
                      queues=[queue], arrived_at=ARRIVED, answered_at=None, ended_at=ended,
                      outcome=outcome, agent=agent, wait_s=wait_s, priority=5,
                      channel=uid, legs=[])


def test_forwarded_calls_are_offered_but_never_entered_the_room() -> None:
    counts = tally([record("1", Outcome.ANSWERED, wait_s=12.0, agent="a"),
                    record("2", Outcome.FORWARDED)])
    assert (counts.offered, counts.entered, counts.forwarded) == (2, 1, 1)
    assert counts.unanswered == {Outcome.FORWARDED: 1}


def test_a_call_cut_after_its_pick_up_is_answered_and_lost() -> None:
    cut = record("1", Outcome.LOST, agent="a")
    assert headline(cut) == Outcome.ANSWERED
    counts = Tally.of(cut)
    assert (counts.answered, counts.answered_wait_unknown, counts.qs_answered) == (1, 1, 0)
    assert (counts.lost, counts.lost_unanswered, counts.unanswered) == (1, 0, {})


def test_short_abandons_come_from_the_threshold_and_leave_the_answer_rate() -> None:
    counts = tally([record("1", Outcome.ABANDONED),  # 10 s
                    record("2", Outcome.ABANDONED, ended="2026-03-10T10:00:40.000+01:00"),
                    record("3", Outcome.ANSWERED, wait_s=29.9995, agent="a")],
                   short_abandon_s=15.0)
    assert (counts.abandoned, counts.short_abandoned) == (2, 1)
    assert (counts.answer_rate.numerator, counts.answer_rate.denominator) == (1, 2)
    assert (counts.qs30.numerator, counts.qs30.denominator) == (0, 1)  # 30.000 s


def test_qs_counts_the_calls_whose_first_queue_is_the_front_office() -> None:
    counts = tally([record("1", Outcome.ANSWERED, wait_s=5.0, agent="a", queue="MG")],
                   front_office="MG")
    assert (counts.qs30.numerator, counts.qs30.denominator) == (1, 1)
    assert tally([record("1", Outcome.ANSWERED, wait_s=5.0, agent="a", queue="MG")]
                 ).qs_answered == 0
