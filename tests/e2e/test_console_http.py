"""The console's server side over real HTTP: the page and its policy, the token
exchanged for a cookie, CSRF on cookie writes, the ``room`` events (masked, full, an
agent's own), their coalescing, and QS at N1 by the metrics' rule."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import msgspec
import pytest

from acd.config import Config
from acd.config.load import parse_config
from acd.core import inputs as i
from acd.http.tokens import TokenSet, parse_tokens
from acd.logs import mask_number
from tests.support.apiroom import (
    AGENT_ARM01,
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
from tests.support.paths import REPO
from tests.support.sse import SseReader

STATIC = REPO / "acd" / "http" / "static"


@pytest.fixture
def config() -> Config:
    return parse_config(SITE, "console-site.toml")


@pytest.fixture
def tokens() -> TokenSet:
    return parse_tokens(TOKENS_TOML.encode(), "tokens.toml")


@pytest.fixture
async def served(config: Config, tokens: TokenSet) -> AsyncIterator[Served]:
    async for s in serve_room(Room(config), tokens):
        yield s


def url(served: Served, path: str) -> str:
    return served.client.base + path


async def open_session(served: Served, token: str) -> tuple[str, str]:
    """The session cookie's value and the CSRF token for ``token``."""
    async with served.client.session.post(url(served, "/console/session"),
                                          json={"token": token}) as response:
        assert response.status == 200
        body = await response.json()
        return response.cookies["acd_console"].value, body["csrf"]


@contextlib.asynccontextmanager
async def room_stream(served: Served, token: str, *,
                      room: bool = True) -> AsyncIterator[SseReader]:
    path = "/api/v1/events?room=1" if room else "/api/v1/events"
    async with served.client.session.get(url(served, path), headers={
            "Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200
        yield SseReader(response)


def pause_both(room: Room) -> None:
    for agent in ("arm01", "arm02"):
        room.router.submit(i.AgentPause(agent, "meal", by="sup"))


# ---------------------------------------------------------------------- the page


async def test_the_page_is_served_with_a_strict_policy_and_no_inline_code(
        served: Served) -> None:
    session = served.client.session
    for path in ("/", "/wallboard"):
        async with session.get(url(served, path)) as response:
            assert response.status == 200
            assert response.content_type == "text/html"
            page = await response.text()
            policy = response.headers["Content-Security-Policy"]
            assert response.headers["X-Frame-Options"] == "DENY"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Referrer-Policy"] == "no-referrer"
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "an inline script"
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", page), "inline style or handler"
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts == ["/console/strings.js", "/console/console.js"]
    for asset in (*scripts, "/console/console.css", "/console/icon.svg"):
        async with session.get(url(served, asset)) as response:
            assert response.status == 200, asset
            etag = response.headers["ETag"]
        async with session.get(url(served, asset), headers={"If-None-Match": etag}) as again:
            assert again.status == 304
    # the API's answers and the event stream carry the same headers
    async with session.get(url(served, "/healthz")) as response:
        assert response.headers["X-Frame-Options"] == "DENY"
    async with session.get(url(served, "/api/v1/events"), headers={
            "Authorization": f"Bearer {READER}"}) as response:
        assert response.headers["Content-Security-Policy"] == policy


def test_the_page_fetches_nothing_from_elsewhere() -> None:
    for path in STATIC.iterdir():
        text = re.sub(r'xmlns="[^"]*"', "", path.read_text(encoding="utf-8"))
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text, re.I), path.name
        assert "innerHTML" not in text and "eval(" not in text, path.name


async def test_an_unknown_asset_is_not_found(served: Served) -> None:
    async with served.client.session.get(url(served, "/console/../tokens")) as response:
        assert response.status == 404
    async with served.client.session.get(url(served, "/console/secret.txt")) as response:
        assert response.status == 404


# ---------------------------------------------------------------------- sessions


async def test_a_token_typed_once_becomes_an_httponly_strict_cookie(served: Served) -> None:
    session = served.client.session
    async with session.get(url(served, "/console/session")) as response:
        assert response.status == 200 and await response.json() == {"open": False,
                                                                     "problem": None}
    async with session.post(url(served, "/console/session"),
                            json={"token": SUPERVISOR}) as response:
        assert response.status == 200
        body = await response.json()
        cookie = response.headers["Set-Cookie"]
        text = await response.text()
    assert body["who"] == "sup-martin" and body["role"] == "supervisor"
    assert body["sees_numbers"] is False and len(body["csrf"]) >= 40
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert attributes[0].startswith("acd_console=")
    assert {"httponly", "samesite=strict", "path=/"} <= set(attributes)
    assert SUPERVISOR not in cookie and SUPERVISOR not in text
    value = cookie.split(";")[0].split("=", 1)[1]
    async with session.get(url(served, "/console/session"),
                           headers={"Cookie": f"acd_console={value}"}) as response:
        again = await response.json()
    assert again["open"] is True and again["csrf"] == body["csrf"]
    # the exchange is audited, the token masked
    entry = served.server.api.audit[-1]
    assert (entry["who"], entry["path"], entry["body"]) == (
        "sup-martin", "/console/session", {"token": "***"})


async def test_a_wrong_token_or_a_form_post_opens_no_session(served: Served) -> None:
    session = served.client.session
    async with session.post(url(served, "/console/session"),
                            json={"token": "not-a-known-token-at-all"}) as response:
        assert response.status == 401 and "Set-Cookie" not in response.headers
    async with session.post(url(served, "/console/session"), data=f"token={SUPERVISOR}",
                            headers={"Content-Type": "application/x-www-form-urlencoded"}
                            ) as response:
        assert response.status == 415 and "Set-Cookie" not in response.headers
    assert len(served.server.api.sessions) == 0


async def test_cookie_writes_need_the_session_csrf_token(served: Served) -> None:
    cookie, csrf = await open_session(served, SUPERVISOR)
    session, jar = served.client.session, {"Cookie": f"acd_console={cookie}"}
    async with session.get(url(served, "/api/v1/agents"), headers=jar) as response:
        assert response.status == 200  # reads need no CSRF token
    pause = url(served, "/api/v1/agents/arm01/pause")
    for headers in (jar, {**jar, "X-CSRF-Token": "forged"}):
        async with session.post(pause, json={"reason": "meal"}, headers=headers) as response:
            assert response.status == 403
            assert "X-CSRF-Token" in (await response.json())["message"]
    assert served.engine.agents["arm01"].state.value == "available"
    audit = served.server.api.audit
    assert [(e["who"], e["status"]) for e in list(audit)[-2:]] == [("sup-martin", 403)] * 2
    async with session.post(pause, json={"reason": "meal"},
                            headers={**jar, "X-CSRF-Token": csrf}) as response:
        assert response.status == 200
    assert served.engine.agents["arm01"].pause_reason == "meal"
    assert audit[-1]["who"] == "sup-martin" and audit[-1]["status"] == 200
    # logging out ends the session: the cookie no longer opens anything
    end = url(served, "/console/session")
    async with session.delete(end, headers=jar) as response:
        assert response.status == 403  # needs the CSRF token too
    async with session.delete(end, headers={**jar, "X-CSRF-Token": csrf}) as response:
        assert response.status == 200
        assert "acd_console=\"\"" in response.headers["Set-Cookie"]
    async with session.get(url(served, "/api/v1/agents"), headers=jar) as response:
        assert response.status == 401


async def test_a_reader_session_is_refused_writes_like_a_reader_token(served: Served) -> None:
    cookie, csrf = await open_session(served, READER)
    async with served.client.session.post(
            url(served, "/api/v1/agents/arm01/pause"), json={},
            headers={"Cookie": f"acd_console={cookie}", "X-CSRF-Token": csrf}) as response:
        assert response.status == 403
    assert served.server.api.audit[-1]["who"] == "wallboard"


# ---------------------------------------------------------------------- the room


async def test_room_events_mask_numbers_unless_allowed_and_give_an_agent_its_own(
        served: Served) -> None:
    room = served.room
    pause_both(room)
    call = room.call()
    async with room_stream(served, READER) as reader, \
            room_stream(served, SUPERVISOR_NUMBERS) as full, \
            room_stream(served, AGENT_ARM01) as agent:
        masked_view = await reader.until("room")
        full_view = await full.until("room")
        own_view = await agent.until("room")
    n1 = next(q for q in masked_view["queues"] if q["name"] == "ARM_N1")
    assert n1["waiting"] == 1 and n1["free"] == 0 and n1["calls"][0]["id"] == call
    assert n1["calls"][0]["caller"] == mask_number(CALLER_NUM)
    assert CALLER_NUM not in str(masked_view)
    full_n1 = next(q for q in full_view["queues"] if q["name"] == "ARM_N1")
    assert full_n1["calls"][0]["caller"] == CALLER_NUM
    assert [a["id"] for a in own_view["agents"]] == ["arm01"]
    assert own_view["queues"] == own_view["partners"] == own_view["bascules"] == []
    assert "qs" not in own_view and CALLER_NUM not in str(own_view)
    arm01 = next(a for a in masked_view["agents"] if a["id"] == "arm01")
    assert (arm01["state"], arm01["pause_reason"], arm01["since"], arm01["role"]) == (
        "paused", "meal", room.now, "ARM_N1")
    assert masked_view["speed"] == 1.0 and masked_view["at"] == room.now
    assert [p["name"] for p in masked_view["partners"]] == ["sas62", "sas80"]


async def test_a_warm_transfer_shows_in_its_target_filiere_with_the_agent_holding_on(
        config: Config, tokens: TokenSet) -> None:
    warm = msgspec.structs.replace(config, transfers=msgspec.structs.replace(
        config.transfers, modes={"ARM_N1>AMU_N2": "warm"}))
    room = Room(warm)
    room.router.submit(i.AgentPause("amu01", "meal"))  # nobody to ring at AMU N2 yet
    call = room.call()
    agent = room.answer(call)
    room.router.submit(i.TransferRequest("AMU_N2", call=call, by=agent))
    room.now += 12
    async for served in serve_room(room, tokens):
        async with room_stream(served, READER) as reader:
            view = await reader.until("room")
    amu = next(q for q in view["queues"] if q["name"] == "AMU_N2")
    assert amu["waiting"] == 0 and amu["transfers"] == [{
        "id": call, "priority": 5, "from_queue": "ARM_N1", "agent": agent, "ringing": None,
        "transfer_wait_s": 12.0, "caller": mask_number(CALLER_NUM)}]


async def test_a_plain_event_stream_gets_no_room_event(served: Served) -> None:
    async with room_stream(served, SUPERVISOR, room=False) as plain:
        served.room.router.submit(i.AgentPause("arm01", "meal"))
        assert (await plain.next_event())[0] == "agent_state"
        with pytest.raises(TimeoutError):
            await plain.next_event(timeout=1.5)  # no room view, no keep-alive


async def test_fifty_consoles_share_one_view_built_once_per_change(served: Served) -> None:
    """Fifty consoles cost one view per change, the same bytes queued fifty times, and
    none of the per-fact events they do not read."""
    feed = served.server.console.feed
    feed.keepalive_s = 60.0  # only changes build views during this test
    router = served.room.router
    async with contextlib.AsyncExitStack() as stack:
        consoles = [await stack.enter_async_context(room_stream(served, READER))
                    for _ in range(50)]
        for console in consoles:
            await console.until("room")
        await asyncio.sleep(0.6)  # the views due for the consoles that joined are sent
        before = feed.sent
        served.room.now += 1
        for _ in range(100):  # 200 facts in one go
            router.submit(i.AgentPause("arm01", "meal"))
            router.submit(i.AgentReady("arm01"))
        views = []
        for console in consoles:  # the room views only, not the 200 facts' events
            while True:
                name, view = await console.next_event()
                assert name == "room"
                if view["at"] == served.room.now:
                    break
            views.append(view)
        built = feed.sent - before
        ids = {console.ids[-1] for console in consoles}
    assert built == 1, f"{built} views built for 200 facts"
    assert len(ids) == 1  # the very same event, queued 50 times
    assert all(next(a for a in v["agents"] if a["id"] == "arm01")["state"] == "available"
               for v in views)


async def test_qs_at_n1_is_the_metrics_figure(served: Served) -> None:
    room = served.room
    for wait in (10.0, 29.9996, 45.0, 75.0):
        call = room.call()
        room.now += wait
        room.answer(call)
        room.now += 30
        room.hangup(call)
    room.router.submit(i.AgentPause("arm01", "meal"))  # the room changed: a view is due
    async with room_stream(served, READER) as reader:
        view = await reader.until("room")
    async with served.client.session.get(url(served, "/metrics")) as response:
        text = await response.text()

    def total(name: str) -> float:
        return sum(float(value) for value in re.findall(
            rf'^{name}_total{{[^}}]*queue="ARM_N1"[^}}]*}} (\S+)$', text, re.MULTILINE))

    for figure in (view["qs"]["window"], view["qs"]["today"]):
        assert figure["answered"] == total("acd_calls_answered") == 4
        assert figure["within_30s"] == total("acd_calls_answered_within_30s") == 1
        assert figure["within_60s"] == total("acd_calls_answered_within_60s") == 3
        assert figure["qs30"] == 0.25 and figure["qs60"] == 0.75


async def test_the_period_names_pdsa_hours_and_the_holiday_in_french(
        config: Config, tokens: TokenSet) -> None:
    room = Room(config)
    room.now = datetime(2026, 12, 25, 10, 0, tzinfo=ZoneInfo("Europe/Paris")).timestamp()
    async for served in serve_room(room, tokens):
        async with room_stream(served, READER) as reader:
            view = await reader.until("room")
    assert view["period"] == {"period": "pdsa", "cause": "holiday: Christmas Day",
                              "holiday": "Christmas Day", "holiday_fr": "Noël"}
    assert view["site"] == {"name": "SAS api", "zone": "Europe/Paris", "utc_offset_s": 3600}


async def test_a_silent_room_is_still_sent_every_second(served: Served) -> None:
    async with room_stream(served, READER) as reader:
        await reader.until("room")
        started = asyncio.get_running_loop().time()
        await reader.until("room", timeout=3)
        assert asyncio.get_running_loop().time() - started < 1.6


async def test_the_stream_refuses_an_ended_session(served: Served) -> None:
    async with aiohttp.ClientSession() as other, other.get(
            url(served, "/api/v1/events?room=1"),
            headers={"Cookie": "acd_console=made-up-session-identifier"}) as response:
        assert response.status == 401
