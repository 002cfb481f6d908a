"""The live event stream (SSE): calls driven through a real Router, read by real HTTP
clients of a real aiohttp server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from acd.config import ApiConfig, Config
from acd.config.load import parse_config
from acd.core import facts as f
from acd.core import inputs as i
from acd.http import start_http
from acd.http.cti import EventStream, Subscriber
from acd.http.tokens import TokenSet, parse_tokens
from acd.logs import mask_number
from tests.support.apiroom import (
    AGENT_ARM02,
    CALLER_NUM,
    READER,
    SITE,
    SUPERVISOR,
    SUPERVISOR_NUMBERS,
    TOKENS_TOML,
    Room,
    Served,
    serve_room,
)

Event = tuple[str, dict[str, Any]]


@pytest.fixture
def config() -> Config:
    return parse_config(SITE, "cti-site.toml")


@pytest.fixture
def tokens() -> TokenSet:
    return parse_tokens(TOKENS_TOML.encode(), "tokens.toml")


@pytest.fixture
async def served(config: Config, tokens: TokenSet) -> AsyncIterator[Served]:
    async for s in serve_room(Room(config), tokens):
        yield s


class Stream:
    """An SSE client: events by name and data, comments apart."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.comments: list[str] = []

    async def line(self) -> str | None:
        raw = await self.response.content.readline()
        return raw.decode().rstrip("\n") if raw else None

    async def until_comment(self, text: str) -> None:
        async with asyncio.timeout(5):
            while (line := await self.line()) != f": {text}":
                assert line is not None, "stream closed"

    async def events(self, count: int | None = None, *,
                     until: str | None = None) -> list[Event]:
        """Read ``count`` events, or up to and including the first named ``until``."""
        events: list[Event] = []
        name: str | None = None
        data: dict[str, Any] = {}
        async with asyncio.timeout(5):
            while count is None or len(events) < count:
                line = await self.line()
                assert line is not None, f"stream closed after {events}"
                if line.startswith(":"):
                    self.comments.append(line)
                elif line.startswith("event: "):
                    name = line[len("event: "):]
                elif line.startswith("data: "):
                    data = json.loads(line[len("data: "):])
                elif line == "" and name is not None:
                    events.append((name, data))
                    if name == until:
                        break
                    name, data = None, {}
        return events


@contextlib.asynccontextmanager
async def stream(served: Served, token: str) -> AsyncIterator[Stream]:
    client = served.client
    async with client.session.get(client.base + "/api/v1/events",
                                  headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        sse = Stream(response)
        await sse.until_comment("connected")  # subscribed: events from now on reach it
        yield sse


def calls_only(events: list[Event]) -> list[Event]:
    return [(name, data) for name, data in events if name.startswith("call_")]


async def test_a_call_is_streamed_offered_answered_ended_in_order(served: Served) -> None:
    room = served.room
    async with stream(served, SUPERVISOR_NUMBERS) as full, stream(served, READER) as masked:
        call_id = room.call()
        room.now += 7
        agent = room.answer(call_id)
        room.now += 60
        room.hangup(call_id)
        seen_full = await full.events(until="call_ended")
        seen_masked = await masked.events(until="call_ended")

    # the site rings both free ARM at once (a ring group): one offer each
    events = calls_only(seen_full)
    assert [name for name, _ in events] == ["call_offered", "call_offered",
                                            "call_answered", "call_ended"]
    offers = [data for _, data in events[:2]]
    answered, ended = events[2][1], events[3][1]
    assert {data["agent"] for data in offers} == {"arm01", "arm02"}
    for data in (*offers, answered, ended):
        assert data["call"] == call_id and data["queue"] == "ARM_N1"
        assert data["number"] == "15" and data["caller"] == CALLER_NUM
    assert answered["agent"] == ended["agent"] == agent
    assert [(d["wait_s"], d["priority"]) for d in offers] == [(0.0, 5), (0.0, 5)]
    assert answered["wait_s"] == 7.0 and answered["first"] is True
    assert ended["outcome"] == "answered" and ended["wait_s"] == 7.0
    assert ended["duration_s"] == 67.0
    states = [d["new"] for name, d in seen_full if name == "agent_state" and d["agent"] == agent]
    assert states[:2] == ["ringing", "on_call"]

    assert [name for name, _ in calls_only(seen_masked)] == [
        "call_offered", "call_offered", "call_answered", "call_ended"]
    assert {d["caller"] for _, d in calls_only(seen_masked)} == {mask_number(CALLER_NUM)}
    assert CALLER_NUM not in json.dumps(seen_masked)


async def test_a_call_that_ends_unanswered_is_told_with_its_caller_then_forgotten(
        served: Served) -> None:
    room, router = served.room, served.room.router
    for agent in ("arm01", "arm02"):
        router.submit(i.AgentPause(agent, "break"))
    async with stream(served, SUPERVISOR_NUMBERS) as full, stream(served, READER) as masked:
        call_id = room.call()
        room.now += 12
        room.hangup(call_id)  # gone from the engine before its end is streamed
        ended_full = (await full.events(until="call_ended"))[-1][1]
        ended_masked = (await masked.events(until="call_ended"))[-1][1]
    assert ended_full == {
        "at": room.now, "call": call_id, "queue": "ARM_N1", "number": "15", "agent": None,
        "outcome": "abandoned", "wait_s": None, "duration_s": 12.0, "caller": CALLER_NUM}
    assert ended_masked == {**ended_full, "caller": mask_number(CALLER_NUM)}
    assert served.server.api.stream.calls_remembered == 0


async def test_transfers_and_bascules_are_streamed(served: Served) -> None:
    room = served.room
    async with stream(served, SUPERVISOR) as sse:
        call_id = room.call()
        agent = room.answer(call_id)
        room.router.submit(i.TransferRequest("AMU_N2", call=call_id, by="sup"))
        room.router.submit(i.BasculeRequest("*", 1.0, partner="sas62", by="sup-martin",
                                            reason="panne"))
        events = await sse.events(until="bascule")
    transferred = [d for name, d in events if name == "call_transferred"]
    assert transferred[0] == {
        "at": room.now, "call": call_id, "from_queue": "ARM_N1", "to_queue": "AMU_N2",
        "queue": "AMU_N2", "number": "15", "agent": agent, "result": "requested",
        "reason": "", "caller": mask_number(CALLER_NUM)}
    assert events[-1] == ("bascule", {"at": room.now, "queue": "*", "share": 1.0,
                                      "partner": "sas62", "by": "sup-martin",
                                      "reason": "panne"})


async def test_an_agent_token_hears_only_about_its_own_agent(served: Served) -> None:
    room, router = served.room, served.room.router
    async with stream(served, AGENT_ARM02) as sse:
        router.submit(i.AgentPause("arm02", "break"))
        first = room.call()                       # to arm01: not for arm02
        room.answer(first)
        room.hangup(first)
        router.submit(i.BasculeRequest("ARM_N1", 0.5, by="sup", reason="x"))
        router.submit(i.AgentPause("arm01", "break"))
        router.submit(i.AgentReady("arm02"))
        second = room.call()                      # to arm02
        room.answer(second)
        room.hangup(second)
        events = await sse.events(until="call_ended")
    assert [name for name, _ in events] == [
        "agent_state", "agent_state", "agent_state", "call_offered", "agent_state",
        "call_answered", "agent_state", "call_ended"]
    assert all(d.get("agent") == "arm02" for _, d in events)
    assert [d["new"] for name, d in events if name == "agent_state"] == [
        "paused", "available", "ringing", "on_call", "available"]
    assert all(d["call"] == second for name, d in events if name.startswith("call_"))


async def test_a_slow_client_is_told_it_lagged_and_never_blocks_the_router(
        config: Config, tokens: TokenSet) -> None:
    async for served in serve_room(Room(config), tokens, ApiConfig(stream_buffer=3)):
        router = served.room.router
        async with stream(served, READER) as slow, stream(served, SUPERVISOR) as other:
            started = time.perf_counter()
            for _ in range(10):  # 20 events while neither client's handler can run
                router.submit(i.AgentPause("arm01", "break"))
                router.submit(i.AgentReady("arm01"))
            assert time.perf_counter() - started < 1.0
            for sse in (slow, other):
                events = await sse.events(4)
                assert events[0] == ("lagged", {"dropped": 17})
                assert [d["new"] for _, d in events[1:]] == ["available", "paused",
                                                              "available"]
        api = served.server.api
        async with asyncio.timeout(5):  # the clients went away: their handlers end
            while api.stream.subscribers:
                await asyncio.sleep(0.01)


async def test_heartbeats_keep_a_quiet_stream_alive(config: Config,
                                                    tokens: TokenSet) -> None:
    async for served in serve_room(Room(config), tokens, ApiConfig(heartbeat_s=0.05)):
        async with stream(served, READER) as sse:
            await sse.until_comment("heartbeat")
            await sse.until_comment("heartbeat")


async def test_streams_end_cleanly_when_the_server_stops(config: Config,
                                                        tokens: TokenSet) -> None:
    room = Room(config)
    server = await start_http(room.service, "127.0.0.1", 0, tokens=tokens)
    async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{server.port}/api/v1/events",
            headers={"Authorization": f"Bearer {SUPERVISOR}"}) as response:
        sse = Stream(response)
        await sse.until_comment("connected")
        started = time.perf_counter()
        closing = asyncio.create_task(server.close())
        assert await sse.events(until="closing") == [("closing",
                                                      {"reason": "server stopping"})]
        assert await sse.line() is None  # end of the body
        await closing
        assert time.perf_counter() - started < 2.0
    assert server.api.stream.subscribers == set()


async def test_the_stream_needs_a_token(served: Served) -> None:
    client = served.client
    async with client.session.get(client.base + "/api/v1/events") as response:
        assert response.status == 401


def test_a_full_queue_drops_its_oldest_event() -> None:
    subscriber = Subscriber(2, agent=None, sees_numbers=False)
    events = [f.AgentStateChanged(at=n, agent="arm01", old="available", new="paused")
              for n in range(5)]
    stream_ = EventStream(router=None, buffer=2)  # type: ignore[arg-type]
    for fact in events:
        encoded = stream_._event(fact)
        assert encoded is not None
        subscriber.offer(encoded)
    assert subscriber.queue.qsize() == 2 and subscriber.dropped == 3
    kept = [subscriber.queue.get_nowait() for _ in range(2)]
    assert [e.id for e in kept if e is not None] == [4, 5] and None not in kept


async def test_reskilling_is_streamed_to_supervisors_and_to_the_agent(served: Served) -> None:
    room = served.room
    async with stream(served, SUPERVISOR) as sse:
        room.router.submit(i.AgentReskill("arm01", {"AMU_N2": 1}, by="sup-martin",
                                          reason="rotation"))
        events = await sse.events(until="agent_skills")
    assert events[-1] == ("agent_skills", {"at": room.now, "agent": "arm01",
                                           "old": {"ARM_N1": 1}, "new": {"AMU_N2": 1},
                                           "by": "sup-martin", "reason": "rotation"})
