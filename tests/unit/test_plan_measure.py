"""The planner's measures per interval: which calls count where, and busy time."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from acd.config.load import parse_config
from acd.core.facts import CallTransferred
from acd.core.model import Outcome
from acd.core.records import CallRecord, LegRecord
from acd.tools.plan.measure import IntervalCounts, measure, unconnected_warm
from acd.tools.plan.staffing import Grid
from tests.support.sites import site_toml

SITE = parse_config(site_toml("SAS plan", skills={"ARM_N1": {"wrap_up_s": 10},
                                                  "AMU_N2": {"wrap_up_s": 0}}, agents=[
    {"id": "arm01", "device": "PJSIP/arm01", "skills": {"ARM_N1": 1}},
    {"id": "amu01", "device": "PJSIP/amu01", "skills": {"AMU_N2": 1, "ARM_N1": 2}}]))
T0 = datetime.fromisoformat("2026-12-15T09:00:00+01:00")
GRID = Grid(tuple(T0.timestamp() + k * 1800 for k in range(3)), 1800,
            T0.timestamp() + 3 * 1800)


def at(seconds: float | None) -> str | None:
    return None if seconds is None else (T0 + timedelta(seconds=seconds)).isoformat()


def leg(queue: str, agent: str | None, entered: float, answered: float | None,
        ended: float | None) -> LegRecord:
    return LegRecord(queue=queue, agent=agent, entered_at=at(entered) or "",
                     answered_at=at(answered), ended_at=at(ended),
                     wait_s=None if answered is None else answered - entered,
                     talk_s=None if answered is None or ended is None else ended - answered)


def record(arrived: float, outcome: str, legs: list[LegRecord], *,
           wait: float | None = None) -> CallRecord:
    return CallRecord(uniqueid=str(arrived), linkedid=str(arrived), number="15",
                      caller_name="x", queues=[g.queue for g in legs] or ["ARM_N1"],
                      arrived_at=at(arrived) or "", answered_at=None, ended_at=None,
                      outcome=Outcome(outcome), agent=None, wait_s=wait, priority=5,
                      channel="c", legs=legs)


def test_front_office_calls_count_in_the_interval_they_arrive_in() -> None:
    records = [
        record(100, "answered", [leg("ARM_N1", "arm01", 100, 110, 200)], wait=10),
        record(1790, "answered", [leg("ARM_N1", "arm01", 1790, 1835, 1900)], wait=45),
        record(1800, "abandoned", [leg("ARM_N1", None, 1800, None, None)]),
        record(1900, "forwarded", []),
        record(2000, "answered", [leg("ARM_N1", "arm01", 2000, 2070, 2100)], wait=70),
    ]
    first, second, third = measure(records, SITE, GRID)
    assert (first.offered, first.answered, first.within30, first.within60) == (2, 2, 1, 2)
    assert (second.offered, second.answered, second.abandoned) == (2, 1, 1)
    assert second.within30 == second.within60 == 0
    assert third == IntervalCounts()
    assert first.entered == {"ARM_N1": 2} and second.entered == {"ARM_N1": 2}  # abandoned too
    assert first.qs30 == 0.5 and second.abandon_rate == 0.5 and third.qs30 is None


def test_short_abandons_leave_the_abandon_rate_as_they_leave_the_answer_rate() -> None:
    def abandoned(arrived: float, after_s: float) -> CallRecord:
        return msgspec.structs.replace(
            record(arrived, "abandoned", [leg("ARM_N1", None, arrived, None, None)]),
            ended_at=at(arrived + after_s))
    records = [
        record(100, "answered", [leg("ARM_N1", "arm01", 100, 110, 200)], wait=10),
        record(200, "answered", [leg("ARM_N1", "arm01", 200, 205, 300)], wait=5),
        abandoned(300, 4.0),    # a misdial: under short_abandon_s (15 s)
        abandoned(400, 15.0),   # exactly 15 s: not under the threshold
        abandoned(500, 90.0),
    ]
    (first, *_) = measure(records, SITE, GRID)
    assert (first.offered, first.abandoned, first.short_abandoned) == (5, 3, 1)
    assert first.abandon_rate == 2 / 4


def test_waits_count_by_the_interval_a_leg_entered_its_queue() -> None:
    transferred = record(100, "answered", [leg("ARM_N1", "arm01", 100, 105, 1700),
                                           leg("AMU_N2", "amu01", 1700, 1830, 2000)],
                         wait=5)
    first, second, _ = measure([transferred], SITE, GRID)
    assert first.waits == {"ARM_N1": [5.0], "AMU_N2": [130.0]}
    assert second.waits == {}


def test_busy_time_is_talk_plus_wrap_up_cut_at_interval_bounds() -> None:
    long_call = record(1000, "answered", [leg("ARM_N1", "arm01", 1000, 1000, 2500)], wait=0)
    first, second, _ = measure([long_call], SITE, GRID)
    assert first.busy_s == {"ARM_N1": 800.0}
    assert second.busy_s == {"ARM_N1": 710.0}  # 700 s of talk + 10 s of wrap-up
    backup = record(0, "answered", [leg("ARM_N1", "amu01", 0, 20, 80)], wait=20)
    assert measure([backup], SITE, GRID)[0].busy_s == {"AMU_N2": 70.0}  # its role


def test_counts_pool_by_adding() -> None:
    one = IntervalCounts(offered=2, answered=2, within30=1, within60=2,
                         waits={"ARM_N1": [1.0]}, busy_s={"ARM_N1": 10.0})
    two = IntervalCounts(offered=1, answered=1, within30=1, within60=1, abandoned=0,
                         waits={"ARM_N1": [2.0]}, busy_s={"ARM_N1": 5.0})
    one.add(two)
    assert (one.offered, one.answered, one.within30) == (3, 3, 2)
    assert one.waits == {"ARM_N1": [1.0, 2.0]} and one.busy_s == {"ARM_N1": 15.0}


def test_the_per_interval_table_of_a_plan_check_warns_of_fast_runs() -> None:
    from acd.tools.plan.staffed import interval_figures, render_intervals

    answered = record(100, "answered", [leg("ARM_N1", "arm01", 100, 110, 200)], wait=10)
    rows = interval_figures([answered], SITE, GRID)
    assert [(r["offered"], r["qs30"]) for r in rows] == [(1, 1.0), (0, None), (0, None)]
    slow, fast = render_intervals(rows, 240), render_intervals(rows, 1440)
    assert "09:00        1         1   100.0%" in slow and "–" in slow
    assert "--speed" not in slow and "×1440" in fast and "--speed 240" in fast


def test_a_leg_left_unanswered_counts_as_longer_than_any_wait() -> None:
    fell_back = record(100, "answered", [leg("ARM_N1", "arm01", 100, 105, 300),
                                         leg("MG", None, 300, None, 420),
                                         leg("ARM_N1", "arm01", 420, 425, 500)], wait=5)
    quick = record(200, "answered", [leg("ARM_N1", "arm01", 200, 202, 260),
                                     leg("MG", "amu01", 260, 270, 400)], wait=2)
    first = measure([fell_back, quick], SITE, GRID)[0]
    assert first.entered == {"ARM_N1": 3, "MG": 2} and first.unanswered == {"MG": 1}
    assert first.waits["MG"] == [10.0]
    assert first.wait_percentile("MG", 40) == 10.0  # the answered half
    assert first.wait_percentile("MG", 90) == float("inf")
    assert first.wait_percentile("ARM_N1", 90) == 5.0
    assert first.wait_percentile("OSNP", 90) is None


def transferred(call: str, to: str, result: str, at: float, reason: str = "warm"
                ) -> CallTransferred:
    return CallTransferred(at=T0.timestamp() + at, call=call, from_queue="OSNP",
                           to_queue=to, agent=None, result=result, reason=reason)


def test_a_warm_transfer_that_never_connected_is_an_unanswered_leg_of_its_target() -> None:
    facts = [transferred("a", "MG", "requested", 100), transferred("a", "MG", "ringing", 101),
             transferred("a", "MG", "connected", 110),
             transferred("b", "MG", "requested", 1700), transferred("b", "MG", "cancelled", 1730),
             transferred("c", "MG", "requested", 1900, reason="cold")]
    assert unconnected_warm(facts) == [("MG", T0.timestamp() + 1700)]
    first, second, _ = measure([], SITE, GRID, facts)
    assert first.entered == {"MG": 1} and first.unanswered == {"MG": 1}
    assert second == IntervalCounts()
