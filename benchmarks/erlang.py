"""The simulated day against Erlang C and Erlang A, on long runs: the figures of
``docs/plan-erlang.md``.

    .venv/bin/python -m benchmarks.erlang              # every operating point, 40 seeds
    .venv/bin/python -m benchmarks.erlang --seeds 10   # quicker, wider errors

Each operating point is one queue (``tests/support/onequeue.py``) played ``--seeds``
times for ``--hours`` hours; the figures are batch means over two-hour batches after
a 20-minute warm-up, given with their standard error and the distance to Erlang's
value in standard errors (z). Then, for flat hours of traffic, the smallest staffing
whose simulated QS 30 s meets the target, next to :func:`erlang_c_agents`'s. The last
line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from typing import Any

from acd.tools.plan.erlang import (
    erlang_a,
    erlang_c_agents,
    erlang_c_mean_wait,
    erlang_c_service_level,
    erlang_c_wait_probability,
)
from tests.support.onequeue import Estimate, measure, one_queue_day

QS_S = 30.0


@dataclass(frozen=True)
class Point:
    agents: int
    calls_per_hour: float
    talk_mean_s: float
    patience_mean_s: float | None = None


POINTS = (Point(3, 120, 60), Point(10, 480, 60), Point(10, 120, 240),
          Point(3, 120, 60, 60), Point(8, 480, 60, 90), Point(10, 120, 240, 180))
#: flat hours (calls an hour, mean talk) and the QS 30 s target for the staffing check
STAFFING = ((480, 60, 0.8), (240, 120, 0.9))


def _row(name: str, sim: Estimate, expected: float) -> dict[str, float]:
    z = (sim.value - expected) / sim.se if sim.se > 0 else 0.0
    print(f"    {name:<10} simulated {sim.value:8.4f} ± {sim.se:.4f}   Erlang {expected:8.4f}"
          f"   z = {z:+.2f}")
    return {"simulated": sim.value, "se": sim.se, "erlang": expected, "z": z}


def point(p: Point, seeds: int, hours: float) -> dict[str, Any]:
    rate = p.calls_per_hour / 3600.0
    started = time.perf_counter()
    m = measure(*one_queue_day(p.agents, p.calls_per_hour, p.talk_mean_s, hours,
                               p.patience_mean_s), range(1, seeds + 1))
    took = time.perf_counter() - started
    kind = "C" if p.patience_mean_s is None else f"A, patience {p.patience_mean_s:g} s"
    print(f"{p.agents} agents, {p.calls_per_hour:g} calls/h, talk {p.talk_mean_s:g} s "
          f"(Erlang {kind}): {m.calls} calls, {m.qs30.batches} batches, {took:.1f} s")
    out: dict[str, Any] = {"point": p.__dict__, "calls": m.calls, "seconds": took}
    if p.patience_mean_s is None:
        out["qs30"] = _row("QS 30 s", m.qs30,
                           erlang_c_service_level(rate, p.talk_mean_s, p.agents, QS_S))
        out["waited"] = _row("waited", m.waited,
                             erlang_c_wait_probability(rate, p.talk_mean_s, p.agents))
        out["mean_wait"] = _row("mean wait", m.mean_wait,
                                erlang_c_mean_wait(rate, p.talk_mean_s, p.agents))
    else:
        a = erlang_a(rate, p.talk_mean_s, p.agents, p.patience_mean_s, QS_S)
        out["qs30"] = _row("QS 30 s", m.qs30, a.service_level)
        out["waited"] = _row("waited", m.waited, a.wait_probability)
        out["abandoned"] = _row("abandoned", m.abandoned, a.abandoned)
    return out


def staffing(calls_per_hour: float, talk_mean_s: float, target: float, seeds: int,
             hours: float) -> dict[str, Any]:
    """Simulated QS 30 s at Erlang C's staffing and one agent fewer."""
    n = erlang_c_agents(calls_per_hour / 3600.0, talk_mean_s, target, QS_S)
    out: dict[str, Any] = {"calls_per_hour": calls_per_hour, "talk_mean_s": talk_mean_s,
                           "target": target, "erlang_c_agents": n}
    for agents in (n - 1, n):
        m = measure(*one_queue_day(agents, calls_per_hour, talk_mean_s, hours, None),
                    range(1, seeds + 1))
        out[str(agents)] = {"qs30": m.qs30.value, "se": m.qs30.se}
        print(f"  {calls_per_hour:g} calls/h, talk {talk_mean_s:g} s, target {target:.0%}: "
              f"{agents} agents → simulated QS 30 s {m.qs30.value:.4f} ± {m.qs30.se:.4f}"
              f"{'  (Erlang C staffing)' if agents == n else ''}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--hours", type=float, default=10.0)
    args = parser.parse_args()
    results = [point(p, args.seeds, args.hours) for p in POINTS]
    print("Staffing of a flat hour:")
    plans = [staffing(c, h, t, args.seeds, args.hours) for c, h, t in STAFFING]
    print(json.dumps({"points": results, "staffing": plans}))


if __name__ == "__main__":
    main()
