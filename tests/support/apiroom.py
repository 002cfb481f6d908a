"""The API tests' room: a real service driven with engine inputs on an injected clock
(no AMI), the site and tokens it is served with, and an HTTP client."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from acd.ami import events as ev
from acd.ami import userevents as ue
from acd.config import ApiConfig, Config
from acd.core import inputs as i
from acd.http import HttpServer, start_http
from acd.http.tokens import TokenSet
from acd.metrics import RouterMetrics
from acd.store.leader import LeaderLock
from acd.testing import build_stack
from tests.support.sites import agent, partner, site_toml

CALLER_NUM = "0612345678"
CALLER_NAME = "Hélène Dupré"
SITE = site_toml(
    "SAS api", sections={"routing": {"ring_timeout_s": 300}},
    skills={"ARM_N1": {"wrap_up_s": 0, "expansion_s": [20]}, "AMU_N2": {"wrap_up_s": 0}},
    numbers={"15": "ARM_N1"},
    agents=[agent("arm01", ARM_N1=1, logged_in=True), agent("arm02", ARM_N1=1, logged_in=True),
            agent("amu01", AMU_N2=1, logged_in=True), agent("mg01", MG=1)],
    partners=[partner("sas62"), partner("sas80")])

SUPERVISOR = "supervisor-token-0123456789"
SUPERVISOR_NUMBERS = "supervisor-with-numbers-0123456789"
READER = "reader-token-0123456789"
AGENT_ARM01 = "agent-arm01-token-0123456789"
AGENT_ARM02 = "agent-arm02-token-0123456789"
TOKENS_TOML = f"""
["{SUPERVISOR}"]
role = "supervisor"
name = "sup-martin"

["sha256:{hashlib.sha256(SUPERVISOR_NUMBERS.encode()).hexdigest()}"]
role = "supervisor"
name = "sup-numbers"
caller_numbers = true

["{READER}"]
role = "reader"
name = "wallboard"

["{AGENT_ARM01}"]
role = "agent"
name = "desk arm01"
agent = "arm01"

["{AGENT_ARM02}"]
role = "agent"
name = "desk arm02"
agent = "arm02"
"""


class Room:
    """A service fed Asterisk-shaped events on an injected clock (no AMI)."""

    def __init__(self, config: Config, *, lock: LeaderLock | None = None) -> None:
        self.now = 1_000_000.0
        self.service = build_stack(config, clock=lambda: self.now, records=False,
                                   lock=lock).service
        self.router = self.service.router
        self._n = 0
        self.router.submit(i.ChannelsSnapshot([], taken_at=0.0))

    def call(self, number: str = "15") -> str:
        """A caller announced by the dialplan; returns the call id."""
        self._n += 1
        uid = f"u{self._n}"
        self.router.submit(ue.CallWaiting(
            channel=f"PJSIP/trunk-{self._n:08x}", uniqueid=uid, linkedid=uid,
            name="AcdCallWaiting", caller_id_num=CALLER_NUM, caller_id_name=CALLER_NAME,
            number=number, caller_name=CALLER_NAME))
        return uid

    def answer(self, call_id: str) -> str:
        call = self.router.engine.calls[call_id]
        assert call.agent is not None, "the call was not offered to anyone"
        self._n += 1
        leg = f"{self.router.engine.agents[call.agent].device}-{self._n:08x}"
        self.router.submit(ev.DialBegin(channel=call.channel, dest_channel=leg))
        self.router.submit(ev.DialEnd(channel=call.channel, dest_channel=leg,
                                      dial_status="ANSWER"))
        return call.agent

    def hangup(self, call_id: str) -> None:
        self.router.submit(ev.Hangup(channel=self.router.engine.calls[call_id].channel))


class Client:
    """HTTP with one token (or none) against the server."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def request(self, method: str, path: str, token: str | None = None,
                      body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        if data is not None:
            headers["Content-Type"] = "application/json"
        async with self.session.request(method, self.base + path, headers=headers,
                                        data=data) as response:
            text = await response.text()
            if response.content_type == "application/json":
                return response.status, json.loads(text)
            return response.status, text

    async def get(self, path: str, token: str | None = None) -> tuple[int, Any]:
        return await self.request("GET", "/api/v1/" + path, token)

    async def post(self, path: str, token: str | None, body: Any = None,
                   raw: bytes | None = None) -> tuple[int, Any]:
        return await self.request("POST", "/api/v1/" + path, token, body, raw)


class Served:
    def __init__(self, room: Room, server: HttpServer, client: Client) -> None:
        self.room = room
        self.server = server
        self.client = client
        self.engine = room.router.engine


async def serve_room(room: Room, tokens: TokenSet | None,
                     api_config: ApiConfig | None = None) -> AsyncIterator[Served]:
    metrics = RouterMetrics(room.service)
    metrics.attach()
    server = await start_http(room.service, "127.0.0.1", 0, metrics=metrics, tokens=tokens,
                              api_config=api_config)
    try:
        async with aiohttp.ClientSession() as session:
            yield Served(room, server, Client(session, f"http://127.0.0.1:{server.port}"))
    finally:
        await server.close()
