"""The engine's timers: a heap of (due, seq, kind, key, token) run up to ``now``.

A timer names what it is about (``key``: a call id, or an agent id for ``WRAP`` and
``BUSY``) and carries a ``token`` (the call's ``offer_id``, or the agent's wrap-up or
busy hold end in ms): a timer whose token no longer matches is stale and does
nothing. Stale, it stays stale: a call's ``offer_id`` only grows, and each wrap-up or
busy hold ends at a time of its own. So :meth:`Timers.next_deadline` drops the stale
timers at the head of the heap rather than have the adapter wake the engine for
them (most ring, overflow and expansion timers are stale by their time: the call
was answered first). The engine holds the table kind → handler
(:mod:`acd.core.engine`).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from acd.core.model import AgentState
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
        """When the next timer that still applies is due; the stale ones before it
        are dropped."""
        timers = self._state.timers
        while timers and not self.applies(*timers[0][2:]):
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    def any_due(self) -> bool:
        """Whether a timer is due by the engine's time (most inputs come between two)."""
        timers = self._state.timers
        return bool(timers) and timers[0][0] <= self._state.now

    def due(self) -> Iterator[tuple[TimerKind, str]]:
        """Pop the timers due by the engine's time, one at a time, and yield those that
        still apply (a handler may arm new ones, due now too, or make later ones stale)."""
        timers = self._state.timers
        while self.any_due():
            _, _, kind, key, token = heapq.heappop(timers)
            if self.applies(kind, key, token):
                yield kind, key

    def applies(self, kind: TimerKind, key: str, token: int) -> bool:
        """Whether the timer is still about the present: the call's offer, the agent's
        wrap-up (the agent still in it) or busy hold."""
        state = self._state
        if kind is TimerKind.WRAP:
            agent = state.agents.get(key)
            return agent is not None and agent.state is AgentState.WRAP_UP \
                and int(agent.wrap_up_until * 1000) == token
        if kind is TimerKind.BUSY:
            agent = state.agents.get(key)
            return agent is not None and int(agent.busy_until * 1000) == token
        call = state.calls.get(key)
        return call is not None and call.offer_id == token
