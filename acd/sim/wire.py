"""Server side of the Asterisk Manager Interface, the way Asterisk 22 speaks it.

One asyncio TCP server; one :class:`Session` per connection. What a client sees
(checked against ``tests/fixtures/ami/recorded``, scenario 01):

* the banner ``Asterisk Call Manager/11.0.0`` and CRLF, no blank line after it;
* ``Login`` (plain, or MD5 after ``Challenge``): ``Response: Success`` /
  ``Message: Authentication accepted``, then, for ``Events: on`` (the default), a
  ``FullyBooted`` event without ``Timestamp:`` in the same write. A wrong secret or
  an unknown user gets ``Message: Authentication failed`` about a second later
  (``auth_failure_delay_s``) and the socket is closed;
* every other action before login: ``Message: Permission denied``;
* ``Logoff``: ``Response: Goodbye`` / ``Message: Thanks for all the fish.``, then close;
* responses start ``Response:`` then ``ActionID:`` (when the action had one);
* events start ``Event:``, ``Privilege:``, ``Timestamp:`` (simulated epoch, 6 decimals)
  and go to every logged-in session whose events are on, serialised once. As in
  manager.conf, a user may be limited to some read classes (``read = system,call``)
  and a session to some classes (``Events: call,user``): an event goes to a session
  when the first class of its ``Privilege:`` is one of them.

The other actions are answered by an :class:`ActionHandler` (:mod:`acd.sim.actions`).
Frames are read with the project's sans-IO :class:`~acd.ami.frames.FrameReader`.

Misbehaviour on demand, for tests: :meth:`AmiServer.drop_connections_mid_frame`,
:meth:`~AmiServer.send_garbage`, :meth:`~AmiServer.delay_responses`,
:meth:`~AmiServer.refuse_next`, :meth:`~AmiServer.reorder_next` and
:meth:`~AmiServer.restart` (close every socket, stop listening for a while).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from acd.ami.frames import AmiMessage, FrameReader, parse_frame, serialize
from acd.sim.clock import SimClock
from acd.sim.model import Headers

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
#: a client that lets this much output pile up is cut off (Asterisk drops slow
#: sessions too, after its write timeout)
DEFAULT_MAX_BUFFER = 64 * 1024 * 1024


@dataclass
class Reply:
    """What an action produced: the response (and list events) and a deferred effect.

    ``after`` runs right after the messages are written, as Asterisk answers an
    action before the channel threads act on it (a Redirect's events come after
    ``Redirect successful``).
    """

    messages: list[Headers]
    after: Callable[[], None] | None = None


def response(status: str, action_id: str | None, *headers: tuple[str, str]) -> Headers:
    """``Response:``, then ``ActionID:`` when the action had one, then the rest."""
    out: Headers = [("Response", status)]
    if action_id is not None:
        out.append(("ActionID", action_id))
    out.extend(headers)
    return out


def error(action_id: str | None, message: str) -> Reply:
    return Reply([response("Error", action_id, ("Message", message))])


class ActionHandler(Protocol):
    """Answers the actions of logged-in sessions (all but Login/Logoff/Events)."""

    def handle(self, name: str, message: AmiMessage) -> Reply: ...


class Session:
    """One client connection."""

    def __init__(self, number: int, writer: asyncio.StreamWriter, max_buffer: int) -> None:
        self.number = number
        self.writer = writer
        self.reader = FrameReader(expect_banner=False)
        self.authenticated = False
        self.username = ""
        self.events_on = False
        #: event classes this session receives (None: all)
        self.classes: frozenset[str] | None = None
        self.challenge: str | None = None
        self.closed = False
        self.bytes_sent = 0
        self._max_buffer = max_buffer
        peer = writer.get_extra_info("peername")
        self.peer: tuple[str, int] = (str(peer[0]), int(peer[1])) if peer else ("", 0)

    @property
    def wants_events(self) -> bool:
        return self.authenticated and self.events_on and not self.closed

    def reads(self, event_class: str) -> bool:
        return self.wants_events and (self.classes is None or event_class in self.classes)

    def send(self, data: bytes) -> None:
        if self.closed or self.writer.is_closing():
            return
        self.writer.write(data)
        self.bytes_sent += len(data)
        transport = self.writer.transport
        if transport.get_write_buffer_size() > self._max_buffer:
            self.abort()

    def send_message(self, headers: Headers) -> None:
        self.send(serialize(headers))

    def close(self) -> None:
        """Flush what is buffered, then close."""
        if not self.closed:
            self.closed = True
            self.writer.close()

    def abort(self) -> None:
        """Close at once, dropping what is buffered."""
        self.closed = True
        self.writer.transport.abort()


@dataclass
class _Reorder:
    hold: str
    until: str
    #: (event class, frame) held back
    held: list[tuple[str, bytes]] = field(default_factory=list)


_OFF = ("off", "no", "false", "0")
_ON = ("on", "yes", "true", "1", "")


def _mask(text: str) -> tuple[bool, frozenset[str] | None]:
    """``Events:`` / ``EventMask:`` value → (events on, classes or None for all)."""
    value = text.strip().lower()
    if value in _OFF:
        return False, None
    if value in _ON or "all" in value.split(","):
        return True, None
    return True, frozenset(c.strip() for c in value.split(",") if c.strip())


def _intersect(one: frozenset[str] | None, two: frozenset[str] | None) -> frozenset[str] | None:
    if one is None:
        return two
    return one if two is None else one & two


class AmiServer:
    """The AMI listener: sessions, login, event fan-out and injected faults."""

    def __init__(self, handler: ActionHandler, *, users: Mapping[str, str], clock: SimClock,
                 uptime: Callable[[], int], auth_failure_delay_s: float = 1.0,
                 security_events: bool = False, seed: int = 0,
                 read_classes: Mapping[str, Collection[str]] | None = None,
                 max_buffer_bytes: int = DEFAULT_MAX_BUFFER) -> None:
        self.handler = handler
        self.users = dict(users)
        #: manager.conf ``read =`` of each user (absent: all classes)
        self.read_classes: dict[str, frozenset[str]] = {
            user: frozenset(c.strip().lower() for c in classes)
            for user, classes in (read_classes or {}).items()}
        self.clock = clock
        self.uptime = uptime
        self.auth_failure_delay_s = auth_failure_delay_s
        #: also send SuccessfulAuth / InvalidPassword / InvalidAccountID events
        self.security_events = security_events
        self.max_buffer_bytes = max_buffer_bytes
        self.host = "127.0.0.1"
        self._port = 0
        self._server: asyncio.Server | None = None
        self._sessions: dict[Session, asyncio.Task[None]] = {}
        self._session_seq = 0
        self._rng = random.Random(f"{seed}:wire")
        #: faults
        self.response_delay_s = 0.0
        self._refusals: dict[str, list[str]] = {}
        self._reorders: list[_Reorder] = []
        #: counters, for tests and benchmarks
        self.events_sent = 0
        self.logins = 0

    # ---------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        return self._port

    @property
    def listening(self) -> bool:
        return self._server is not None

    def sessions(self) -> list[Session]:
        return list(self._sessions)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._server = await asyncio.start_server(self._serve, host, port)
        self._port = int(self._server.sockets[0].getsockname()[1])

    async def stop_listening(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def close_sessions(self) -> None:
        for session in list(self._sessions):
            session.close()
        tasks = list(self._sessions.values())
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        for task in tasks:
            if not task.done():
                task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def close(self) -> None:
        await self.stop_listening()
        await self.close_sessions()

    async def restart(self, down_s: float) -> None:
        """Close every socket, refuse connections for ``down_s`` real seconds, listen
        again on the same port."""
        await self.stop_listening()
        await self.close_sessions()
        if down_s > 0:
            await asyncio.sleep(down_s)
        self._server = await asyncio.start_server(self._serve, self.host, self._port)

    # ---------------------------------------------------------------- events

    def broadcast(self, name: str, privilege: str, headers: Headers, timestamp: float) -> None:
        """Send an event to every session with events on (an :data:`EventSink`)."""
        data = serialize([("Event", name), ("Privilege", privilege),
                          ("Timestamp", f"{timestamp:.6f}"), *headers])
        event_class = privilege.split(",", 1)[0]
        if not self._reorders:
            for session in self._sessions:
                if session.reads(event_class):
                    session.send(data)
                    self.events_sent += 1
            return
        for cls, chunk in self._reorder(name, event_class, data):
            for session in self._sessions:
                if session.reads(cls):
                    session.send(chunk)
                    self.events_sent += 1

    def _reorder(self, name: str, event_class: str, data: bytes) -> list[tuple[str, bytes]]:
        for rule in self._reorders:
            if name == rule.hold:
                rule.held.append((event_class, data))
                return []
        for rule in self._reorders:
            if name == rule.until and rule.held:
                self._reorders.remove(rule)
                return [(event_class, data), *rule.held]
        return [(event_class, data)]

    # ---------------------------------------------------------------- faults

    def delay_responses(self, seconds: float) -> None:
        """Write every response ``seconds`` (real) late; 0 stops. The action's effects
        (and their events) are not delayed."""
        self.response_delay_s = max(seconds, 0.0)

    def refuse_next(self, action: str, *, message: str = "Permission denied",
                    count: int = 1) -> None:
        """Answer the next ``count`` actions named ``action`` with ``Response: Error``
        (they have no effect)."""
        self._refusals.setdefault(action.lower(), []).extend([message] * count)

    def reorder_next(self, hold: str, until: str) -> None:
        """Hold back the next ``hold`` events until a ``until`` event was sent (e.g.
        ``reorder_next("BridgeLeave", "Hangup")`` sends a Hangup before BridgeLeave)."""
        self._reorders.append(_Reorder(hold, until))

    def flush_reordered(self) -> None:
        """Send the events still held back by :meth:`reorder_next`, drop the rules."""
        held = [item for rule in self._reorders for item in rule.held]
        self._reorders.clear()
        for cls, chunk in held:
            for session in self._sessions:
                if session.reads(cls):
                    session.send(chunk)

    def drop_connections_mid_frame(self) -> int:
        """Send half a frame on every connection, then close them all."""
        frame = serialize([("Event", "Newstate"), ("Privilege", "call,all"),
                           ("Timestamp", f"{self.clock.now():.6f}"),
                           ("Channel", "Local/15@incoming-00000000;2"),
                           ("ChannelState", "6"), ("ChannelStateDesc", "Up")])
        half = frame[: len(frame) // 2]
        sessions = list(self._sessions)
        for session in sessions:
            session.send(half)
            session.close()
        return len(sessions)

    def send_garbage(self, nbytes: int = 512, *, terminate: bool = True) -> int:
        """Send ``nbytes`` random bytes (then a blank line if ``terminate``) to every
        connection."""
        junk = self._rng.randbytes(nbytes).replace(b"\r\n\r\n", b"\r\n-\r\n")
        if terminate:
            junk += b"\r\n\r\n"
        sessions = list(self._sessions)
        for session in sessions:
            session.send(junk)
        return len(sessions)

    # ---------------------------------------------------------------- sessions

    async def _serve(self, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        self._session_seq += 1
        session = Session(self._session_seq, writer, self.max_buffer_bytes)
        task = asyncio.current_task()
        assert task is not None
        self._sessions[session] = task
        try:
            session.send(BANNER)
            while not session.closed:
                data = await reader.read(65536)
                if not data:
                    break
                for frame in session.reader.feed(data):
                    if session.closed or not await self._on_action(session, parse_frame(frame)):
                        session.close()
                        break
        except (ConnectionError, OSError):
            session.closed = True
        finally:
            self._sessions.pop(session, None)
            session.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _on_action(self, session: Session, message: AmiMessage) -> bool:
        """Answer one action; False closes the session."""
        name = message.get("Action")
        action_id = message.get("ActionID")
        if name is None:
            session.send_message(response("Error", action_id,
                                          ("Message", "Missing action in request")))
            return True
        lname = name.lower()
        if lname == "logoff":
            session.send_message(response("Goodbye", action_id,
                                          ("Message", "Thanks for all the fish.")))
            return False
        if lname == "login":
            return await self._login(session, message, action_id)
        if lname == "challenge":
            return self._challenge(session, message, action_id)
        if not session.authenticated:
            session.send_message(response("Error", action_id, ("Message", "Permission denied")))
            return True
        refusals = self._refusals.get(lname)
        if refusals:
            reason = refusals.pop(0)
            session.send_message(response("Error", action_id, ("Message", reason)))
            return True
        if lname == "events":
            return self._events(session, message, action_id)
        reply = self.handler.handle(name, message)
        if self.response_delay_s > 0:
            if reply.after is not None:
                reply.after()
            await asyncio.sleep(self.response_delay_s)
            self._send_reply(session, reply.messages)
            return True
        self._send_reply(session, reply.messages)
        if reply.after is not None:
            reply.after()
        return True

    def _send_reply(self, session: Session, messages: list[Headers]) -> None:
        session.send(b"".join(serialize(m) for m in messages))

    def _challenge(self, session: Session, message: AmiMessage, action_id: str | None) -> bool:
        if message.get("AuthType", "").lower() != "md5":
            session.send_message(response("Error", action_id,
                                          ("Message", "Must specify AuthType")))
            return True
        session.challenge = str(self._rng.randrange(100_000_000, 999_999_999))
        session.send_message(response("Success", action_id, ("Challenge", session.challenge)))
        return True

    def _credentials_ok(self, session: Session, message: AmiMessage) -> bool:
        secret = self.users.get(message.get("Username", ""))
        if secret is None:
            return False
        if message.get("AuthType", "").lower() == "md5":
            if session.challenge is None:
                return False
            expected = hashlib.md5((session.challenge + secret).encode(),
                                   usedforsecurity=False).hexdigest()
            return message.get("Key", "") == expected
        return message.get("Secret") == secret

    async def _login(self, session: Session, message: AmiMessage,
                     action_id: str | None) -> bool:
        username = message.get("Username", "")
        if not self._credentials_ok(session, message):
            known = username in self.users
            self._security_event("InvalidPassword" if known else "InvalidAccountID",
                                 session, username)
            if self.auth_failure_delay_s > 0:
                await asyncio.sleep(self.auth_failure_delay_s)
            session.send_message(response("Error", action_id,
                                          ("Message", "Authentication failed")))
            return False
        session.authenticated = True
        session.username = username
        session.events_on, wanted = _mask(message.get("Events", "on"))
        session.classes = _intersect(self.read_classes.get(username), wanted)
        self.logins += 1
        out = serialize(response("Success", action_id,
                                 ("Message", "Authentication accepted")))
        if session.reads("system"):
            uptime = str(self.uptime())
            out += serialize([("Event", "FullyBooted"), ("Privilege", "system,all"),
                              ("Uptime", uptime), ("LastReload", uptime),
                              ("Status", "Fully Booted")])
        session.send(out)
        self._security_event("SuccessfulAuth", session, username)
        return True

    def _events(self, session: Session, message: AmiMessage, action_id: str | None) -> bool:
        session.events_on, wanted = _mask(message.get("EventMask", "on"))
        session.classes = _intersect(self.read_classes.get(session.username), wanted)
        state = "On" if session.events_on else "Off"
        session.send_message(response("Success", action_id, ("Events", state)))
        return True

    def _security_event(self, name: str, session: Session, account: str) -> None:
        if not self.security_events:
            return
        now = self.clock.now()
        tv = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
        headers: Headers = [
            ("EventTV", tv), ("Severity", "Informational" if name == "SuccessfulAuth"
                              else "Error"),
            ("Service", "AMI"), ("EventVersion", "2" if name == "InvalidPassword" else "1"),
            ("AccountID", account), ("SessionID", f"0x{0x7F6800000000 + session.number:x}"),
            ("LocalAddress", f"IPV4/TCP/{self.host}/{self._port}"),
            ("RemoteAddress", f"IPV4/TCP/{session.peer[0]}/{session.peer[1]}"),
        ]
        if name == "SuccessfulAuth":
            headers.append(("UsingPassword", "0"))
        headers.append(("SessionTV", tv))
        self.broadcast(name, "security,all", headers, now)
