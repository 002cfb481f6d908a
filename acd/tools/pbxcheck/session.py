"""A short AMI session for ``acd check-pbx``: log in, send actions one at a time,
collect each answer (a list up to its ``EventList: Complete``) and every event that
arrives meanwhile. Request/response only: no reconnection, no resync, nothing of the
router's connection (:mod:`acd.ami.client`) is needed for a one-off check.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from types import TracebackType

from acd.ami.frames import AmiMessage, FrameReader, parse_frame, serialize
from acd.errors import AmiError


class CheckSession:
    """``async with CheckSession(host, port, timeout_s) as ami: await ami.login(…)``."""

    def __init__(self, host: str, port: int, timeout_s: float) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        #: the banner line Asterisk sent on connect
        self.banner = ""
        #: every event received that did not answer an action (in order)
        self.events: list[AmiMessage] = []
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._frames = FrameReader()
        self._pending: list[AmiMessage] = []
        self._ids = itertools.count(1)

    async def __aenter__(self) -> CheckSession:
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.timeout_s)
        except (OSError, TimeoutError) as exc:
            raise AmiError(f"cannot connect to AMI {self.host}:{self.port}: "
                           f"{exc or type(exc).__name__}") from exc
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()

    async def login(self, username: str, secret: str) -> AmiMessage:
        """Plain Login with events on (FullyBooted, then every event the user reads)."""
        answer = await self.request("Login", ("Username", username), ("Secret", secret),
                                    ("Events", "on"))
        return answer[0]

    async def request(self, action: str, *headers: tuple[str, str]) -> list[AmiMessage]:
        """Send ``action``; its response, then (for a list) its items and its end."""
        assert self._writer is not None
        action_id = f"check-{next(self._ids)}"
        self._writer.write(serialize([("Action", action), ("ActionID", action_id),
                                      *headers]))
        answer: list[AmiMessage] = []
        async with asyncio.timeout(self.timeout_s):
            while True:
                message = await self._next()
                if message.get("ActionID") != action_id:
                    if "Event" in message:
                        self.events.append(message)
                    continue
                answer.append(message)
                if len(answer) == 1 and message.get("EventList") != "start":
                    return answer
                if message.get("EventList") == "Complete":
                    return answer

    async def wait_events(self, seconds: float) -> None:
        """Collect events for up to ``seconds`` (returns at the first one)."""
        if self.events:
            return
        try:
            async with asyncio.timeout(seconds):
                while not self.events:
                    message = await self._next()
                    if "Event" in message:
                        self.events.append(message)
        except TimeoutError:
            return

    async def _next(self) -> AmiMessage:
        assert self._reader is not None
        while not self._pending:
            data = await self._reader.read(65536)
            if not data:
                raise AmiError("AMI closed the connection")
            self._pending += [parse_frame(f) for f in self._frames.feed(data)]
            if not self.banner and self._frames.banner:
                self.banner = self._frames.banner
        return self._pending.pop(0)
