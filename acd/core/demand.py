"""Calls arriving per queue, as a rate the routing can read in O(1).

Each queue keeps an exponentially weighted count of the calls entering it (new
arrivals and transfers in): every arrival adds ``1/τ`` and the sum decays by
``exp(−Δt/τ)``; read at time t it is the arrival rate of about the last τ seconds
(``[routing] demand_window_s``). No history is stored: a router that has counted for
less than τ (just started, or restarted) divides by the weight it has had time to
gather, ``1 − exp(−elapsed/τ)``, as an exponentially weighted average corrects its
start-up bias; otherwise the first minutes of a shift would read as no traffic at all
and lend every backup.
"""

from __future__ import annotations

import math


class ArrivalRates:
    """Calls per second entering each queue, recently."""

    __slots__ = ("_rates", "_since", "window_s")

    def __init__(self, window_s: float) -> None:
        if window_s <= 0:
            raise ValueError("the window is a positive number of seconds")
        self.window_s = window_s
        #: queue → (uncorrected rate at ``at``, at)
        self._rates: dict[str, tuple[float, float]] = {}
        #: when counting began (the first call seen, in any queue)
        self._since: float | None = None

    def arrived(self, queue: str, now: float) -> None:
        """A call entered ``queue`` at ``now``."""
        if self._since is None:
            self._since = now
        self._rates[queue] = (self._decayed(queue, now) + 1.0 / self.window_s, now)

    def rate(self, queue: str, now: float) -> float:
        """Calls per second entering ``queue`` around ``now``."""
        raw = self._decayed(queue, now)
        if raw == 0.0 or self._since is None:
            return raw
        # at least one second of weight: a first call alone reads as one a second
        weight = 1.0 - math.exp(-max(1.0, now - self._since) / self.window_s)
        return raw / weight

    def _decayed(self, queue: str, now: float) -> float:
        kept = self._rates.get(queue)
        if kept is None:
            return 0.0
        rate, at = kept
        return rate * math.exp(-max(0.0, now - at) / self.window_s)
