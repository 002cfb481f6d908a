"""A reader of the API's Server-Sent Events: ``(name, data)`` pairs, comments apart."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

Event = tuple[str, Any]


class SseReader:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.ids: list[int] = []

    async def next_event(self, timeout: float = 5.0) -> Event:
        """The next event (comments skipped)."""
        name: str | None = None
        data: Any = None
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.response.content.readline()
                assert raw, "the stream ended"
                line = raw.decode().rstrip("\n")
                if line.startswith("id: "):
                    self.ids.append(int(line[4:]))
                elif line.startswith("event: "):
                    name = line[len("event: "):]
                elif line.startswith("data: "):
                    data = json.loads(line[len("data: "):])
                elif line == "" and name is not None:
                    return name, data

    async def until(self, name: str, timeout: float = 5.0) -> Any:
        """The data of the next event called ``name``."""
        async with asyncio.timeout(timeout):
            while True:
                got, data = await self.next_event(timeout)
                if got == name:
                    return data
