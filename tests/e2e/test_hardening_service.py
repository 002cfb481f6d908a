"""``acd run`` (a real process, on uvloop) against a fake Asterisk over real TCP: a bad
timestamp does not stop the heartbeat nor the clean stop, and a flood of events does
not keep ``/healthz`` waiting (findings 1 and 6 of the hardening review)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import aiohttp

from tests.support.acdrun import SECRET, read_log_until, run_config, start_router
from tests.support.amipeer import AmiPeer, waiting_event

DEVICE_STATE = (b"Event: DeviceStateChange\r\nPrivilege: call,all\r\n"
                b"Timestamp: 1795329358.0\r\nDevice: PJSIP/nobody\r\nState: INUSE\r\n\r\n")


async def _stop(router: asyncio.subprocess.Process) -> tuple[bytes, bytes]:
    router.send_signal(signal.SIGTERM)
    async with asyncio.timeout(8):
        return await router.communicate()


def _beats(peer: AmiPeer) -> int:
    return sum(a["Action"] == "Setvar" and a.get("Variable") == "ACD_HEARTBEAT"
               for a in peer.all_actions())


async def test_a_nan_timestamp_neither_stops_the_heartbeat_nor_the_clean_stop(
        tmp_path: Path) -> None:
    # the last event sets the PBX clock to nan for good (before: the heartbeat died)
    stream = (waiting_event("Local/15@incoming-2;2", "2.1")
              + DEVICE_STATE.replace(b"1795329358.0", b"nan"))
    peer = await AmiPeer(secret=SECRET, stream=stream, stream_after_status=True).start()
    config = tmp_path / "site.toml"
    config.write_text(run_config(peer.port))
    router = await start_router(config, {**os.environ, "ACD_AMI_SECRET": SECRET})
    lines: list[dict[str, object]] = []
    try:
        await read_log_until(router, "call_queued", lines)
        async with asyncio.timeout(5):
            await peer.streamed.wait()
        await asyncio.sleep(0.2)  # the bad event is read
        beats = _beats(peer)
        async with asyncio.timeout(5):  # the heartbeat goes on (every second)
            while _beats(peer) < beats + 2:
                await asyncio.sleep(0.05)
        out, err = await _stop(router)
    finally:
        if router.returncode is None:
            router.kill()
            await router.wait()
        await peer.close()
    assert router.returncode == 0
    assert b"Traceback" not in err
    lines += [json.loads(line) for line in out.decode().splitlines()]
    assert lines[-1]["event"] == "router_stopped"
    assert not [line for line in lines if line["event"] in ("task_failed", "input_failed")]


async def test_healthz_answers_while_a_flood_of_events_is_processed(tmp_path: Path) -> None:
    """150,000 known events arrive in one burst, then a caller. ``/healthz`` is asked
    again and again meanwhile: it must be answered several times before the router
    reaches the caller at the end of the burst (the loop yields between batches)."""
    flood = DEVICE_STATE * 150_000 + waiting_event("Local/15@incoming-1;2", "1.1")
    peer = await AmiPeer(secret=SECRET, flood=flood).start()
    config = tmp_path / "site.toml"
    config.write_text(run_config(peer.port))
    router = await start_router(config, {**os.environ, "ACD_AMI_SECRET": SECRET})
    lines: list[dict[str, object]] = []
    answered_during_flood = 0
    try:
        started = await read_log_until(router, "router_started", lines)
        port = int(str(started["http"]).rsplit(":", 1)[1])
        queued = asyncio.create_task(read_log_until(router, "call_queued", lines))
        async with aiohttp.ClientSession() as http:
            async with asyncio.timeout(10):
                await peer.flood_started.wait()
            while not queued.done():
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    await response.read()
                if not queued.done():
                    answered_during_flood += 1
            await queued
        await _stop(router)
    finally:
        if router.returncode is None:
            router.kill()
            await router.wait()
        await peer.close()
    assert answered_during_flood >= 5, answered_during_flood
