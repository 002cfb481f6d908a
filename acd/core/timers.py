"""The engine's timers: a heap of (due, seq, kind, key, token) run up to ``now``.

A timer names what it is about (``key``: a call id, or an agent id for ``WRAP`` and
``BUSY``) and carries a ``token`` (the call's ``offer_id``, or the agent's wrap-up or
busy hold end in ms): a timer
whose token no longer matches is stale and does nothing. The engine holds the table
kind → handler (:mod:`acd.core.engine`).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from acd.core.room import RoomState
from acd.core.timerkind import TimerKind


class Timers:
    def __init__(self, state: RoomState) -> None:
        self._state = state

    def arm(self, when: float, kind: TimerKind, key: str, token: int) -> None:
        state = self._state
        state.seq += 1
        heapq.heappush(state.timers, (when, state.seq, kind, key, token))

    def next_deadline(self) -> float | None:
        timers = self._state.timers
        return timers[0][0] if timers else None

    def due(self) -> Iterator[tuple[TimerKind, str, int]]:
        """Pop the timers due by the engine's time, one at a time (a handler may arm
        new ones, due now too)."""
        state = self._state
        while state.timers and state.timers[0][0] <= state.now:
            _, _, kind, key, token = heapq.heappop(state.timers)
            yield kind, key, token
