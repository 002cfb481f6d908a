"""``acd demo --console``: the console of the demo's router is reachable while the
morning plays, at the address it prints, with the supervisor token it prints."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.support.paths import REPO
from tests.support.sse import SseReader

pytestmark = pytest.mark.slow
#: a quarter of an hour of the small site, busy at N1, at ×60: about fifteen seconds
SCENARIO = """
site = "config/sas-small.toml"
name = "console demo quarter"
start = "2026-03-10T09:30:00"
duration_s = 900
speed = 60
seed = 7
drain_s = 120

[calls]
per_day = { "15" = 700 }
patience_s = [200, 400]

[agents]
answer_after_s = [1, 2]
talk_s = { ARM_N1 = [100, 200] }
transfers = { ARM_N1 = { OSNP = 0.3 } }

[[staffing]]
at = "09:30"
counts = { ARM_N1 = 3, OSNP = 1 }
"""
LINE = re.compile(r"console: (http://127\.0\.0\.1:\d+/) \(wall screen: /wallboard\), "
                  r"supervisor token: (demo-\S+)$")


def filled_then_emptied(waiting: list[int]) -> bool:
    """Callers waited at some point, and later nobody did (seen live)."""
    first = next((n for n, count in enumerate(waiting) if count), None)
    return first is not None and 0 in waiting[first:]


async def test_the_demo_serves_its_console_while_it_plays(tmp_path: Path) -> None:
    scenario = tmp_path / "quarter.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    demo = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "acd.cli", "demo", "--scenario", str(scenario), "--console",
        "--console-port", "0", cwd=REPO, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    assert demo.stdout is not None
    lines: list[str] = []
    waiting_seen: list[int] = []
    try:
        async with asyncio.timeout(30):
            while not (match := LINE.match(lines[-1] if lines else "")):
                raw = await demo.stdout.readline()
                assert raw, f"the demo ended without a console line: {lines}"
                lines.append(raw.decode().rstrip("\n"))
        url, token = match.group(1), match.group(2)
        assert lines[:2] == ["console demo quarter",
                             "site SAS 48 Lozère — SAMU de Mende (config/sas-small.toml), "
                             "speed ×60, seed 7"]
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as page:
                assert page.status == 200 and "console.js" in await page.text()
            async with http.post(url + "console/session", json={"token": token}) as opened:
                assert opened.status == 200
                assert (await opened.json())["role"] == "supervisor"
            async with http.get(url + "api/v1/events?room=1", headers={
                    "Authorization": f"Bearer {token}"}) as stream:
                sse = SseReader(stream)
                async with asyncio.timeout(30):
                    while not filled_then_emptied(waiting_seen):
                        view = await sse.until("room")
                        assert view["speed"] == 60
                        waiting_seen.append(sum(q["waiting"] for q in view["queues"]))
        out, err = await demo.communicate()
    finally:
        if demo.returncode is None:
            demo.kill()
            await demo.wait()
    assert demo.returncode == 0, err.decode()
    assert "Summary — console demo quarter" in out.decode()
    assert token not in out.decode() + err.decode()  # printed once, logged nowhere
    assert filled_then_emptied(waiting_seen)
