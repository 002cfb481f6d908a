"""The supervisor's console in a real browser: Debian's Chromium, headless, driven over
its DevTools protocol, against ``acd run`` and ``acd sim`` running as processes."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from acd.logs import mask_number
from tests.support.browser import Browser, Page, running_browser
from tests.support.consolerig import (
    AGENT_ARM02,
    READER,
    SUPERVISOR,
    ConsoleRig,
    console_rig,
)

pytestmark = pytest.mark.slow
CALLER = "0611223344"
LIVE = "document.getElementById('live').getAttribute('data-state') === 'live'"


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[ConsoleRig]:
    async with console_rig(tmp_path) as running:
        yield running


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    async with running_browser(tmp_path / "chromium-profile") as running:
        yield running


async def open_console(browser: Browser, rig: ConsoleRig, token: str,
                       path: str = "/") -> Page:
    """The page at ``path``, the token typed into its form, the stream live."""
    page = await browser.new_page(rig.base + path)
    await page.wait_for("!document.getElementById('login').hidden")
    await page.type("#token", token)
    await page.click("#login-submit")
    await page.wait_for(LIVE)
    return page


def row_state(agent: str) -> str:
    return (f"(document.querySelector('tr[data-agent=\"{agent}\"]') || "
            "{getAttribute: function () { return null; }}).getAttribute('data-state')")


async def test_a_caller_shows_on_the_page_within_a_second_of_arriving(
        rig: ConsoleRig, browser: Browser) -> None:
    page = await open_console(browser, rig, SUPERVISOR)
    for agent in ("arm01", "arm02"):  # nobody free at N1: the caller will wait
        status, _ = await rig.api("POST", f"agents/{agent}/pause", SUPERVISOR,
                                  {"reason": "meal"})
        assert status == 200
    await page.wait_for(f"{row_state('arm01')} === 'paused' && "
                        f"{row_state('arm02')} === 'paused'")
    waiting = "document.querySelectorAll('.queue[data-queue=\"ARM_N1\"] li.call').length"
    assert await page.evaluate(waiting) == 0
    placed = await rig.place_call("15", priority=3, caller_num=CALLER, patience_s=600)
    announced = time.monotonic()  # the dialplan's announcement has happened
    await page.wait_for(f"{waiting} === 1", timeout=5, interval=0.01)
    seen_after = time.monotonic() - announced
    assert seen_after < 1.0, f"shown {seen_after:.3f} s after its arrival"
    card = "'.queue[data-queue=\"ARM_N1\"]'"
    text = await page.evaluate(f"document.querySelector({card}).textContent")
    assert "P3" in text and mask_number(CALLER) in text and CALLER not in text
    assert await page.text(".queue[data-queue=\"ARM_N1\"] .count") == "1"
    # the wait ticks in the page between two views of the room
    first = await page.text(".queue[data-queue=\"ARM_N1\"] li.call .wait")
    await page.wait_for(f"document.querySelector({card} + ' li.call .wait') === null || "
                        f"document.querySelector('.queue[data-queue=\"ARM_N1\"] li.call "
                        f".wait').textContent !== {json.dumps(first)}", timeout=5)
    assert placed["number"] == "15"
    assert page.errors == []


async def test_a_supervisor_pauses_an_agent_from_the_page_and_the_row_changes(
        rig: ConsoleRig, browser: Browser) -> None:
    page = await open_console(browser, rig, SUPERVISOR)
    await page.wait_for(f"{row_state('arm01')} === 'available'")
    await page.evaluate("document.getElementById('pause-reason').value = 'meal'")
    await page.click("tr[data-agent='arm01'] button[data-action='pause']")
    await page.wait_for(f"{row_state('arm01')} === 'paused'", timeout=2)
    assert await page.text("tr[data-agent='arm01'] .reason") == "repas"
    assert await page.text("tr[data-agent='arm01'] .state") == "En pause"
    _, agents = await rig.api("GET", "agents", READER)
    arm01 = next(a for a in agents["agents"] if a["id"] == "arm01")
    assert (arm01["state"], arm01["pause_reason"]) == ("paused", "meal")
    # audited as the API audits, under the supervisor's name, and shown on the page
    _, audit = await rig.api("GET", "audit", SUPERVISOR)
    entry = audit["audit"][-1]
    assert (entry["who"], entry["method"], entry["path"], entry["status"]) == (
        "sup-lefebvre", "POST", "/api/v1/agents/arm01/pause", 200)
    await page.wait_for("document.getElementById('audit-rows').textContent"
                        ".indexOf('/api/v1/agents/arm01/pause') >= 0")
    await page.click("tr[data-agent='arm01'] button[data-action='ready']")
    await page.wait_for(f"{row_state('arm01')} === 'available'", timeout=2)
    assert page.errors == []


async def test_a_supervisor_starts_and_ends_a_bascule_after_a_confirmation_naming_it(
        rig: ConsoleRig, browser: Browser) -> None:
    page = await open_console(browser, rig, SUPERVISOR)
    await page.wait_for("document.querySelectorAll('#bascule-partner option').length === 2")
    await page.evaluate("document.getElementById('bascule-queue').value = 'ARM_N1';"
                        "document.getElementById('bascule-share').value = '0.5';"
                        "document.getElementById('bascule-partner').value = 'sas89'")
    await page.type("#bascule-reason", "renfort nuit")
    await page.click("#bascule-submit")
    await page.wait_for("!document.getElementById('confirm').hidden")
    question = await page.text("#confirm-text")
    assert "50 %" in question and "ARM N1" in question and "sas89" in question
    assert "restent ici" in question  # a partial bascule leaves the waiting callers
    _, bascules = await rig.api("GET", "bascules", READER)
    assert bascules["bascules"] == []  # nothing happens before the confirmation
    await page.click("#confirm-yes")
    await page.wait_for("document.querySelector('li.bascule[data-bascule=\"ARM_N1\"]') "
                        "!== null")
    assert not await page.evaluate("document.getElementById('bascule-banner').hidden")
    _, bascules = await rig.api("GET", "bascules", READER)
    (bascule,) = bascules["bascules"]
    assert (bascule["queue"], bascule["share"], bascule["partner"], bascule["by"],
            bascule["reason"]) == ("ARM_N1", 0.5, "sas89", "sup-lefebvre", "renfort nuit")
    await page.click("li.bascule[data-bascule='ARM_N1'] button[data-end]")
    await page.wait_for("!document.getElementById('confirm').hidden")
    assert "Mettre fin à la bascule de ARM N1" in await page.text("#confirm-text")
    await page.click("#confirm-yes")
    await page.wait_for("document.getElementById('bascule-banner').hidden")
    assert (await rig.api("GET", "bascules", READER))[1]["bascules"] == []
    assert page.errors == []


async def test_a_reader_sees_the_room_with_no_control_and_the_api_refuses_its_writes(
        rig: ConsoleRig, browser: Browser) -> None:
    page = await open_console(browser, rig, READER)
    await page.wait_for("document.querySelectorAll('tr.agent').length === 5")
    controls = ("document.querySelectorAll('[data-action], [data-end]').length + "
                "['bascule-form', 'audit', 'pause-reason-row'].filter(function (id) {"
                " return !document.getElementById(id).hidden; }).length")
    assert await page.evaluate(controls) == 0
    assert "lecture seule" in await page.text("#who")
    # a write sent by hand from the reader's own page, cookie and CSRF token included
    answer = await page.evaluate("""new Promise(function (done) {
        var x = new XMLHttpRequest();
        x.open('GET', '/console/session');
        x.onload = function () {
          var csrf = JSON.parse(x.responseText).csrf;
          var w = new XMLHttpRequest();
          w.open('POST', '/api/v1/agents/arm01/pause');
          w.setRequestHeader('Content-Type', 'application/json');
          w.setRequestHeader('X-CSRF-Token', csrf);
          w.onload = function () { done([w.status, JSON.parse(w.responseText)]); };
          w.send('{"reason": "meal"}');
        };
        x.send();
      })""")
    assert answer[0] == 403 and answer[1]["error"] == "forbidden"
    status, body = await rig.api("POST", "agents/arm01/pause", READER, {"reason": "meal"})
    assert status == 403 and body["error"] == "forbidden"
    status, audit = await rig.api("GET", "audit", SUPERVISOR)
    refused = [e for e in audit["audit"] if e["path"] == "/api/v1/agents/arm01/pause"]
    assert {e["who"] for e in refused} == {"mur-de-salle"}
    assert [e["status"] for e in refused] == [403, 403]
    assert await page.evaluate(row_state("arm01")) == "available"
    assert page.errors == []


async def test_an_agent_token_shows_only_its_own_agent_and_its_own_actions(
        rig: ConsoleRig, browser: Browser) -> None:
    page = await open_console(browser, rig, AGENT_ARM02)
    await page.wait_for("document.querySelectorAll('tr.agent').length === 1")
    assert await page.evaluate("document.querySelector('tr.agent').getAttribute("
                               "'data-agent')") == "arm02"
    assert await page.evaluate("document.querySelectorAll('.queue').length") == 0
    await page.click("tr[data-agent='arm02'] button[data-action='pause']")
    await page.wait_for(f"{row_state('arm02')} === 'paused'", timeout=2)
    assert page.errors == []


async def test_the_page_says_its_data_is_stale_when_the_router_stops(
        rig: ConsoleRig, browser: Browser) -> None:
    page = await open_console(browser, rig, READER)
    assert await page.evaluate("document.getElementById('stale').hidden") is True
    await rig.stop_router()
    await page.wait_for("!document.getElementById('stale').hidden", timeout=5)
    banner = await page.text("#stale")
    assert "Données périmées" in banner and "routeur" in banner
    assert await page.evaluate("document.getElementById('live').textContent") == "périmé"
    await page.click("#lang")
    assert "Stale data" in await page.text("#stale")


async def test_the_page_says_its_data_is_stale_when_the_link_to_asterisk_is_down(
        rig: ConsoleRig, browser: Browser) -> None:
    page = await open_console(browser, rig, READER)
    rig.sim.send_signal(signal.SIGTERM)  # Asterisk goes away; the router stays up
    await page.wait_for("!document.getElementById('stale').hidden", timeout=10)
    assert "liaison avec Asterisk est coupée" in await page.text("#stale")
    async with rig.http.get(rig.base + "/healthz") as health:
        assert health.status == 503


async def test_the_wallboard_shows_large_figures_and_no_control(
        rig: ConsoleRig, browser: Browser) -> None:
    page = await open_console(browser, rig, SUPERVISOR, "/wallboard")
    await page.wait_for("document.querySelectorAll('.queue-tile').length === 4")
    names = await page.evaluate("Array.prototype.map.call(document.querySelectorAll("
                                "'.queue-tile .tile-name'), function (e) {"
                                " return e.textContent; })")
    assert names == ["ARM N1", "AMU N2", "OSNP", "MG"]
    visible = ("Array.prototype.filter.call(document.querySelectorAll('button, select, "
               "input'), function (e) { return e.offsetParent !== null && e.id !== 'lang'; "
               "}).length")
    assert await page.evaluate(visible) == 0
    assert await page.evaluate("document.querySelectorAll('[data-action]').length") == 0
    # the site's time (Europe/Paris), not the browser's (this machine runs in UTC)
    shown = await page.text("#clock")
    paris = datetime.now(ZoneInfo("Europe/Paris"))
    assert shown in {(paris - timedelta(seconds=d)).strftime("%H:%M:%S") for d in range(4)}
    assert page.errors == []
