"""The simulated day against queueing theory: one queue with Poisson arrivals,
exponential talk times, agents who answer at once and have no wrap-up
(``tests/support/onequeue.py``), played by the production engine and the simulated
PBX (``acd.tools.fastday``), agrees with Erlang C when nobody hangs up and with
Erlang A when callers hang up after an exponential patience.

Tolerance. Waits of successive calls are correlated (a busy spell makes several
callers wait), so calls are not independent trials and a binomial error would be
too small. Each figure is taken per two-hour batch of one seed's day, after a
20-minute warm-up (the day starts with an empty room; Erlang speaks of the steady
state), and its standard error (SE) is that of the mean of the batches: 5 seeds ×
10 h give 25 batches, about 6,000 calls, in a few seconds. A figure agrees when it
lies within K = 4 SE of Erlang's: with 24 degrees of freedom a true agreement falls
outside with probability about 5·10⁻⁴ per figure (Student's t), so a failure means
a real difference, not bad luck; the SE is estimated, not known, hence 4 rather
than 3. Each test also shows the check can fail: a different model (talk 20 %
longer, or no abandonment) lies outside the same bound. Long runs with tighter
errors are in ``python -m benchmarks.erlang`` and ``docs/plan-erlang.md``.

Like with like: the QS 30 s counts answered calls that waited strictly under 30 s
among answered calls, abandons left out (``docs/indicators.md``), and Erlang A's
service level here is taken the same way (:attr:`ErlangA.service_level`); the share
of calls that wait at all counts abandoned callers, who all waited.
"""

from __future__ import annotations

import functools

from acd.tools.plan.erlang import (
    erlang_a,
    erlang_c_agents,
    erlang_c_mean_wait,
    erlang_c_service_level,
    erlang_c_wait_probability,
)
from acd.tools.plan.model import parse_targets
from acd.tools.plan.planner import Planner
from tests.support.onequeue import Measured, measure, one_queue_day

SEEDS = range(1, 6)
HOURS = 10.0
K = 4.0
WITHIN_S = 30.0
#: 3 agents, 120 calls an hour, 60 s of talk: 2 Erlangs, 67 % occupancy
AGENTS, CALLS_PER_HOUR, TALK_S = 3, 120.0, 60.0
RATE = CALLS_PER_HOUR / 3600
PATIENCE_S = 60.0


@functools.cache
def measured(agents: int, patience_s: float | None) -> Measured:
    """The queue's figures with ``agents`` agents (played once per test session)."""
    return measure(*one_queue_day(agents, CALLS_PER_HOUR, TALK_S, HOURS, patience_s), SEEDS)


def test_without_abandonment_the_day_agrees_with_erlang_c() -> None:
    m = measured(AGENTS, None)
    assert m.calls > 5000 and m.qs30.batches == 25
    assert m.abandoned.value == 0.0
    qs30 = erlang_c_service_level(RATE, TALK_S, AGENTS, WITHIN_S)
    assert m.qs30.agrees(qs30, K), (m.qs30, qs30)
    waited = erlang_c_wait_probability(RATE, TALK_S, AGENTS)
    assert m.waited.agrees(waited, K), (m.waited, waited)
    mean_wait = erlang_c_mean_wait(RATE, TALK_S, AGENTS)
    assert m.mean_wait.agrees(mean_wait, K), (m.mean_wait, mean_wait)
    # the bound tells a different queue apart: talk times 20 % longer
    assert not m.qs30.agrees(erlang_c_service_level(RATE, 1.2 * TALK_S, AGENTS, WITHIN_S), K)
    assert not m.waited.agrees(erlang_c_wait_probability(RATE, 1.2 * TALK_S, AGENTS), K)


def test_with_exponential_patience_the_day_lies_where_erlang_a_says() -> None:
    m = measured(AGENTS, PATIENCE_S)
    assert m.calls > 5000
    a = erlang_a(RATE, TALK_S, AGENTS, PATIENCE_S, WITHIN_S)
    assert m.abandoned.agrees(a.abandoned, K), (m.abandoned, a)
    assert m.qs30.agrees(a.service_level, K), (m.qs30, a)
    assert m.waited.agrees(a.wait_probability, K), (m.waited, a)
    # the bound tells apart Erlang C (nobody hangs up) and a patience twice as long
    assert not m.qs30.agrees(erlang_c_service_level(RATE, TALK_S, AGENTS, WITHIN_S), K)
    longer = erlang_a(RATE, TALK_S, AGENTS, 2 * PATIENCE_S, WITHIN_S)
    assert not m.abandoned.agrees(longer.abandoned, K), (m.abandoned, longer)


def test_the_smallest_staffing_of_a_flat_hour_is_erlang_cs() -> None:
    """What ``acd plan`` does for one interval: the fewest agents whose simulated
    QS 30 s meets the target. For a flat hour of this queue it is Erlang C's."""
    target = 0.82  # between 3 agents' Erlang C figure (0.730) and 4 agents' (0.936)
    agents = erlang_c_agents(RATE, TALK_S, target, WITHIN_S)
    assert agents - 1 > RATE * TALK_S  # one fewer still has a steady state
    enough, one_fewer = measured(agents, None).qs30, measured(agents - 1, None).qs30
    assert enough.value >= target > one_fewer.value, (enough, one_fewer)
    # decided beyond sampling error: both lie more than K standard errors from the target
    assert not enough.agrees(target, K) and not one_fewer.agrees(target, K)


def test_the_plan_of_flat_hours_is_erlang_cs_staffing() -> None:
    """``acd plan``'s search on three flat hours of this queue (targets judged on the
    calls of five seeds pooled, as Erlang C's figure is an expectation) staffs each
    hour as Erlang C does."""
    target = 0.82
    config, scenario = one_queue_day(8, CALLS_PER_HOUR, TALK_S, 3, None)
    plan = Planner(config, scenario, parse_targets(f"qs30>={target}"), interval_s=3600,
                   seeds=range(1, 6), meet="pooled").plan()
    expected = erlang_c_agents(RATE, TALK_S, target, WITHIN_S)
    assert [i.staff["ARM_N1"] for i in plan.intervals] == [expected] * 3
    assert all(i.met for i in plan.intervals)
