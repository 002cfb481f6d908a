"""Calls arriving per queue, as a rate the routing can read in O(1).

Each queue keeps an exponentially weighted count of the calls entering it (new
arrivals and transfers in): every arrival adds ``1/τ`` and the sum decays by
``exp(−Δt/τ)``; read at time t it is the arrival rate of about the last τ seconds
(``[routing] demand_window_s``). No history is stored; a restarted router starts from
0 and the fixed skill expansion bounds every wait meanwhile.
"""

from __future__ import annotations

import math


class ArrivalRates:
    """Calls per second entering each queue, recently."""

    __slots__ = ("_rates", "window_s")

    def __init__(self, window_s: float) -> None:
        if window_s <= 0:
            raise ValueError("the window is a positive number of seconds")
        self.window_s = window_s
        #: queue → (rate at ``at``, at)
        self._rates: dict[str, tuple[float, float]] = {}

    def arrived(self, queue: str, now: float) -> None:
        """A call entered ``queue`` at ``now``."""
        self._rates[queue] = (self.rate(queue, now) + 1.0 / self.window_s, now)

    def rate(self, queue: str, now: float) -> float:
        """Calls per second entering ``queue`` around ``now``."""
        kept = self._rates.get(queue)
        if kept is None:
            return 0.0
        rate, at = kept
        return rate * math.exp(-max(0.0, now - at) / self.window_s)
