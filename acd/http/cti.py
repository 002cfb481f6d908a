"""The live event stream (CTI) for agent desktops and the regulation software.

Server-Sent Events at ``GET /api/v1/events`` (see :mod:`acd.http`). Each engine fact
worth showing becomes one event::

    id: 42
    event: call_offered
    data: {"at": 1767225600.0, "call": "1767225600.17", "queue": "ARM_N1", ...}

Events and their ``data`` fields (times are epoch seconds, engine time):

* ``call_offered``: at, call, queue, number (dialled), priority, agent, wait_s, caller
* ``call_answered``: at, call, queue, number, priority, agent, wait_s, first, caller
* ``call_transferred``: at, call, from_queue, to_queue, queue (= to_queue), number,
  agent (the transferring agent, or null), result, reason, caller
* ``call_ended``: at, call, queue, number, agent (first pick-up, or null), outcome,
  wait_s (arrival → first pick-up, or null), duration_s, caller
* ``agent_state``: at, agent, old, new, reason
* ``agent_skills``: at, agent, old, new (skill → level), by, reason — re-skilling
* ``bascule``: at, queue ("*": the whole site), share, partner, by, reason
* ``room``: the whole room as the supervisor's console shows it (:mod:`acd.http.room`),
  to a client that asked for it (``GET /api/v1/events?room=1``), **instead of** the
  events above: while the room changes, at most every
  :data:`acd.http.roomfeed.MIN_INTERVAL_S`, and at least every
  :data:`acd.http.roomfeed.KEEPALIVE_S` (:mod:`acd.http.roomfeed`)
* ``lagged``: dropped — this client fell behind and lost that many older events
* ``closing``: reason — the server is stopping; reconnect later

``caller`` is the caller's number in full for a token allowed to see it
(:attr:`acd.http.tokens.Principal.sees_numbers`), else masked (``06******78``), or null
when unknown. An ``agent`` token only receives events about its own agent: calls
offered to or answered by it, its transfers, the end of those calls, its state. A
comment line (``: heartbeat``) is sent after ``api.heartbeat_s`` of silence.

The stream never slows the router: :meth:`EventStream.on_fact` is a fact listener
that only encodes the event and puts it, without waiting, into each client's bounded
queue. A client whose queue is full loses its oldest event and is sent a ``lagged``
event with the count before the next one it does get.

Each event is made from its fact alone (number, priority, wait and the masked caller
travel in the fact), with two exceptions no fact can carry: the caller's number in
full, which is health data and never put in a fact (facts are journaled), is read
from the live call (the engine's read-only view); and who hears of a call's end is who was
told of its offers and answers. The stream keeps both for the calls it spoke of until
their ``CallEnded`` (every call leaves the engine with one), nothing more.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from acd.core import facts as f
from acd.logs import get_logger

if TYPE_CHECKING:
    from acd.core.ports import StreamHost

log = get_logger("acd.cti")

_ENCODER = msgspec.json.Encoder()


@dataclass(slots=True)
class _Told:
    """A call the stream spoke of, until its end."""

    #: the caller's number in full (empty: unknown), for the tokens that see numbers
    caller: str = ""
    #: agents the call was offered to or answered by: who hears about its end
    agents: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class _Draft:
    """A fact worth an event, before encoding: its name, fields, agents and caller."""

    name: str
    data: dict[str, Any]
    agents: frozenset[str] = frozenset()
    #: the caller's number in full, and as the fact carries it (masked)
    caller: str = ""
    masked_caller: str = ""


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One event, encoded twice: with the caller's number in full, and masked."""

    id: int
    name: str
    full: bytes
    masked: bytes
    #: agents this event concerns (an agent token receives it if its agent is in it);
    #: empty: not for agent tokens
    agents: frozenset[str]
    #: a ``room`` view: only for the clients that asked for it (with ``agents``, only
    #: for that agent's token; without, only for the other tokens)
    room: bool = False

    def frame(self, sees_numbers: bool) -> bytes:
        data = self.full if sees_numbers else self.masked
        return b"id: %d\nevent: %s\ndata: %s\n\n" % (self.id, self.name.encode(), data)


class Subscriber:
    """One connected client: its queue, its filter, what it has lost."""

    def __init__(self, size: int, *, agent: str | None, sees_numbers: bool,
                 room: bool = False) -> None:
        self.queue: asyncio.Queue[StreamEvent | None] = asyncio.Queue(maxsize=size)
        self.agent = agent
        self.sees_numbers = sees_numbers
        #: sent the ``room`` views instead of the per-fact events
        self.room = room
        #: events dropped since the last ``lagged`` event was sent
        self.dropped = 0
        self.dropped_total = 0

    def wants(self, event: StreamEvent) -> bool:
        if self.room or event.room:  # a console's stream carries the room views only
            return self.room and event.room and (
                self.agent in event.agents if self.agent is not None else not event.agents)
        return self.agent is None or self.agent in event.agents

    def offer(self, item: StreamEvent | None) -> None:
        """Put without waiting; when full, drop the oldest event."""
        while True:
            try:
                self.queue.put_nowait(item)
                return
            except asyncio.QueueFull:
                try:
                    dropped = self.queue.get_nowait()
                except asyncio.QueueEmpty:  # pragma: no cover - single-threaded loop
                    continue
                if dropped is not None:
                    self.dropped += 1
                    self.dropped_total += 1

    async def next_frame(self, heartbeat_s: float) -> bytes | None:
        """The next bytes to write: a ``lagged`` notice first if events were lost, a
        heartbeat after ``heartbeat_s`` of silence; None when the stream is closing."""
        try:
            item = await asyncio.wait_for(self.queue.get(), heartbeat_s)
        except TimeoutError:
            return b": heartbeat\n\n"
        if item is None:
            return None
        frame = item.frame(self.sees_numbers)
        if self.dropped:
            lagged = _ENCODER.encode({"dropped": self.dropped})
            self.dropped = 0
            frame = b"event: lagged\ndata: %s\n\n%s" % (lagged, frame)
        return frame


class EventStream:
    """Fact listener → per-client queues. ``attach`` it to a router once."""

    def __init__(self, router: StreamHost, *, buffer: int = 1000) -> None:
        self.router = router
        self.buffer = buffer
        self.subscribers: set[Subscriber] = set()
        self.closed = False
        self._ids = itertools.count(1)
        self._told: dict[str, _Told] = {}
        #: told when a client subscribes to the ``room`` views (its first one is due)
        self.on_room_subscriber: Callable[[], None] | None = None
        #: clients subscribed to the ``room`` views
        self.room_count = 0
        #: the facts worth an event, each with what describes it (None: not shown)
        self._describers: dict[type[f.Fact], Callable[[Any], _Draft | None]] = {
            f.CallQueued: self._queued, f.CallOffered: self._offered,
            f.CallAnswered: self._answered, f.CallTransferred: self._transferred,
            f.CallEnded: self._ended, f.AgentStateChanged: self._agent_state,
            f.AgentReskilled: self._agent_skills, f.BasculeChanged: self._bascule,
        }

    def attach(self) -> None:
        self.router.add_fact_listener(self.on_fact)

    @property
    def calls_remembered(self) -> int:
        """Calls the stream spoke of and has not seen end (at most the live calls)."""
        return len(self._told)

    def subscribe(self, *, agent: str | None, sees_numbers: bool,
                  room: bool = False) -> Subscriber:
        subscriber = Subscriber(self.buffer, agent=agent, sees_numbers=sees_numbers,
                                room=room)
        self.subscribers.add(subscriber)
        if room:
            self.room_count += 1
            if self.on_room_subscriber is not None:
                self.on_room_subscriber()
        return subscriber

    def room_subscribers(self) -> list[Subscriber]:
        return [s for s in self.subscribers if s.room]

    def room_event(self, full: bytes, masked: bytes,
                   agents: frozenset[str] = frozenset()) -> tuple[StreamEvent, list[Subscriber]]:
        """A ``room`` view (``full`` and ``masked`` as for the other events; ``agents``:
        the one agent token it is for, else every other token) and the clients it is
        for; :meth:`Subscriber.offer` it to them."""
        event = StreamEvent(id=next(self._ids), name="room", full=full, masked=masked,
                            agents=agents, room=True)
        return event, [s for s in self.subscribers if s.wants(event)]

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self.subscribers and subscriber.room:
            self.room_count -= 1
        self.subscribers.discard(subscriber)

    def close(self) -> None:
        """Tell every client the server is stopping; their handlers then return."""
        self.closed = True
        for subscriber in self.subscribers:
            subscriber.offer(None)

    # ------------------------------------------------------------------ facts

    def on_fact(self, fact: f.Fact) -> None:
        """Runs inside :meth:`Router.submit`: never awaits, never raises."""
        try:
            event = self._event(fact)
        except Exception:  # a bug here must not stop the router
            log.exception("cti_event_failed", fact=type(fact).__name__)
            return
        if event is None:
            return
        for subscriber in self.subscribers:
            if subscriber.wants(event):
                subscriber.offer(event)

    def _told_of(self, call_id: str) -> _Told:
        """The call, told of now: its caller's number in full read while it lives."""
        told = self._told.get(call_id)
        if told is None:
            told = self._told[call_id] = _Told()
        if not told.caller:
            call = self.router.engine.calls.get(call_id)
            told.caller = call.caller_num if call is not None else ""
        return told

    def _event(self, fact: f.Fact) -> StreamEvent | None:
        describe = self._describers.get(type(fact))
        draft = describe(fact) if describe is not None else None
        if draft is None:
            return None
        head = {"at": fact.at}
        if draft.name.startswith("call_"):
            full = _ENCODER.encode({**head, **draft.data, "caller": draft.caller or None})
            masked = _ENCODER.encode({**head, **draft.data,
                                      "caller": draft.masked_caller or None})
        else:
            full = masked = _ENCODER.encode({**head, **draft.data})
        return StreamEvent(id=next(self._ids), name=draft.name, full=full, masked=masked,
                           agents=draft.agents)

    def _queued(self, fact: f.CallQueued) -> None:
        self._told_of(fact.call)  # its number in full, while the call is there to read

    def _offered(self, fact: f.CallOffered) -> _Draft:
        told = self._picked(fact.call, fact.agent)
        return _Draft("call_offered", {
            "call": fact.call, "queue": fact.queue, "number": fact.number,
            "priority": fact.priority, "agent": fact.agent,
            "wait_s": round(fact.wait_s, 3)},
            frozenset({fact.agent}), told.caller, fact.caller)

    def _answered(self, fact: f.CallAnswered) -> _Draft:
        told = self._picked(fact.call, fact.agent)
        return _Draft("call_answered", {
            "call": fact.call, "queue": fact.queue, "number": fact.number,
            "priority": fact.priority, "agent": fact.agent, "wait_s": round(fact.wait_s, 3),
            "first": fact.first}, frozenset({fact.agent}), told.caller, fact.caller)

    def _picked(self, call_id: str, agent: str) -> _Told:
        """A call offered to or answered by ``agent``: that agent hears of its end."""
        told = self._told_of(call_id)
        told.agents.add(agent)
        return told

    def _transferred(self, fact: f.CallTransferred) -> _Draft:
        told = self._told_of(fact.call)
        return _Draft("call_transferred", {
            "call": fact.call, "from_queue": fact.from_queue, "to_queue": fact.to_queue,
            "queue": fact.to_queue, "number": fact.number, "agent": fact.agent,
            "result": fact.result, "reason": fact.reason},
            frozenset({fact.agent}) if fact.agent else frozenset(), told.caller, fact.caller)

    def _ended(self, fact: f.CallEnded) -> _Draft:
        # a call the stream never spoke of (restored, then gone) is shown with no caller
        told = self._told.pop(fact.call, None) or _Told()
        record = fact.record
        return _Draft("call_ended", {
            "call": fact.call, "queue": fact.queue, "number": record.number,
            "agent": record.agent, "outcome": fact.outcome, "wait_s": record.wait_s,
            "duration_s": round(fact.duration_s, 3)}, frozenset(told.agents),
            told.caller, fact.caller if told.caller else "")

    @staticmethod
    def _agent_state(fact: f.AgentStateChanged) -> _Draft:
        return _Draft("agent_state", {"agent": fact.agent, "old": fact.old, "new": fact.new,
                                      "reason": fact.reason}, frozenset({fact.agent}))

    @staticmethod
    def _agent_skills(fact: f.AgentReskilled) -> _Draft:
        return _Draft("agent_skills", {"agent": fact.agent, "old": fact.old, "new": fact.new,
                                       "by": fact.by, "reason": fact.reason},
                      frozenset({fact.agent}))

    @staticmethod
    def _bascule(fact: f.BasculeChanged) -> _Draft:
        return _Draft("bascule", {"queue": fact.queue, "share": fact.share,
                                  "partner": fact.partner, "by": fact.by,
                                  "reason": fact.reason})


def closing_frame(reason: str) -> bytes:
    return b"event: closing\ndata: %s\n\n" % _ENCODER.encode({"reason": reason})
