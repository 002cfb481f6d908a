"""Shared pieces of the simulator tests: a raw AMI test client, a site config, and
the helper that reduces an AMI stream to its event shapes (name + header names)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable

from acd.ami.frames import AmiMessage, FrameReader, parse_frame, serialize
from acd.config import Config
from acd.config.load import parse_config
from tests.support.paths import TRANSCRIPTS
from tests.support.sites import agent, site_toml

#: the simulator's agents 1001 and 1002 (``Local/<id>@agents``) and a PJSIP phone
SIM_AGENTS = [agent("1001", "Local/1001@agents", ARM_N1=1),
              agent("1002", "Local/1002@agents", ARM_N1=1), agent("arm01", ARM_N1=1)]
SIM_SITE = site_toml("SAS sim test", numbers={"15": "ARM_N1", "116117": "ARM_N1"},
                     agents=SIM_AGENTS)

SECRET = "s3cret"

#: events left out of the sequence comparison with the recordings (the simulator
#: may emit fewer of them, and SuccessfulAuth depends on who logged in when)
NOISE = frozenset({"VarSet", "Newexten", "DeviceStateChange", "SuccessfulAuth"})


def sim_config() -> Config:
    return parse_config(SIM_SITE, "sim-site.toml")


def event_key(message: AmiMessage) -> str:
    """Event name, refined where one name has several shapes: the UserEvent's own
    name, and whether a Dial* event has the caller's ``Channel`` block."""
    name = message.get("Event", "")
    if name == "UserEvent":
        return f"UserEvent/{message.get('UserEvent', '')}"
    if name.startswith("Dial"):
        return f"{name}/{'chan' if 'Channel' in message else 'nochan'}"
    return name


def event_shapes(frames: Iterable[bytes], *, skip: frozenset[str] = NOISE,
                 start_at: str = "Newchannel") -> list[tuple[str, frozenset[str]]]:
    """``(event key, set of header names)`` of each event, from the first
    ``start_at`` event on, leaving out ``skip`` events and responses."""
    shapes: list[tuple[str, frozenset[str]]] = []
    started = False
    for frame in frames:
        message = parse_frame(frame)
        name = message.get("Event")
        is_list_item = "ActionID" in message and name != "OriginateResponse"
        if name is None or is_list_item:
            continue
        started = started or name == start_at
        if not started or name in skip:
            continue
        shapes.append((event_key(message), frozenset(message)))
    return shapes


def recorded_frames(name: str) -> list[bytes]:
    data = (TRANSCRIPTS / name).read_bytes()
    return FrameReader().feed(data + b"\r\n\r\n")


def headers_by_key(shapes: list[tuple[str, frozenset[str]]]) -> dict[str, frozenset[str]]:
    """Union of the header names seen for each event key."""
    out: dict[str, frozenset[str]] = {}
    for key, names in shapes:
        out[key] = out.get(key, frozenset()) | names
    return out


class AmiTestClient:
    """A raw AMI client over TCP: sends actions, keeps every frame it receives."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.frames = FrameReader()
        self.raw = bytearray()
        self.raw_frames: list[bytes] = []
        self.messages: list[AmiMessage] = []
        self.closed = False
        self._changed = asyncio.Event()
        self._seq = 0
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, port: int) -> AmiTestClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def _read(self) -> None:
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                self.raw += data
                for frame in self.frames.feed(data):
                    self.raw_frames.append(frame)
                    self.messages.append(parse_frame(frame))
                self._changed.set()
        except ConnectionError:
            pass
        finally:
            self.closed = True
            self._changed.set()

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    def send(self, *headers: tuple[str, str]) -> None:
        self.writer.write(serialize(headers))

    def next_id(self) -> str:
        self._seq += 1
        return f"t-{self._seq:03d}"

    async def wait_for(self, predicate: Callable[[AmiMessage], bool], *, timeout: float = 2.0,
                       since: int = 0) -> AmiMessage:
        """The first message from index ``since`` on that matches ``predicate``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        index = since
        while True:
            while index < len(self.messages):
                message = self.messages[index]
                index += 1
                if predicate(message):
                    return message
            if self.closed:
                raise AssertionError("connection closed before the expected message")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError("timed out waiting for a message")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_event(self, name: str, *, timeout: float = 2.0, since: int = 0,
                         **headers: str) -> AmiMessage:
        def match(m: AmiMessage) -> bool:
            return m.get("Event") == name and all(m.get(k) == v for k, v in headers.items())

        return await self.wait_for(match, timeout=timeout, since=since)

    def events(self, name: str | None = None) -> list[AmiMessage]:
        return [m for m in self.messages if "Event" in m and (name is None or m["Event"] == name)]

    async def action(self, name: str, *headers: tuple[str, str],
                     timeout: float = 2.0) -> list[AmiMessage]:
        """Send an action; its response, then (for a list) every item and the end."""
        action_id = self.next_id()
        since = len(self.messages)
        self.send(("Action", name), ("ActionID", action_id), *headers)

        def mine(m: AmiMessage) -> bool:
            return m.get("ActionID") == action_id

        first = await self.wait_for(lambda m: mine(m) and "Event" not in m,
                                    timeout=timeout, since=since)
        if first.get("EventList") == "start":
            await self.wait_for(lambda m: mine(m) and m.get("EventList") == "Complete",
                                timeout=timeout, since=since)
        return [m for m in self.messages[since:] if mine(m)
                and (m.get("Event") != "OriginateResponse")]

    async def login(self, secret: str = SECRET, *, events: str = "on",
                    username: str = "acd") -> AmiMessage:
        replies = await self.action("Login", ("Username", username), ("Secret", secret),
                                    ("Events", events))
        return replies[0]

    async def wait_closed(self, timeout: float = 2.0) -> None:
        await asyncio.wait_for(asyncio.shield(self._task), timeout)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def connect_agent(client: AmiTestClient, channel: str, agent: str,
                        device: str) -> None:
    """What the router does: Setvar ACD_DIAL, then Redirect to acd-connect,<agent>,1."""
    set_reply = (await client.action("Setvar", ("Channel", channel), ("Variable", "ACD_DIAL"),
                                     ("Value", device)))[0]
    assert set_reply["Message"] == "Variable Set"
    redirect = (await client.action("Redirect", ("Channel", channel),
                                    ("Context", "acd-connect"), ("Exten", agent),
                                    ("Priority", "1")))[0]
    assert redirect["Message"] == "Redirect successful"
