"""Callers for a standalone ``acd sim`` (``--calls-per-hour``): a lab or a demo board
needs calls to move without a scenario driving the simulator.

Arrivals are a Poisson process in simulated time, each to a number of the site's plan
chosen at random, from a made-up mobile number; the agents answer as the simulator's
default behaviour says. Seeded: the same seed gives the same callers.
"""

from __future__ import annotations

import random

from acd.sim.pbx import Pbx


async def place_calls(pbx: Pbx, numbers: list[str], calls_per_hour: float,
                      rng: random.Random) -> None:
    """Place calls until cancelled."""
    if calls_per_hour <= 0 or not numbers:
        return
    rate = calls_per_hour / 3600.0
    while True:
        await pbx.clock.sleep(rng.expovariate(rate))
        caller = f"06{rng.randrange(10**8):08d}"
        pbx.place_call(rng.choice(numbers), "Lab caller", caller)
