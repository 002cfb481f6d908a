"""The AMI connection: the only module that imports panoramisk.

panoramisk gives us the action side: ``AMIProtocol.send`` registers each action by
ActionID and panoramisk's ``Action`` completes its future on the matching response
(or on the end of an EventList). Its receive path we replace, for three reasons:

* it decodes each read on its own as text, dropping what it cannot decode, so a
  UTF-8 name split across two reads ("Hélène") is mangled;
* it reaches for ``self.factory`` (set by panoramisk's Manager only once the
  connection completes), so bytes that arrive early crash it;
* it parses every event into a case-insensitive dict, which is the bottleneck.

:class:`AmiProtocol` feeds bytes to our sans-IO :class:`~acd.ami.frames.FrameReader`,
hands responses (and list events carrying an ActionID) to panoramisk's action
machinery, and decodes the other events straight to typed Structs for the engine (the
dialplan's UserEvents by their configured names, :mod:`acd.ami.userevents`),
skipping the ones nobody uses without parsing them. It has no factory to be missing.
An event that answers one of our actions without being an item of a list (the
``OriginateResponse`` of an ``Async`` Originate, which carries the action's ActionID
and which panoramisk appends to the action's answer) is an event too: the sink gets
it, in stream order, as it gets the same event of someone else's action.
It handles at most ``FRAMES_PER_TURN`` frames per turn of the event loop, reading
paused meanwhile, so a flood of events never keeps ``/healthz`` or the API waiting;
and one frame whose handling raises is logged, counted and skipped, never the end of
the session. Dropped frames are counted by reason (:mod:`acd.ami.drops`); events
sent before the Login is answered are dropped (Asterisk sends none then).

:class:`AmiConnection` keeps a session up: connect, login (secret never logged),
resynchronise with a ``Status`` list, keep the link alive with Pings, and reconnect
when anything fails. How soon depends on how the last attempt ended:

* the port refused the connection (Asterisk stopped, restarting, its manager off): it
  is tried again every ``reconnect_initial_s``, at most every ``PROBE_MAX_S``, however
  long the outage, so the router is back within a second of Asterisk. A refused
  connection costs Asterisk nothing; only the first of an outage is logged, then one
  line a minute;
* the connection was made, then failed (login refused, dropped at once or soon after):
  exponential backoff with jitter from ``reconnect_initial_s`` up to
  ``reconnect_max_s``. It grows across such sessions and starts again only after a
  session that stayed up at least ``reconnect_max_s`` (a peer that accepts then drops
  is retried ever more slowly, never hammered); refusals in between leave it as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from panoramisk import actions as pk_actions
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message as PkMessage

from acd.ami import actions as act
from acd.ami.drops import DropCounter
from acd.ami.events import AmiEvent, FullyBooted, Shutdown, StatusEntry, UndecodableEvent
from acd.ami.frames import (
    EVENT_PREFIX,
    RESPONSE_PREFIX,
    AmiMessage,
    FrameReader,
    UnsendableValue,
    parse_frame,
    serialize,
)
from acd.ami.replies import as_list, check_response, decode_list_item, describe, epoch_or
from acd.ami.userevents import UserEventDecoder
from acd.backoff import backoff_delay
from acd.config import AmiConfig
from acd.errors import AmiActionFailed, AmiDisconnected, AmiError, AmiLoginFailed
from acd.logs import get_logger, where

log = get_logger("acd.ami")

_ACTION_ID_MARK = b"\r\nActionID: "
#: frames handled per turn of the event loop (about 10 ms of work at most)
FRAMES_PER_TURN = 500
#: while the port refuses connections it is tried at least this often (seconds)
PROBE_MAX_S = 0.5
#: while the port refuses connections, one ``ami_unreachable`` line this often (seconds)
UNREACHABLE_LOG_S = 60.0


class EventSink(Protocol):
    """What the connection tells the router."""

    def on_event(self, event: AmiEvent) -> None: ...
    def on_link_up(self, channels: list[StatusEntry], taken_at: float) -> None:
        """``taken_at``: Asterisk's clock when the list was asked for (epoch seconds)."""
    def on_link_down(self, reason: str) -> None: ...


class _WireAction(pk_actions.Action):  # type: ignore[misc]
    """A panoramisk Action whose wire form is ours (order kept, CR/LF refused)."""

    def __init__(self, action: act.Action, action_id: str) -> None:
        headers = act.action_headers(action, action_id)
        # panoramisk reads some headers (Async) to tell how many responses will come
        super().__init__(dict(reversed(headers)))
        self.typed = action
        self._wire = serialize(headers).decode("utf-8")

    def __str__(self) -> str:
        return self._wire


class AmiProtocol(AMIProtocol):  # type: ignore[misc]
    """panoramisk's protocol with our framer on the receive path (see module doc)."""

    closed: bool

    def __init__(self, on_event: Callable[[AmiEvent], None],
                 on_lost: Callable[[Exception | None], None], *,
                 drops: DropCounter | None = None, login_required: bool = False,
                 on_error: Callable[[str], None] | None = None,
                 decoder: UserEventDecoder | None = None) -> None:
        super().__init__()
        self._on_event = on_event
        self._decoder = decoder or UserEventDecoder()
        self._on_lost = on_lost
        #: our framer: it also keeps the banner, the frames it dropped and the bytes
        #: not framed yet (what a runaway banner may hold)
        self.framer = FrameReader()
        self.last_rx = time.monotonic()
        self.events_received = 0
        self.undecodable = 0
        self.drops = drops or DropCounter()
        #: events are dropped until the connection sets this (its Login was answered)
        self.logged_in = not login_required
        #: told the kind of each input whose handling raised (a metric, a health check)
        self._on_error = on_error
        self._backlog: deque[bytes] = deque()
        self._draining = False
        self._paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.encoding = "utf-8"
        self.queue: deque[str] = deque()

    def data_received(self, data: bytes) -> None:
        self.last_rx = time.monotonic()
        reader = self.framer
        dropped, banners = reader.dropped_frames, reader.banner_overflows
        frames = reader.feed(data)
        if reader.dropped_frames != dropped:
            banner = reader.banner_overflows - banners
            self.drops.drop("banner", banner, "first line too long for a banner")
            self.drops.drop("oversized", reader.dropped_frames - dropped - banner,
                            f"frame over {reader.max_frame_bytes} bytes")
        if not frames:
            return
        if self._backlog or len(frames) > FRAMES_PER_TURN:
            self._backlog.extend(frames)
            if not self._draining:
                self._drain()
            return
        handle = self._handle  # the usual case: one read, a few hundred frames at most
        for frame in frames:
            if self.closed:
                return
            handle(frame)

    def _drain(self) -> None:
        """Handle up to FRAMES_PER_TURN frames; the rest on the next turn of the loop,
        with reading paused until the backlog is empty (bounded memory, fair loop)."""
        self._draining = False
        backlog = self._backlog
        for _ in range(min(len(backlog), FRAMES_PER_TURN)):
            if self.closed:
                backlog.clear()
                return
            self._handle(backlog.popleft())
        if backlog:
            self._draining = True
            if not self._paused:
                self._paused = True
                self.transport.pause_reading()
            asyncio.get_running_loop().call_soon(self._drain)
        elif self._paused:
            self._paused = False
            if not self.closed:
                self.transport.resume_reading()

    def _handle(self, frame: bytes) -> None:
        if frame.startswith(EVENT_PREFIX) and _ACTION_ID_MARK not in frame:
            self.events_received += 1
            try:
                event = self._decoder.decode_frame(frame)
            except UndecodableEvent as exc:
                self.undecodable += 1
                self.drops.drop("undecodable", 1, str(exc))
                return
            if event is None:
                return
            if not self.logged_in:
                self.drops.drop("before_login", 1, f"{type(event).__name__} before Login")
                return
            try:
                self._on_event(event)
            except Exception as exc:  # one event must not take the link down
                self._failed("ami_event", exc, type(event).__name__)
        elif frame.startswith((EVENT_PREFIX, RESPONSE_PREFIX)):
            try:
                self._on_response(frame)
            except Exception as exc:  # one odd response must not take the link down
                self._failed("ami_response", exc, "response")
        else:
            self.drops.drop("garbage", 1, "neither an event nor a response")

    def _failed(self, kind: str, exc: Exception, name: str) -> None:
        log.error("input_failed", kind=kind, input=name, error=type(exc).__name__,
                  where=where(exc))
        if self._on_error is not None:
            self._on_error(kind)

    def _on_response(self, frame: bytes) -> None:
        message = parse_frame(frame)
        action_id = message.get("ActionID")
        pending = self.responses.get(action_id) if action_id else None
        if pending is None:
            if "Event" in message:  # e.g. OriginateResponse of someone else's action
                self._answer_event(message)
            elif "Response" in message:
                log.debug("ami_unmatched_response", action_id=action_id)
            return
        if not self.logged_in and isinstance(getattr(pending, "typed", None), act.Login) \
                and message.get("Response") == "Success":
            self.logged_in = True  # the events that follow in this very read count
        pk_message = PkMessage(dict(message))
        pk_message.ami = message  # keeps repeated headers (Variable:) for list decoding
        if pending.add_message(pk_message):
            self.responses.pop(action_id, None)
        if "Event" in message and "EventList" not in pending.responses[0]:
            self._answer_event(message)  # e.g. our own Originate's OriginateResponse

    def _answer_event(self, message: AmiMessage) -> None:
        """An event carrying an ActionID that is no list item (an OriginateResponse, of
        our action or someone else's): the sink gets it as any other event."""
        self.events_received += 1
        try:
            event = self._decoder.decode_message(message)
        except UndecodableEvent as exc:
            self.drops.drop("undecodable", 1, str(exc))
            return
        if event is not None and self.logged_in:
            self._on_event(event)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed:
            return
        self.closed = True
        for action in list(self.responses.values()):
            if not action.future.done():
                action.future.set_exception(AmiDisconnected("connection lost"))
        self.responses.clear()
        self._on_lost(exc)

    def close(self) -> None:
        if not self.closed:
            self.transport.close()


class AmiConnection:
    """One AMI session kept up for as long as :meth:`run` runs."""

    def __init__(self, config: AmiConfig, secret: str, sink: EventSink, *,
                 on_error: Callable[[str], None] | None = None,
                 decoder: UserEventDecoder | None = None) -> None:
        """``decoder``: how the dialplan's UserEvents are typed (by default none is)."""
        self.config = config
        self.decoder = decoder
        self._secret = secret
        self.sink = sink
        self.protocol: AmiProtocol | None = None
        self.connected = False
        self.reconnects = 0
        self._action_seq = 0
        self._lost: asyncio.Event = asyncio.Event()
        self._resync_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._session_up_at: float | None = None
        #: the session's TCP connection was made (else the port refused or timed out)
        self._reached = False
        self._refusals = _Refusals()
        #: frames dropped, by reason, over every session (acd_ami_frames_dropped_total)
        self.drops = DropCounter()
        #: told the kind of each input whose handling raised (acd_input_errors_total)
        self.on_error = on_error
        #: actions not sent because a value held CR, LF or NUL
        self.unsendable = 0

    # -------------------------------------------------------------- sending

    def next_action_id(self) -> str:
        self._action_seq += 1
        return f"acd-{self._action_seq}"

    def send(self, action: act.Action) -> asyncio.Future[Any]:
        """Write one action now; the future gets the response, or an AmiError."""
        protocol = self.protocol
        if protocol is None or protocol.closed or not self.connected:
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            future.set_exception(AmiDisconnected(f"{action.name} not sent: AMI link down"))
            return future
        try:
            wire = _WireAction(action, self.next_action_id())
        except UnsendableValue:
            # never written: a line break would inject headers, a NUL cut the value
            self.unsendable += 1
            self._input_failed("unsendable")
            log.error("ami_action_unsendable", action=action.name,
                      reason="a value holds a line break or NUL")
            refused: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            refused.set_exception(AmiActionFailed(action.name, "not sent: a value holds "
                                                  "a line break or NUL"))
            return refused
        # as_list=None lets panoramisk tell single responses from EventLists
        result: asyncio.Future[Any] = protocol.send(wire, as_list=None)
        return result

    async def request(self, action: act.Action) -> Any:
        """Send and await the response; ``Response: Error`` raises AmiActionFailed."""
        # asyncio.timeout, not wait_for: Python 3.11's wait_for loses a cancellation
        # that comes as the response arrives (the reconciler then never stops)
        async with asyncio.timeout(self.config.action_timeout_s):
            response = await self.send(action)
        check_response(action, response)
        return response

    # -------------------------------------------------------------- session

    async def run(self) -> None:
        """Connect, log in, resync, keep alive; on any failure wait and retry: a short
        fixed wait while the port refuses, a growing backoff after a session that
        reached Asterisk and failed (module doc)."""
        failures = 0  # sessions in a row that reached Asterisk and did not last
        loop = asyncio.get_running_loop()
        while not self._stopping:
            self._session_up_at = None
            self._reached = False
            error: Exception | None = None
            try:
                await self._session()
            except (OSError, TimeoutError, AmiError) as exc:
                error = exc
            finally:
                self._drop_link("session ended")
            if self.stopping:
                break
            self.reconnects += 1
            if not self._reached:
                delay = self.probe_s
                self._refusals.failed(error, self.config, delay, loop.time())
            else:
                if error is not None:
                    log.warning("ami_session_failed", error=describe(error),
                                host=self.config.host, port=self.config.port)
                failures = 1 if self._session_lasted() else failures + 1
                delay = backoff_delay(failures, self.config.reconnect_initial_s,
                                      self.config.reconnect_max_s)
                log.info("ami_reconnecting", in_s=round(delay, 2))
            await asyncio.sleep(delay)

    @property
    def probe_s(self) -> float:
        """The wait between two tries while the port refuses connections."""
        return min(self.config.reconnect_initial_s, PROBE_MAX_S)

    def _session_lasted(self) -> bool:
        """Whether the session that just ended stayed up at least reconnect_max_s."""
        up_at = self._session_up_at
        return up_at is not None and \
            asyncio.get_running_loop().time() - up_at >= self.config.reconnect_max_s

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def stop(self) -> None:
        """Log off and close; pending writes are flushed by the transport."""
        self._stopping = True
        protocol = self.protocol
        if protocol is not None and not protocol.closed and self.connected:
            with contextlib.suppress(AmiError, TimeoutError, OSError):
                await asyncio.wait_for(self.send(act.Logoff()), 1.0)
        if protocol is not None:
            protocol.close()
        self._lost.set()
        if self._resync_task is not None:
            self._resync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._resync_task

    async def _session(self) -> None:
        loop = asyncio.get_running_loop()
        self._lost = asyncio.Event()
        _, protocol = await asyncio.wait_for(
            loop.create_connection(
                lambda: AmiProtocol(self._on_event, self._on_lost, drops=self.drops,
                                    login_required=True, on_error=self._input_failed,
                                    decoder=self.decoder),
                self.config.host, self.config.port),
            self.config.connect_timeout_s)
        self._reached = True
        self._refusals.ended(loop.time())
        self.protocol = protocol
        self.connected = True  # transport up: Login may be sent
        response = await self._login()
        protocol.logged_in = True
        self._session_up_at = loop.time()
        log.info("ami_logged_in", host=self.config.host, port=self.config.port,
                 banner=protocol.framer.banner, message=response.message)
        self._start_resync("login")
        await self._keepalive(protocol)

    async def _login(self) -> Any:
        login = act.Login(username=self.config.username, secret=self._secret)
        try:
            return await self.request(login)
        except AmiActionFailed as exc:
            raise AmiLoginFailed(f"login refused for user {self.config.username!r}: "
                                 f"{exc.message}") from None

    async def _keepalive(self, protocol: AmiProtocol) -> None:
        """Ping after silence; a Ping unanswered in time means the link is dead."""
        while not protocol.closed:
            silent_for = time.monotonic() - protocol.last_rx
            if silent_for < self.config.keepalive_s:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._lost.wait(),
                                           self.config.keepalive_s - silent_for)
                continue
            try:
                await asyncio.wait_for(self.send(act.Ping()), self.config.keepalive_timeout_s)
            except TimeoutError:
                log.warning("ami_keepalive_timeout", after_s=self.config.keepalive_timeout_s)
                protocol.transport.abort()
                raise AmiDisconnected("keepalive timeout") from None

    def resync(self, why: str) -> None:
        """Ask for a fresh Status list now (e.g. a standby that just became leader)."""
        if self.connected:
            self._start_resync(why)

    def _start_resync(self, why: str) -> None:
        if self._resync_task is not None and not self._resync_task.done():
            return
        self._resync_task = asyncio.get_running_loop().create_task(self._resync(why))

    async def _resync(self, why: str) -> None:
        """Ask Asterisk for every live channel and hand the list to the router.

        A Ping first gives Asterisk's own clock (its ``Timestamp:``): the list is dated
        in PBX time, the time the router's engine runs on."""
        try:
            entries, taken_at = await self.channels()
        except (AmiError, TimeoutError) as exc:
            log.warning("ami_resync_failed", why=why, error=describe(exc))
            if self.protocol is not None:
                self.protocol.close()  # start over: a router without a view must not route
            return
        log.info("ami_resynced", why=why, channels=len(entries))
        self.sink.on_link_up(entries, taken_at)

    async def channels(self) -> tuple[list[StatusEntry], float]:
        """Every live channel (a ``Status`` list with the sink's variables) and when it
        was asked for, in Asterisk's clock (the ``Timestamp`` of a Ping just before)."""
        pong = await self.request(act.Ping())
        taken_at = epoch_or(getattr(pong, "timestamp", ""), time.time())
        messages = await self.request(act.Status(variables=self.sink_variables()))
        entries = [e for e in (decode_list_item(m, self.drops) for m in as_list(messages))
                   if isinstance(e, StatusEntry)]
        return entries, taken_at

    def sink_variables(self) -> tuple[str, ...]:
        names: tuple[str, ...] = getattr(self.sink, "resync_variables", ())
        return names

    def _input_failed(self, kind: str) -> None:
        if self.on_error is not None:
            self.on_error(kind)

    def _on_event(self, event: AmiEvent) -> None:
        if isinstance(event, FullyBooted):
            self._start_resync("FullyBooted")  # events flow only once logged in
        elif isinstance(event, Shutdown):
            log.warning("ami_asterisk_shutdown", restart=event.restart)
        self.sink.on_event(event)

    def _on_lost(self, exc: Exception | None) -> None:
        if self._stopping:
            log.info("ami_closed")
        else:
            log.warning("ami_connection_lost",
                        error=describe(exc) if exc else "closed by peer")
        self._lost.set()
        self._drop_link("connection lost")

    def _drop_link(self, reason: str) -> None:
        if self.connected:
            self.connected = False
            self.sink.on_link_down(reason)


class _Refusals:
    """The log of an outage during which the port refuses connections: its first
    failure (``ami_session_failed``, ``ami_reconnecting``), then one ``ami_unreachable``
    line a minute, and ``ami_reachable`` when a connection is made again."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.count = 0
        self._logged_at = 0.0

    def failed(self, error: Exception | None, config: AmiConfig, delay: float,
               now: float) -> None:
        self.count += 1
        reason = describe(error) if error is not None else "no connection"
        if self.since is None:
            self.since = self._logged_at = now
            log.warning("ami_session_failed", error=reason, host=config.host,
                        port=config.port)
            log.info("ami_reconnecting", in_s=round(delay, 2), until="the port accepts")
        elif now - self._logged_at >= UNREACHABLE_LOG_S:
            self._logged_at = now
            log.warning("ami_unreachable", error=reason, host=config.host, port=config.port,
                        for_s=round(now - self.since, 1), attempts=self.count)

    def ended(self, now: float) -> None:
        """A connection was made: the outage, if any, is over."""
        if self.since is not None:
            log.info("ami_reachable", after_s=round(now - self.since, 1),
                     attempts=self.count)
        self.since = None
        self.count = 0
