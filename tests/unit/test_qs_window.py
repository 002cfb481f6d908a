"""QS 30 s / 60 s at N1 over the last 15 minutes and since local midnight (the
console's figures), by the metrics' rule."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from acd.core import facts as f
from acd.metrics.qswindow import WINDOW_S, QsWindows

PARIS = ZoneInfo("Europe/Paris")
#: Tuesday 13 January 2026, 10:00 in Paris
TEN = datetime(2026, 1, 13, 10, 0, tzinfo=PARIS).timestamp()


def answered(at: float, wait_s: float, *, first: bool = True, first_queue: str = "ARM_N1",
             queue: str = "ARM_N1") -> f.CallAnswered:
    return f.CallAnswered(at=at, call=f"c{at}", queue=queue, agent="arm01", wait_s=wait_s,
                          first=first, first_queue=first_queue)


def test_a_wait_is_judged_at_the_millisecond_strictly_under_the_mark() -> None:
    qs = QsWindows(PARIS, counting_since=TEN - 3600)
    for wait in (29.9994, 29.9996, 30.0, 59.9994, 59.9996):
        qs.on_fact(answered(TEN, wait))
    figure = qs.window(TEN)
    assert (figure.answered, figure.within_30s, figure.within_60s) == (5, 1, 4)
    assert figure.as_dict() == {"answered": 5, "within_30s": 1, "within_60s": 4,
                                "qs30": 0.2, "qs60": 0.8}


def test_only_first_pick_ups_of_calls_that_entered_at_the_front_office_count() -> None:
    qs = QsWindows(PARIS, counting_since=TEN - 3600)
    qs.on_fact(answered(TEN, 5.0, first=False))                  # after a transfer
    qs.on_fact(answered(TEN, 5.0, first_queue="MG", queue="MG"))  # entered elsewhere
    qs.on_fact(answered(TEN, 5.0, first_queue="", queue="ARM_N1"))  # first queue = queue
    qs.on_fact(f.CallQueued(at=TEN, call="x", queue="ARM_N1", number="15", priority=5,
                            new=True))
    assert qs.window(TEN).answered == 1 and qs.today(TEN).answered == 1


def test_the_window_keeps_the_last_fifteen_minutes_only() -> None:
    qs = QsWindows(PARIS, counting_since=TEN - 3600)
    qs.on_fact(answered(TEN, 40.0))
    qs.on_fact(answered(TEN + 600, 10.0))
    assert qs.window(TEN + 600).as_dict()["qs30"] == 0.5
    assert qs.window(TEN + WINDOW_S - 1).answered == 2
    assert qs.window(TEN + WINDOW_S).answered == 1      # 15 min old: out
    assert qs.window(TEN + WINDOW_S).as_dict()["qs30"] == 1.0
    assert qs.window(TEN + 600 + WINDOW_S).as_dict() == {
        "answered": 0, "within_30s": 0, "within_60s": 0, "qs30": None, "qs60": None}
    assert qs.today(TEN + 600 + WINDOW_S).answered == 2  # the day keeps them


def test_today_starts_at_local_midnight_or_at_the_start_of_the_counting() -> None:
    before_midnight = datetime(2026, 1, 13, 23, 59, 50, tzinfo=PARIS).timestamp()
    after_midnight = before_midnight + 20
    qs = QsWindows(PARIS, counting_since=TEN)
    assert qs.today_since(TEN + 60) == TEN            # started after midnight
    qs.on_fact(answered(before_midnight, 12.0))
    qs.on_fact(answered(after_midnight, 45.0))
    assert qs.today(after_midnight).answered == 1     # 14 January, local time
    assert qs.today(after_midnight).within_30s == 0
    assert qs.window(after_midnight).answered == 2    # the window crosses midnight
    assert qs.today_since(after_midnight) == after_midnight - 10
    assert qs.today(after_midnight + 86_400).answered == 0  # a day with no answer yet
