"""The ``room`` events of the stream: the console's view (:mod:`acd.http.room`) sent
to the clients that asked for it, coalesced so that any number of consoles costs the
router the same.

Theory of operation: a fact only marks the room as changed (:meth:`RoomFeed.changed`:
one timer armed if none is, on the hot path nothing else). When the timer fires, the
view is built **once** per kind of reader — masked numbers, full numbers (only if a
client may see them), and each agent token's own view — encoded once, and the same
bytes are queued for every console (:meth:`acd.http.cti.EventStream.publish_room`).
So the view is built at most every ``MIN_INTERVAL_S`` (0.25 s) while the room changes,
within that time of the change (the first change after a quiet spell goes out at
once), whether one console is open or fifty. It is handed to ``BATCH`` consoles per
turn of the event loop, so that the writes to fifty sockets never hold the loop in one
piece: an AMI event arriving meanwhile waits for a few writes at most.
``KEEPALIVE_S`` after the last one, a view is sent anyway: the clock, the health of
the link to Asterisk and the period stay fresh, and a console that hears nothing for a
few seconds knows its data is stale.
Nothing runs while no console is connected but the keep-alive timer's check.
"""

from __future__ import annotations

import asyncio
import math

import msgspec

from acd.aiotasks import running_loop
from acd.core import facts as f
from acd.http.cti import EventStream, StreamEvent, Subscriber
from acd.http.room import RoomView
from acd.logs import get_logger

log = get_logger("acd.cti")

#: the room is sent at most this often (seconds) while it changes
MIN_INTERVAL_S = 0.25
#: and at least this often while a console listens
KEEPALIVE_S = 1.0
#: consoles handed a view per turn of the event loop
BATCH = 8
_ENCODER = msgspec.json.Encoder()


class RoomFeed:
    """Room views to the stream's ``room`` subscribers; :meth:`start` on the loop."""

    def __init__(self, view: RoomView, stream: EventStream, *,
                 min_interval_s: float = MIN_INTERVAL_S,
                 keepalive_s: float = KEEPALIVE_S) -> None:
        self.view = view
        self.stream = stream
        self.min_interval_s = min_interval_s
        self.keepalive_s = keepalive_s
        #: views sent (each to every console listening)
        self.sent = 0
        self._due: asyncio.TimerHandle | None = None
        self._keepalive: asyncio.TimerHandle | None = None
        self._last = -math.inf
        stream.on_room_subscriber = self.changed

    def attach(self) -> None:
        """Follow the router's facts (the view's listeners, then this one)."""
        self.view.attach()
        self.view.router.add_fact_listener(self.on_fact)

    def start(self) -> None:
        """Begin the keep-alive (on the running loop)."""
        self._keepalive = asyncio.get_running_loop().call_later(self.keepalive_s,
                                                                self._tick)

    def close(self) -> None:
        for handle in (self._due, self._keepalive):
            if handle is not None:
                handle.cancel()
        self._due = self._keepalive = None

    def on_fact(self, _fact: f.Fact) -> None:
        if self.stream.room_count:
            self.changed()

    def changed(self) -> None:
        """The room changed (or a console joined): a view is due."""
        if self._due is not None:
            return
        loop = running_loop()
        if loop is None:  # a router driven without a loop has no console either
            return
        delay = max(0.0, self._last + self.min_interval_s - loop.time())
        self._due = loop.call_later(delay, self.flush)

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        self._keepalive = loop.call_later(self.keepalive_s, self._tick)
        if self.stream.room_count and loop.time() - self._last >= self.keepalive_s * 0.9:
            self.changed()

    def flush(self) -> None:
        """Build and queue the views now."""
        self._due = None
        subscribers = self.stream.room_subscribers()
        if not subscribers:
            return
        self._last = asyncio.get_running_loop().time()
        try:
            self._publish(subscribers)
        except Exception:  # a bug here must not stop the router's loop
            log.exception("room_view_failed")

    def _publish(self, subscribers: list[Subscriber]) -> None:
        view = self.view
        common = view.common()
        readers = [s for s in subscribers if s.agent is None]
        deliveries: list[tuple[StreamEvent, Subscriber]] = []
        if readers:
            masked = _ENCODER.encode(view.room(common, sees_numbers=False))
            full = (_ENCODER.encode(view.room(common, sees_numbers=True))
                    if any(s.sees_numbers for s in readers) else masked)
            event, targets = self.stream.room_event(full, masked)
            deliveries += [(event, target) for target in targets]
        agents = {s.agent for s in subscribers if s.agent is not None}
        for agent in sorted(agents):
            own = _ENCODER.encode(view.agent_room(common, agent))
            event, targets = self.stream.room_event(own, own, frozenset((agent,)))
            deliveries += [(event, target) for target in targets]
        self._deliver(deliveries)
        self.sent += 1

    def _deliver(self, deliveries: list[tuple[StreamEvent, Subscriber]]) -> None:
        """``BATCH`` of them now, the rest at the next turns of the loop."""
        for event, subscriber in deliveries[:BATCH]:
            subscriber.offer(event)
        if len(deliveries) > BATCH:
            asyncio.get_running_loop().call_soon(self._deliver, deliveries[BATCH:])
