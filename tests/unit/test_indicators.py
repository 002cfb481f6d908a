"""The one definition of the call indicators (the metrics, the report and the summary
count with it)."""

from __future__ import annotations

from acd.core.constants import DEFAULT_HANDLE_S
from acd.core.indicators import (
    QS30_S,
    QS60_S,
    answer_rate_base,
    answered_within,
    handling_time,
    is_short_abandon,
    mean_handling_time,
    ratio,
)
from acd.core.model import Outcome


def test_within_is_strictly_under_the_mark_at_the_millisecond() -> None:
    assert answered_within(29.999, QS30_S)
    assert not answered_within(30.0, QS30_S)
    assert not answered_within(29.9996, QS30_S)  # 30.000 s at the record's precision
    assert answered_within(59.9994, QS60_S)


def test_a_short_abandon_is_an_abandoned_call_under_the_threshold() -> None:
    assert is_short_abandon(Outcome.ABANDONED, 14.9, 15.0)
    assert not is_short_abandon(Outcome.ABANDONED, 15.0, 15.0)
    assert not is_short_abandon(Outcome.ANSWERED, 3.0, 15.0)
    assert not is_short_abandon(Outcome.ABANDONED, None, 15.0)


def test_the_answer_rate_leaves_short_abandons_out_and_ratios_need_a_denominator() -> None:
    assert answer_rate_base(10, 2) == 8
    assert ratio(3, 4) == 0.75
    assert ratio(0, 0) is None


def test_handling_time_is_talk_plus_wrap_up_and_defaults_before_any() -> None:
    assert handling_time(90.0, 30.0) == 120.0
    assert mean_handling_time([60.0, 120.0]) == 90.0
    assert mean_handling_time(()) == DEFAULT_HANDLE_S
