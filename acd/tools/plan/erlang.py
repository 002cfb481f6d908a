"""Erlang B, Erlang C and Erlang A: the queueing formulas the planner starts from, the
simulated day is checked against, and the trunk lines are sized with.

Erlang B (M/M/n/n: n lines, a call finding them all busy is lost) is the Poisson law
truncated at n: ``B(n, a) = P(X = n) / P(X ≤ n)`` for X Poisson of mean a, taken from
scipy's :data:`scipy.stats.poisson` in logarithms (no factorial overflows, thousands of
lines fine). Erlang C (M/M/n: nobody hangs up) follows from it, as in every teletraffic
text: ``C = B / (1 − ρ(1 − B))`` with ρ = a/n, and the share answered within T is
``1 − C·exp(−(n − a)·T/h)``. The tests check both against their definitions (the sums
of the Poisson terms), against published Erlang tables, and Erlang C against the
Erlang A chain below as patience grows. (Erlang C came from ``pyworkforce`` before:
for these two formulas it brought ortools and pandas, 128 MB of the virtualenv, and
locked the ``plan`` extra to the Pythons ortools builds for.)

Erlang A (M/M/n+M: the same, callers hanging up after an exponential patience) is in
no maintained Python library we could find (``erlangccmath`` sends its inputs to a
web service). It is computed here from its definition, not from a closed formula: the
number of calls in the system is a birth–death chain (arrivals λ; departures
``min(j, n)·μ + max(j − n, 0)·θ``) whose stationary law is summed until its tail is
negligible; an arriving caller sees that law (Poisson arrivals see time averages); a
caller with k callers ahead moves up at rate ``n·μ + k·θ``, reaches an agent after
k + 1 moves, and hangs up at rate θ meanwhile: the share answered within T is that
absorbing chain's law at T, from scipy's ``expm_multiply``. The tests check it
against Erlang C as patience grows, and that the answered share comes out the same
from the stationary law (``1 − θ·E[queue]/λ``) and from the tagged caller's chain.

Service levels follow the project's QS: among *answered* calls, the share whose wait
was under ``within_s`` (abandons left out; see ``docs/indicators.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.linalg import expm_multiply
from scipy.special import logsumexp
from scipy.stats import poisson

#: a chain's tail is cut where a state's probability falls below this share of the sum
_LOG_TAIL = math.log(1e-14)
#: at most this many callers waiting in the truncated chain
_MAX_QUEUE = 100_000


def _check_traffic(rate_per_s: float, handle_s: float) -> None:
    if rate_per_s <= 0 or handle_s <= 0:
        raise ValueError("the arrival rate and the handling time must be above 0")


def offered_load(rate_per_s: float, handle_s: float) -> float:
    """Erlangs: the mean number of busy agents (or lines) the traffic needs."""
    return rate_per_s * handle_s


def erlang_b(load: float, lines: int) -> float:
    """Erlang B: the share of calls finding all ``lines`` busy under ``load`` Erlangs."""
    if load < 0 or lines < 0:
        raise ValueError("the load and the lines cannot be negative")
    if load == 0:
        return 0.0
    return float(math.exp(poisson.logpmf(lines, load) - poisson.logcdf(lines, load)))


def erlang_b_lines(load: float, blocking: float) -> int:
    """The fewest lines whose Erlang B blocking under ``load`` is at most ``blocking``."""
    if not 0.0 < blocking < 1.0:
        raise ValueError("the blocking probability is a share in (0, 1)")
    lines = 0
    while erlang_b(load, lines) > blocking:
        lines += 1
    return lines


def erlang_c_wait_probability(rate_per_s: float, handle_s: float, agents: int) -> float:
    """Erlang C's probability that a call waits at all (1 when agents ≤ load)."""
    _check_traffic(rate_per_s, handle_s)
    load = offered_load(rate_per_s, handle_s)
    if agents <= load:
        return 1.0
    blocked = erlang_b(load, agents)
    return blocked / (1.0 - (load / agents) * (1.0 - blocked))


def erlang_c_mean_wait(rate_per_s: float, handle_s: float, agents: int) -> float:
    """Erlang C's mean wait of a call, seconds: ``C·h/(n − a)`` (infinite when n ≤ a)."""
    load = offered_load(rate_per_s, handle_s)
    if agents <= load:
        return math.inf
    return erlang_c_wait_probability(rate_per_s, handle_s, agents) * handle_s / (agents - load)


def erlang_c_service_level(rate_per_s: float, handle_s: float, agents: int,
                           within_s: float) -> float:
    """Erlang C's share of calls answered within ``within_s`` (0 when agents ≤ load:
    the queue grows without end)."""
    _check_traffic(rate_per_s, handle_s)
    load = offered_load(rate_per_s, handle_s)
    if agents <= load:
        return 0.0
    waited = erlang_c_wait_probability(rate_per_s, handle_s, agents)
    return 1.0 - waited * math.exp(-(agents - load) * max(within_s, 0.0) / handle_s)


def erlang_c_agents(rate_per_s: float, handle_s: float, target: float,
                    within_s: float) -> int:
    """The smallest number of agents, above the load, whose Erlang C service level
    within ``within_s`` meets ``target`` (a share below 1)."""
    if not 0.0 <= target < 1.0:
        raise ValueError("the target is a share in [0, 1)")
    agents = math.floor(offered_load(rate_per_s, handle_s)) + 1
    while erlang_c_service_level(rate_per_s, handle_s, agents, within_s) < target:
        agents += 1
    return agents


@dataclass(frozen=True)
class ErlangA:
    """Erlang A's figures for one operating point (shares of offered calls unless said)."""

    #: a caller finds every agent busy
    wait_probability: float
    #: a caller hangs up before an agent answers
    abandoned: float
    #: a caller is answered within ``within_s``
    answered_within: float
    #: a caller hangs up before ``within_s`` (with ``within_s`` the short-abandon
    #: threshold: the callers the DGOS answer rate leaves out)
    abandoned_within: float = 0.0

    @property
    def answered(self) -> float:
        return 1.0 - self.abandoned

    @property
    def service_level(self) -> float:
        """Among answered calls, the share answered within ``within_s`` (the QS)."""
        return self.answered_within / self.answered if self.answered > 0 else 0.0


def erlang_a(rate_per_s: float, handle_s: float, agents: int, patience_s: float,
             within_s: float) -> ErlangA:
    """Erlang A (M/M/n+M) with mean talk ``handle_s`` and mean patience ``patience_s``."""
    if rate_per_s <= 0 or handle_s <= 0 or patience_s <= 0 or agents < 1:
        raise ValueError("rate, handling time, patience and agents must be above 0")
    lam, mu, theta = rate_per_s, 1.0 / handle_s, 1.0 / patience_s
    busy = _stationary(lam, mu, theta, agents)
    below, queue = busy[:agents].sum(), busy[agents:]
    waiting = np.arange(queue.size, dtype=float)
    abandoned = float(theta * (waiting * queue).sum() / lam)
    # the tagged caller's chain, states K, K − 1, …, 0 callers ahead, then "answered";
    # d p/dt = G p with G[i + 1, i] the rate of moving up from state i
    moves = (agents * mu + theta * waiting)[::-1]
    leave = moves + theta
    size = queue.size + 1
    states = np.arange(size)
    generator = csr_array(
        (np.concatenate([-leave, moves]),
         (np.concatenate([states[:-1], states[1:]]), np.concatenate([states[:-1]] * 2))),
        shape=(size, size))
    start = np.append(queue[::-1], 0.0)
    # the law at within_s: the last state is "answered"; what left the chain hung up
    at = expm_multiply(generator * within_s, start) if within_s > 0 else start
    return ErlangA(wait_probability=float(queue.sum()), abandoned=abandoned,
                   answered_within=float(below) + float(at[-1]),
                   abandoned_within=max(0.0, float(start.sum() - at.sum())))


def _stationary(lam: float, mu: float, theta: float, agents: int) -> np.ndarray:
    """The number in system's stationary law, cut where its tail is negligible
    (summed in logarithms: beyond the load, the law first grows for a long way)."""
    load = lam / mu
    logs = list(poisson.logpmf(np.arange(agents + 1), load))  # ∝ a^j/j! up to n busy
    total = float(logsumexp(logs))
    for k in range(1, _MAX_QUEUE):
        logs.append(logs[-1] + math.log(lam / (agents * mu + k * theta)))
        total = float(np.logaddexp(total, logs[-1]))
        if logs[-1] < _LOG_TAIL + total and k * theta > lam - agents * mu:
            break
    law = np.exp(np.array(logs) - total)
    out: np.ndarray = law / law.sum()
    return out
