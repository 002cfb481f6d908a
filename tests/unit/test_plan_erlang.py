"""Erlang B and C (scipy's Poisson law) and Erlang A (its birth–death chain) as the
planner and the checks of the simulated day use them (acd.tools.plan.erlang)."""

from __future__ import annotations

from fractions import Fraction
from math import factorial

import pytest

from acd.tools.plan.erlang import (
    erlang_a,
    erlang_b,
    erlang_b_lines,
    erlang_c_agents,
    erlang_c_mean_wait,
    erlang_c_service_level,
    erlang_c_wait_probability,
)

HANDLE_S = 240.0
RATE = 8 / HANDLE_S  # 8 Erlangs


def _poisson_terms(load: int, upto: int) -> list[Fraction]:
    return [Fraction(load ** k, factorial(k)) for k in range(upto + 1)]


def test_erlang_b_is_its_definition_in_exact_arithmetic() -> None:
    for load, lines in ((1, 1), (5, 10), (12, 10), (30, 40), (80, 100)):
        terms = _poisson_terms(load, lines)
        assert erlang_b(load, lines) == pytest.approx(float(terms[-1] / sum(terms)), rel=1e-9)


def test_erlang_c_is_its_definition_in_exact_arithmetic() -> None:
    for load, agents in ((3, 4), (8, 10), (10, 12), (40, 45)):
        terms = _poisson_terms(load, agents)
        tail = terms[-1] * Fraction(agents, agents - load)
        exact = tail / (sum(terms[:-1]) + tail)
        rate = load / HANDLE_S
        assert erlang_c_wait_probability(rate, HANDLE_S, agents) == pytest.approx(
            float(exact), rel=1e-9)


def test_erlang_b_and_c_agree_with_published_tables() -> None:
    # Erlang B table: 5 Erlangs on 10 lines block 1.84 %; 20 Erlangs at 1 % need 30
    assert erlang_b(5, 10) == pytest.approx(0.0184, abs=5e-5)
    assert erlang_b_lines(20, 0.01) == 30
    assert erlang_b(20, 29) > 0.01 >= erlang_b(20, 30)
    # Erlang C table: 10 Erlangs wait with probability 0.682 on 11 agents, 0.449 on 12
    rate = 10 / HANDLE_S
    assert erlang_c_wait_probability(rate, HANDLE_S, 11) == pytest.approx(0.682, abs=5e-4)
    assert erlang_c_wait_probability(rate, HANDLE_S, 12) == pytest.approx(0.449, abs=5e-4)


def test_erlang_b_holds_for_a_large_trunk() -> None:
    # factorials of a thousand lines would overflow a float: logarithms do not
    assert 0.0 < erlang_b(1000, 1050) < erlang_b(1000, 1000) < 1.0
    assert erlang_b(0, 3) == 0.0 and erlang_b(4, 0) == 1.0


def test_erlang_c_agents_meets_the_target_and_one_fewer_does_not() -> None:
    for calls_per_hour in (10, 45, 120, 300, 900):
        for target, within_s in ((0.8, 20.0), (0.9, 30.0), (0.95, 60.0)):
            rate = calls_per_hour / 3600
            n = erlang_c_agents(rate, HANDLE_S, target, within_s)
            assert n > rate * HANDLE_S
            assert erlang_c_service_level(rate, HANDLE_S, n, within_s) >= target
            assert erlang_c_service_level(rate, HANDLE_S, n - 1, within_s) < target


def test_erlang_c_agents_grows_with_the_load_and_the_target() -> None:
    staffed = [erlang_c_agents(c / 3600, HANDLE_S, 0.9, 30) for c in range(10, 400, 10)]
    assert staffed == sorted(staffed) and staffed[0] < staffed[-1]
    by_target = [erlang_c_agents(RATE, HANDLE_S, t, 30) for t in (0.5, 0.8, 0.9, 0.99)]
    assert by_target == sorted(by_target) and by_target[0] < by_target[-1]


def test_erlang_c_agents_starts_at_the_first_stable_staffing() -> None:
    # 8.6 Erlangs and a lax target: 9 agents suffice, though 9 < round(8.6 + 1)
    rate = 8.6 / HANDLE_S
    assert erlang_c_agents(rate, HANDLE_S, 0.15, 30) == 9


def test_without_enough_agents_the_queue_never_empties() -> None:
    assert erlang_c_service_level(RATE, HANDLE_S, 8, 30) == 0.0
    assert erlang_c_wait_probability(RATE, HANDLE_S, 7) == 1.0
    assert erlang_c_mean_wait(RATE, HANDLE_S, 8) == float("inf")


def test_erlang_c_figures_hang_together() -> None:
    waited = erlang_c_wait_probability(RATE, HANDLE_S, 10)
    assert erlang_c_service_level(RATE, HANDLE_S, 10, 0) == pytest.approx(1 - waited)
    levels = [erlang_c_service_level(RATE, HANDLE_S, 10, t) for t in (0, 10, 30, 120, 600)]
    assert levels == sorted(levels) and levels[-1] < 1
    # a queue with waiting probability C empties at rate n/h − λ: mean wait C·h/(n − a)
    assert erlang_c_mean_wait(RATE, HANDLE_S, 10) == pytest.approx(waited * HANDLE_S / 2)


def test_erlang_a_tends_to_erlang_c_as_patience_grows() -> None:
    a = erlang_a(RATE, HANDLE_S, 10, patience_s=1e8, within_s=30)
    assert a.abandoned < 1e-6
    assert a.wait_probability == pytest.approx(
        erlang_c_wait_probability(RATE, HANDLE_S, 10), abs=1e-5)
    assert a.service_level == pytest.approx(
        erlang_c_service_level(RATE, HANDLE_S, 10, 30), abs=1e-5)


def test_erlang_a_abandons_more_with_shorter_patience_and_serves_the_rest_sooner() -> None:
    points = [erlang_a(RATE, HANDLE_S, 9, patience_s=p, within_s=30)
              for p in (60, 180, 600, 3600)]
    abandoned = [p.abandoned for p in points]
    levels = [p.service_level for p in points]
    assert abandoned == sorted(abandoned, reverse=True) and abandoned[-1] > 0
    assert levels == sorted(levels, reverse=True)


def test_erlang_a_is_stable_beyond_the_load() -> None:
    # 8 agents for 10 Erlangs: Erlang C has no steady state, Erlang A has one where
    # the abandons carry the excess (at least 1 − 8/10 of the calls)
    a = erlang_a(10 / HANDLE_S, HANDLE_S, 8, patience_s=120, within_s=30)
    assert 0.2 <= a.abandoned < 1
    assert 0 < a.service_level < 1
    # very patient callers: the agents work all the time, the excess hangs up
    patient = erlang_a(10 / HANDLE_S, HANDLE_S, 8, patience_s=1e5, within_s=30)
    assert patient.abandoned == pytest.approx(1 - 8 / 10, abs=1e-6)


def test_erlang_a_two_ways_to_the_answered_share_agree() -> None:
    # answered = 1 − θ·E[queue]/λ (the stationary law) and, by the tagged caller's
    # chain, those who find an agent free plus those served before hanging up
    for agents, patience in ((9, 60.0), (10, 300.0), (7, 200.0)):
        a = erlang_a(RATE, HANDLE_S, agents, patience, within_s=30)
        eventually = erlang_a(RATE, HANDLE_S, agents, patience, within_s=20_000)
        assert eventually.answered_within == pytest.approx(a.answered, abs=1e-9)
        at_once = erlang_a(RATE, HANDLE_S, agents, patience, within_s=0)
        assert at_once.answered_within == pytest.approx(1 - a.wait_probability, abs=1e-12)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="the target is a share"):
        erlang_c_agents(RATE, HANDLE_S, 1.0, 30)
    with pytest.raises(ValueError, match="must be above 0"):
        erlang_c_service_level(0.0, HANDLE_S, 3, 30)
    with pytest.raises(ValueError, match="must be above 0"):
        erlang_a(RATE, HANDLE_S, 10, patience_s=0, within_s=30)


def test_erlang_a_abandons_by_a_time_grow_to_all_its_abandons() -> None:
    by = [erlang_a(RATE, HANDLE_S, 8, patience_s=60, within_s=t).abandoned_within
          for t in (0, 5, 15, 60, 600, 20_000)]
    assert by[0] == 0.0 and by == sorted(by)
    assert by[-1] == pytest.approx(erlang_a(RATE, HANDLE_S, 8, 60, 30).abandoned, rel=1e-6)
    # in the first seconds a waiting caller hangs up at rate θ: θ·T·P(wait) to first order
    waited = erlang_a(RATE, HANDLE_S, 8, 60, 30).wait_probability
    assert by[1] == pytest.approx(waited * 5 / 60, rel=0.1)
