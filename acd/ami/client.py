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
machinery, and decodes the other events straight to typed Structs for the engine,
skipping the ones nobody uses without parsing them. It has no factory to be missing.

:class:`AmiConnection` keeps a session up: connect, login (secret never logged),
resynchronise with a ``Status`` list, keep the link alive with Pings, and reconnect
with exponential backoff and jitter when anything fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from panoramisk import actions as pk_actions
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message as PkMessage

from acd.ami import actions as act
from acd.ami.events import (
    AmiEvent,
    FullyBooted,
    Shutdown,
    StatusEntry,
    UndecodableEvent,
    decode_frame,
    decode_message,
)
from acd.ami.frames import EVENT_PREFIX, FrameReader, parse_frame, serialize
from acd.config import AmiConfig
from acd.errors import AmiActionFailed, AmiDisconnected, AmiError, AmiLoginFailed
from acd.logs import get_logger

log = get_logger("acd.ami")

_ACTION_ID_MARK = b"\r\nActionID: "


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
                 on_lost: Callable[[Exception | None], None]) -> None:
        super().__init__()
        self._on_event = on_event
        self._on_lost = on_lost
        self._reader = FrameReader()
        self.last_rx = time.monotonic()
        self.events_received = 0
        self.undecodable = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.encoding = "utf-8"
        self.queue: deque[str] = deque()

    @property
    def banner(self) -> str | None:
        return self._reader.banner

    @property
    def dropped_frames(self) -> int:
        return self._reader.dropped_frames

    def data_received(self, data: bytes) -> None:
        self.last_rx = time.monotonic()
        for frame in self._reader.feed(data):
            if frame.startswith(EVENT_PREFIX) and _ACTION_ID_MARK not in frame:
                self.events_received += 1
                try:
                    event = decode_frame(frame)
                except UndecodableEvent as exc:
                    self.undecodable += 1
                    log.warning("ami_event_undecodable", error=str(exc))
                    continue
                if event is not None:
                    self._on_event(event)
            else:
                try:
                    self._on_response(frame)
                except Exception:  # one odd response must not take the link down
                    log.exception("ami_response_unhandled")

    def _on_response(self, frame: bytes) -> None:
        message = parse_frame(frame)
        action_id = message.get("ActionID")
        pending = self.responses.get(action_id) if action_id else None
        if pending is None:
            if "Event" in message:  # e.g. OriginateResponse of someone else's action
                self.events_received += 1
                with contextlib.suppress(UndecodableEvent):
                    event = decode_message(message)
                    if event is not None:
                        self._on_event(event)
            elif "Response" in message:
                log.debug("ami_unmatched_response", action_id=action_id)
            return
        pk_message = PkMessage(dict(message))
        pk_message.ami = message  # keeps repeated headers (Variable:) for list decoding
        if pending.add_message(pk_message):
            self.responses.pop(action_id, None)

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

    def __init__(self, config: AmiConfig, secret: str, sink: EventSink) -> None:
        self.config = config
        self._secret = secret
        self.sink = sink
        self.protocol: AmiProtocol | None = None
        self.connected = False
        self.reconnects = 0
        self._action_seq = 0
        self._lost: asyncio.Event = asyncio.Event()
        self._resync_task: asyncio.Task[None] | None = None
        self._stopping = False

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
        wire = _WireAction(action, self.next_action_id())
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
        """Connect, log in, resync, keep alive; on any failure back off and retry."""
        attempt = 0
        while not self._stopping:
            attempt += 1
            try:
                await self._session()
                attempt = 0
            except (OSError, TimeoutError, AmiError) as exc:
                log.warning("ami_session_failed", error=_describe(exc),
                            host=self.config.host, port=self.config.port)
            finally:
                self._drop_link("session ended")
            if self.stopping:
                break
            delay = backoff_delay(max(attempt, 1), self.config.reconnect_initial_s,
                                  self.config.reconnect_max_s)
            self.reconnects += 1
            log.info("ami_reconnecting", in_s=round(delay, 2))
            await asyncio.sleep(delay)

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
            loop.create_connection(lambda: AmiProtocol(self._on_event, self._on_lost),
                                   self.config.host, self.config.port),
            self.config.connect_timeout_s)
        self.protocol = protocol
        self.connected = True  # transport up: Login may be sent
        response = await self._login()
        log.info("ami_logged_in", host=self.config.host, port=self.config.port,
                 banner=protocol.banner, message=response.message)
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
            log.warning("ami_resync_failed", why=why, error=_describe(exc))
            if self.protocol is not None:
                self.protocol.close()  # start over: a router without a view must not route
            return
        log.info("ami_resynced", why=why, channels=len(entries))
        self.sink.on_link_up(entries, taken_at)

    async def channels(self) -> tuple[list[StatusEntry], float]:
        """Every live channel (a ``Status`` list with the sink's variables) and when it
        was asked for, in Asterisk's clock (the ``Timestamp`` of a Ping just before)."""
        pong = await self.request(act.Ping())
        taken_at = _float(getattr(pong, "timestamp", ""), time.time())
        messages = await self.request(act.Status(variables=self.sink_variables()))
        entries = [e for e in (_decode_list_item(m) for m in _as_list(messages))
                   if isinstance(e, StatusEntry)]
        return entries, taken_at

    def sink_variables(self) -> tuple[str, ...]:
        names: tuple[str, ...] = getattr(self.sink, "resync_variables", ())
        return names

    def _on_event(self, event: AmiEvent) -> None:
        if isinstance(event, FullyBooted):
            self._start_resync("FullyBooted")
        elif isinstance(event, Shutdown):
            log.warning("ami_asterisk_shutdown", restart=event.restart)
        self.sink.on_event(event)

    def _on_lost(self, exc: Exception | None) -> None:
        if self._stopping:
            log.info("ami_closed")
        else:
            log.warning("ami_connection_lost",
                        error=_describe(exc) if exc else "closed by peer")
        self._lost.set()
        self._drop_link("connection lost")

    def _drop_link(self, reason: str) -> None:
        if self.connected:
            self.connected = False
            self.sink.on_link_down(reason)


def backoff_delay(attempt: int, initial: float, maximum: float,
                  rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: ``initial·2^(attempt-1)`` capped at ``maximum``,
    then a random 50–100 % of it, so routers restarted together do not reconnect in step."""
    ceiling = min(maximum, initial * 2 ** min(attempt - 1, 30))
    draw: float = (rng or random.Random()).random()
    return float(ceiling * (0.5 + 0.5 * draw))


def check_response(action: act.Action, response: Any) -> None:
    first = response[0] if isinstance(response, list) else response
    if getattr(first, "response", "") == "Error":
        raise AmiActionFailed(action.name, first.message or "error")


def _float(text: str, default: float) -> float:
    try:
        return float(text)
    except ValueError:
        return default


def _as_list(response: Any) -> list[Any]:
    return list(response) if isinstance(response, list) else [response]


def _decode_list_item(message: Any) -> AmiEvent | None:
    ami = getattr(message, "ami", None)
    if ami is None:
        return None
    try:
        return decode_message(ami)
    except UndecodableEvent:
        return None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
