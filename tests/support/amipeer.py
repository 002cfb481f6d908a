"""A fake Asterisk over real TCP that replays recorded AMI bytes and records what it
was sent. Used by the connection tests; the full simulator lives in ``acd.sim``."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from acd.ami.frames import FrameReader, parse_frame, serialize
from acd.config import AmiConfig
from tests.support.paths import TRANSCRIPTS

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
_ACTION_ID = re.compile(rb"(?:^|\r\n)ActionID: ([^\r\n]*)")
_TIMESTAMP = re.compile(rb"\r\nTimestamp: ([0-9.]+)\r\n")


def recorded_events(name: str) -> bytes:
    """The events of a transcript without the banner and the recorder's own Login
    response (the peer sends its own)."""
    data = (TRANSCRIPTS / name).read_bytes()
    data = data.split(b"\r\n", 1)[1]
    login, rest = data.split(b"\r\n\r\n", 1)
    assert login.startswith(b"Response: Success")
    return rest


@dataclass
class PeerSession:
    writer: asyncio.StreamWriter
    actions: list[dict[str, str]] = field(default_factory=list)
    logged_in: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    #: how many actions had been received when the Login was answered (None: never)
    login_answered_after: int | None = None


class AmiPeer:
    """Replays ``stream`` to every session after a good login.

    ``chunks`` splits the stream in pieces of that size (each a separate write);
    ``status_channels`` are Status list items (header dicts) answered to ``Status``.
    """

    def __init__(self, *, secret: str = "s3cret", stream: bytes = b"",
                 chunks: int = 0, status_channels: list[dict[str, str]] | None = None,
                 fail_login_delay: float = 0.05, early: bytes = b"",
                 cut_after: int = 0, stream_after_status: bool = False,
                 banner: bytes = BANNER, login_delay: float = 0.0,
                 drop_after_login: bool = False, drop_at_once: bool = False,
                 flood: bytes = b"",
                 on_originate: Callable[[str], bytes] | None = None,
                 ping_timestamp: Callable[[], str] | None = None) -> None:
        self.secret = secret
        self.stream = stream
        self.chunks = chunks
        self.status_channels = status_channels or []
        self.fail_login_delay = fail_login_delay
        #: bytes sent right after the banner, before any Login (an early event)
        self.early = early
        #: stream only this many bytes then close the socket (a cut mid-frame), once
        self.cut_after = cut_after
        #: hold the stream back until the client's resync (Status) is answered
        self.stream_after_status = stream_after_status
        #: the first line sent (a real banner, or a runaway one)
        self.banner = banner
        #: seconds the Login is held before it is answered
        self.login_delay = login_delay
        #: close the socket right after answering the Login (a session that never lasts)
        self.drop_after_login = drop_after_login
        #: close each connection as soon as it is accepted, before any banner
        self.drop_at_once = drop_at_once
        #: bytes written in one go after the first Status is answered (an event flood)
        self.flood = flood
        #: what follows an Originate's ``Response: Success``, given its ActionID (an
        #: OriginateResponse, as Asterisk sends for an ``Async`` one)
        self.on_originate = on_originate
        self.flood_started = asyncio.Event()
        #: replaying a recorded router's session (:mod:`tests.support.livesession`): its
        #: ActionIDs start with this; the frames answering its actions are left out,
        #: except those of ``recorded_actions``
        self.recorded_prefix = ""
        #: recorded ActionID -> (action, Channel) of an action whose answer the stream
        #: holds (an Async Originate's OriginateResponse): the stream waits there until
        #: the client has sent such an action, and the answer carries its ActionID
        self.recorded_actions: dict[str, tuple[str, str]] = {}
        #: told the recorded ActionID when the stream starts waiting for its action
        self.on_wait: Callable[[str], None] | None = None
        #: recorded ActionIDs whose action the client never sent (the answer left out)
        self.unmatched: list[str] = []
        self.sync_timeout_s = 5.0
        #: the latest ``Timestamp`` streamed: the recording's time now (a replay clock)
        self.stream_time = 0.0
        self._acted = asyncio.Event()
        #: the ``Timestamp`` of a Ping's answer (Asterisk's clock); a fixed one otherwise
        self.ping_timestamp = ping_timestamp or (lambda: "1795329358.0")
        self.sessions: list[PeerSession] = []
        self.logins = 0
        self.failed_logins = 0
        self.refuse: set[str] = set()
        self.answer_pings = True
        self._server: asyncio.Server | None = None
        self.port = 0
        self.streamed = asyncio.Event()
        self.connected = asyncio.Event()

    async def start(self, port: int = 0) -> AmiPeer:
        """Listen on ``port`` (0: a free one); again after :meth:`close`, the same
        port (``self.port``) as Asterisk coming back."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for session in self.sessions:
                session.writer.close()
                with contextlib.suppress(Exception):
                    await session.writer.wait_closed()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def send(self, data: bytes) -> None:
        """Write ``data`` (whole frames) to every logged-in session now, as Asterisk
        sends an event, never inside a response."""
        for session in self.sessions:
            if session.logged_in and not session.writer.is_closing():
                async with session.lock:
                    session.writer.write(data)
                    await session.writer.drain()

    def all_actions(self) -> list[dict[str, str]]:
        return [a for s in self.sessions for a in s.actions]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = PeerSession(writer)
        self.sessions.append(session)
        self.connected.set()
        if self.drop_at_once:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            return
        writer.write(self.banner + self.early)
        frames = FrameReader(expect_banner=False)
        try:
            while data := await reader.read(65536):
                for frame in frames.feed(data):
                    await self._on_action(session, dict(parse_frame(frame)))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            for task in session.tasks:
                task.cancel()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _on_action(self, session: PeerSession, action: dict[str, str]) -> None:
        session.actions.append(action)
        self._acted.set()
        async with session.lock:
            await self._answer(session, action)

    async def _answer(self, session: PeerSession, action: dict[str, str]) -> None:
        name = action.get("Action", "")
        action_id = action.get("ActionID", "")
        write = session.writer.write
        if name in self.refuse:
            write(_response("Error", action_id, Message="Refused by test"))
        elif name == "Login":
            if action.get("Secret") != self.secret:
                self.failed_logins += 1
                await asyncio.sleep(self.fail_login_delay)
                write(_response("Error", action_id, Message="Authentication failed"))
                session.writer.close()
                return
            await asyncio.sleep(self.login_delay)
            self.logins += 1
            session.logged_in = True
            session.login_answered_after = len(session.actions)
            write(_response("Success", action_id, Message="Authentication accepted"))
            if self.drop_after_login:
                await session.writer.drain()
                session.writer.close()
                return
            write(b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 8\r\n"
                  b"LastReload: 8\r\nStatus: Fully Booted\r\n\r\n")
            await session.writer.drain()
            if self.stream and not self.stream_after_status:
                session.tasks.append(asyncio.create_task(self._stream(session)))
        elif name == "Ping":
            if self.answer_pings:
                write(_response("Success", action_id, Ping="Pong",
                                Timestamp=self.ping_timestamp()))
        elif name == "Status":
            write(_response("Success", action_id, EventList="start",
                            Message="Channel status will follow"))
            for item in self.status_channels:
                # written raw: the peer sends what Asterisk might (a CR in a value)
                write(_raw([("Event", "Status"), ("Privilege", "Call"),
                            *((k, v) for k, v in item.items() if k != "Variables"),
                            *(("Variable", v) for v in item.get("Variables", "").split("|")
                              if v),
                            ("ActionID", action_id)]))
            n = str(len(self.status_channels))
            write(serialize([("Event", "StatusComplete"), ("ActionID", action_id),
                             ("EventList", "Complete"), ("ListItems", n), ("Items", n)]))
            if self.stream and self.stream_after_status and not session.tasks:
                session.tasks.append(asyncio.create_task(self._stream(session)))
            if self.flood and not self.flood_started.is_set():
                self.flood_started.set()
                write(self.flood)
        elif name == "Logoff":
            write(_response("Goodbye", action_id, Message="Thanks for all the fish."))
        elif name == "Redirect":
            write(_response("Success", action_id, Message="Redirect successful"))
        elif name == "Setvar":
            write(_response("Success", action_id, Message="Variable Set"))
        elif name == "Originate":
            write(_response("Success", action_id, Message="Originate successfully queued"))
            if self.on_originate is not None:
                write(self.on_originate(action_id))
        else:
            write(_response("Error", action_id, Message="Invalid/unknown command"))
        with contextlib.suppress(ConnectionError):
            await session.writer.drain()

    async def _stream(self, session: PeerSession) -> None:
        """Write the recorded stream frame by frame (each frame possibly in several
        small writes), never splitting a frame with a response, as Asterisk does."""
        data = self.stream
        if self.cut_after:
            session.writer.write(data[:self.cut_after])
            await session.writer.drain()
            self.cut_after = 0
            session.writer.close()
            return
        frames = [f + b"\r\n\r\n" for f in data.split(b"\r\n\r\n") if f]
        taken: dict[str, str] = {}
        for recorded in frames:
            frame = await self._as_ours(session, recorded, taken)
            if not frame:
                continue
            stamp = _TIMESTAMP.search(frame)
            if stamp is not None:
                self.stream_time = max(self.stream_time, float(stamp[1]))
            async with session.lock:
                size = self.chunks or len(frame)
                for start in range(0, len(frame), size):
                    session.writer.write(frame[start:start + size])
                    await session.writer.drain()
            await asyncio.sleep(0)
        self.streamed.set()

    async def _as_ours(self, session: PeerSession, frame: bytes,
                       taken: dict[str, str]) -> bytes:
        """A frame of a recorded router session as this client's (empty: left out)."""
        match = _ACTION_ID.search(frame) if self.recorded_prefix else None
        if match is None:
            return frame
        recorded = match[1].decode()
        if not recorded.startswith(self.recorded_prefix):
            return frame  # someone else's action (the lab's Originate of a caller)
        wanted = self.recorded_actions.get(recorded)
        if wanted is None:
            return b""  # the answer to an action the client sends its own way
        ours = taken.get(recorded)
        if ours is None:
            if self.on_wait is not None:
                self.on_wait(recorded)
            ours = await self._sent(session, wanted, set(taken.values()))
            if ours is None:
                self.unmatched.append(recorded)
                return b""
            taken[recorded] = ours
        if frame.startswith(b"Response:"):
            return b""  # this peer answered the client's own action already
        return frame[:match.start(1)] + ours.encode() + frame[match.end(1):]

    async def _sent(self, session: PeerSession, wanted: tuple[str, str],
                    used: set[str]) -> str | None:
        """The ActionID of the client's first action ``wanted`` (name, Channel) not
        ``used`` yet, waiting ``sync_timeout_s`` at most for it to be sent."""
        name, channel = wanted
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.sync_timeout_s
        while True:
            self._acted.clear()
            for action in session.actions:
                action_id = action.get("ActionID", "")
                if (action.get("Action"), action.get("Channel")) == (name, channel) \
                        and action_id not in used:
                    return action_id
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._acted.wait(), remaining)

def _raw(headers: list[tuple[str, str]]) -> bytes:
    """One message as bytes, values unchecked (acd's own serializer refuses CR/LF/NUL)."""
    return b"".join(f"{k}: {v}\r\n".encode() for k, v in headers) + b"\r\n"


def _response(status: str, action_id: str, **headers: str) -> bytes:
    return serialize([("Response", status), ("ActionID", action_id), *headers.items()])


def waiting_event(channel: str, uniqueid: str, timestamp: str = "1795329358.0") -> bytes:
    """The dialplan's ``AcdCallWaiting`` UserEvent for a caller in the holding context."""
    return (f"Event: UserEvent\r\nPrivilege: user,all\r\nTimestamp: {timestamp}\r\n"
            f"Channel: {channel}\r\nUniqueid: {uniqueid}\r\nCallerIDNum: 0611223344\r\n"
            f"Context: holding\r\nExten: s\r\nUserEvent: AcdCallWaiting\r\n"
            f"Number: 15\r\nArrived: 1795329358.0\r\n\r\n").encode()


def ami_config(port: int, **overrides: float) -> AmiConfig:
    """The router's AMI settings against a local peer: quick to reconnect and time out."""
    values = {"keepalive_s": 5.0, "keepalive_timeout_s": 1.0, "reconnect_initial_s": 0.05,
              "reconnect_max_s": 0.2, "connect_timeout_s": 1.0, "action_timeout_s": 1.0}
    values.update(overrides)
    return AmiConfig(host="127.0.0.1", port=port, **values)  # type: ignore[arg-type]
