"""Erlang C staffing (placeholder until the library-backed module lands)."""

from __future__ import annotations

import math


def erlang_c_service_level(rate_per_s: float, handle_s: float, agents: int,
                           within_s: float) -> float:
    load = rate_per_s * handle_s
    if agents <= load:
        return 0.0
    term, total = 1.0, 1.0
    for n in range(1, agents):
        term *= load / n
        total += term
    last = term * load / agents * agents / (agents - load)
    wait_p = last / (total + last)
    return 1.0 - wait_p * math.exp(-(agents - load) * within_s / handle_s)


def erlang_c_agents(rate_per_s: float, handle_s: float, target: float,
                    within_s: float) -> int:
    agents = max(1, math.floor(rate_per_s * handle_s) + 1)
    while erlang_c_service_level(rate_per_s, handle_s, agents, within_s) < target:
        agents += 1
    return agents
