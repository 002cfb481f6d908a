"""How far an interval misses a target, when more people stop helping it, and the
Wilson interval of the days that met it (``acd.tools.plan.reach``, ``.confidence``)."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from acd.tools.plan.confidence import close_every_day, close_pooled, confidence, wilson
from acd.tools.plan.measure import IntervalCounts
from acd.tools.plan.model import Target, parse_targets
from acd.tools.plan.reach import PATIENCE, Reach, shortfall, value, why
from acd.tools.summary import percentile

WAIT = Target("osnp_p90", "<=", 20.0)


@pytest.mark.parametrize(("days_met", "days"), [(5, 5), (4, 5), (0, 5), (10, 10), (7, 12),
                                                (1, 1)])
def test_the_wilson_interval_is_scipys(days_met: int, days: int) -> None:
    reference = binomtest(days_met, days).proportion_ci(0.95, method="wilson")
    assert wilson(days_met, days) == pytest.approx((reference.low, reference.high))
    sure = confidence([True] * days_met + [False] * (days - days_met))
    assert (sure.days, sure.days_met, sure.share) == (days, days_met, days_met / days)
    assert (sure.low, sure.high) == pytest.approx((reference.low, reference.high))


def test_a_close_decision_is_one_another_day_could_change() -> None:
    # every day over 90 %, the worst by less than the spread of the days
    assert close_every_day([0.91, 0.97, 0.99, 0.95, 0.93], 0.90, higher_is_better=True)
    assert not close_every_day([0.97, 0.98, 0.99, 0.98, 0.97], 0.90, higher_is_better=True)
    assert close_every_day([18.0, 12.0, 5.0], 20.0, higher_is_better=False)
    assert close_pooled(0.91, [0.85, 0.97, 0.88, 0.95, 0.90], 0.90)
    assert not close_pooled(0.99, [0.985, 0.99, 0.995, 0.99, 0.99], 0.90)


def counts_with_waits(waits: list[float], unanswered: int = 0) -> IntervalCounts:
    return IntervalCounts(waits={"OSNP": waits}, unanswered={"OSNP": unanswered},
                          entered={"OSNP": len(waits) + unanswered})


@pytest.mark.parametrize("over", range(0, 8))
def test_a_wait_shortfall_is_positive_exactly_when_the_percentile_misses(over: int) -> None:
    for unanswered in range(0, over + 1):
        counts = counts_with_waits([5.0] * (12 - over) + [40.0] * (over - unanswered),
                                   unanswered)
        p90 = percentile([*counts.waits["OSNP"], *[float("inf")] * unanswered], 90)
        assert (shortfall(WAIT, counts) > 0) == (p90 is not None and p90 > WAIT.value)


def test_a_share_shortfall_is_the_distance_to_the_target() -> None:
    qs30, abandon = parse_targets("qs30>=0.90,abandon_rate<=0.05")
    counts = IntervalCounts(offered=20, answered=18, within30=15, abandoned=2)
    assert shortfall(qs30, counts) == pytest.approx(0.90 - 15 / 18)
    assert shortfall(abandon, counts) == pytest.approx(0.10 - 0.05)
    assert shortfall(qs30, IntervalCounts()) == 0.0 and value(qs30, IntervalCounts()) is None


def test_people_who_bring_an_interval_closer_are_kept_adding() -> None:
    reach = Reach()
    for round_, (people, short) in enumerate([(3, 0.30), (4, 0.20), (5, 0.12), (6, 0.05)],
                                             start=1):
        assert reach.note((7, "OSNP"), people, short, round_, calls=50) is None
    assert not reach.out


def test_additions_that_bring_nothing_stop_and_keep_the_fewest_people_at_the_best() -> None:
    reach = Reach()
    tried = [(3, 0.30), (4, 0.20), (5, 0.205), (6, 0.199)]
    answers = [reach.note((7, "OSNP"), people, short, round_, calls=50)
               for round_, (people, short) in enumerate(tried, start=1)]
    assert answers[:-1] == [None] * (len(tried) - 1) and len(tried) == PATIENCE + 2
    assert answers[-1] == 4 and reach.out == {(7, "OSNP"): 4}
    assert reach.tried[(7, "OSNP")] == 6
    assert reach.worse((7, "OSNP"), 0.30) and not reach.worse((7, "OSNP"), 0.2)


def test_additions_not_in_a_row_start_over() -> None:
    """A shortfall measured before a round of cuts is not compared with one after."""
    reach = Reach()
    assert reach.note((2, "ARM_N1"), 3, 0.10, 1, calls=50) is None
    assert reach.note((2, "ARM_N1"), 4, 0.10, 5, calls=50) is None
    assert reach.note((2, "ARM_N1"), 5, 0.10, 9, calls=50) is None
    assert not reach.out


def test_as_many_people_as_calls_is_out_of_reach_at_once() -> None:
    reach = Reach()
    assert reach.note((1, "MG"), 4, 0.5, 1, calls=4) == 4


def test_the_reason_names_what_limits_the_interval() -> None:
    slow = counts_with_waits([25.0, 30.0, 28.0, 26.0, 3.0])
    found = why("OSNP", [WAIT], slow, people=4, tried=6)
    assert (found.reason, found.role, found.targets, found.people, found.tried) == (
        "answer-floor", "OSNP", ["osnp_p90<=20"], 4, 6)
    gone = counts_with_waits([3.0, 4.0], unanswered=3)
    gone.unanswered_why["OSNP"] = {"warm-cancelled": 3}
    assert why("OSNP", [WAIT], gone, people=4, tried=6).reason == "transfer-target"
    gone.unanswered_why["OSNP"] = {"abandoned": 2, "partner": 1}
    assert why("OSNP", [WAIT], gone, people=4, tried=6).reason == "abandonment"
    gone.unanswered_why["OSNP"] = {"partner": 3}
    assert why("OSNP", [WAIT], gone, people=4, tried=6).reason == "partners"
    hang_up = IntervalCounts(offered=10, answered=8, within30=8, abandoned=2)
    (abandon,) = parse_targets("abandon_rate<=0.05")
    assert why("ARM_N1", [abandon], hang_up, people=3, tried=5).reason == "abandonment"


def test_additions_while_the_people_around_were_cut_start_over() -> None:
    """An ARM added while the interval's AMU regulator (who backs the front office
    up) was cut leaves the front office as it was: no gain, but no proof that more
    people do not help."""
    reach = Reach()
    tried = [(5, 0.0136, (3, 6)), (6, 0.0136, (2, 6)), (7, 0.0136, (1, 6)),
             (8, 0.0100, (1, 6))]
    answers = [reach.note((40, "ARM_N1"), people, short, round_, calls=80, context=around)
               for round_, (people, short, around) in enumerate(tried, start=1)]
    assert answers == [None] * len(tried) and not reach.out
    # the same additions with the people around held are out of reach
    held = Reach()
    answers = [held.note((40, "ARM_N1"), people, short, round_, calls=80, context=(3, 6))
               for round_, (people, short, _) in enumerate(tried[:3], start=1)]
    assert answers == [None, None, 5] and held.out == {(40, "ARM_N1"): 5}
