"""``acd run`` as a user runs it: a real process, real TCP to an AMI peer, SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp

from tests.support.acdrun import SECRET, read_log_until, run_config, start_router
from tests.support.amipeer import AmiPeer, recorded_events


async def test_run_routes_serves_healthz_and_stops_on_sigterm(tmp_path: Path) -> None:
    stream = recorded_events("02-call-answered-via-redirect.events.ami")
    stream = stream[:stream.index(b"Event: MusicOnHoldStart")]  # a caller now waiting
    peer = await AmiPeer(secret=SECRET, stream=stream, stream_after_status=True).start()
    config = tmp_path / "site.toml"
    config.write_text(run_config(peer.port))
    env = {**os.environ, "ACD_AMI_SECRET": SECRET}
    router = await start_router(config, env)
    lines: list[dict[str, object]] = []
    try:
        started = await read_log_until(router, "router_started", lines)
        assert started["state"] == "in memory (no Redis configured)"
        port = int(str(started["http"]).rsplit(":", 1)[1])
        await read_log_until(router, "call_queued", lines)
        async with aiohttp.ClientSession() as http, \
                http.get(f"http://127.0.0.1:{port}/healthz") as response:
            health = await response.json()
            assert response.status == 200
        assert health["ami_connected"] is True and health["site"] == "SAS lab"
        async with asyncio.timeout(5):  # the peer reads actions at its own pace
            while not any(a["Action"] == "Redirect" for a in peer.all_actions()):
                await asyncio.sleep(0.02)
        # the fail-open heartbeat: a global Setvar (no Channel) with the PBX's time
        beats = [a for a in peer.all_actions()
                 if a["Action"] == "Setvar" and a.get("Variable") == "ACD_HEARTBEAT"]
        assert beats and "Channel" not in beats[0] and beats[0]["Value"].isdigit()
        actions = [a for a in peer.all_actions() if a["Action"] in ("Setvar", "Redirect")
                   and a not in beats]
        assert actions[0] == {"Action": "Setvar", "ActionID": actions[0]["ActionID"],
                              "Channel": "Local/15@incoming-00000000;2",
                              "Variable": "ACD_DIAL", "Value": "Local/1001@agents"}
        assert (actions[1]["Context"], actions[1]["Exten"]) == ("acd-connect", "1001")
        router.send_signal(signal.SIGTERM)
        began = time.monotonic()
        async with asyncio.timeout(6):
            out, err = await router.communicate()
        assert time.monotonic() - began < 6
        assert router.returncode == 0
        lines += [json.loads(line) for line in out.decode().splitlines()]
    finally:
        if router.returncode is None:
            router.kill()
            await router.wait()
        await peer.close()
    events = [line["event"] for line in lines]
    assert events[-1] == "router_stopped"
    assert "ami_logged_in" in events
    assert "agent_state" in events  # 1001 was offered the call
    assert any(a["Action"] == "Logoff" for a in peer.all_actions())
    everything = json.dumps(lines) + err.decode()
    assert SECRET not in everything
    assert "0612340201" not in everything  # the caller's number never reaches the logs


async def test_run_refuses_a_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[site]\nname = "x"\ndepartement = "21"\n[routing]\nring_timeout_s = -1\n')
    router = await start_router(config, dict(os.environ))
    _out, err = await router.communicate()
    assert router.returncode == 1
    assert f"{config}: routing.ring_timeout_s: Expected `float` > 0.0" in err.decode()


async def test_run_without_secret_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(run_config(5038))
    env = {k: v for k, v in os.environ.items()
           if k not in ("ACD_AMI_SECRET", "CREDENTIALS_DIRECTORY")}
    router = await start_router(config, env)
    _out, err = await router.communicate()
    assert router.returncode == 1
    assert "secret_missing" in err.decode() and "ACD_AMI_SECRET" in err.decode()


async def test_refused_redirect_is_fed_back_and_the_call_offered_again() -> None:
    from acd.config.load import parse_config
    from acd.core.model import CallState
    from acd.testing import build_stack

    announce = recorded_events("02-call-answered-via-redirect.events.ami")
    announce = announce[:announce.index(b"Event: MusicOnHoldStart")]  # up to the waiting call
    peer = await AmiPeer(secret=SECRET, stream=announce, stream_after_status=True).start()
    peer.refuse.add("Redirect")
    config = parse_config(run_config(peer.port).encode()
                          + b'\n[[agents]]\nid = "1002"\ndevice = "Local/1002@agents"\n'
                          b'skills = { ARM_N1 = 1 }\nlogged_in = true\n')
    stack = build_stack(config, ami=config.ami, secret=SECRET, records=False)
    router = stack.router
    task = asyncio.create_task(stack.ami.run())
    try:
        async with asyncio.timeout(5):
            while sum(a["Action"] == "Redirect" for a in peer.all_actions()) < 2:
                await asyncio.sleep(0.05)
        redirects = [a["Exten"] for a in peer.all_actions() if a["Action"] == "Redirect"]
        assert redirects[:2] == ["1001", "1002"]
        (call,) = router.engine.calls.values()
        assert call.state in (CallState.OFFERED, CallState.HELD)  # never ended, never dropped
    finally:
        await stack.ami.stop()
        await task
        await peer.close()


async def test_acd_sim_serves_ami_to_acd_run(tmp_path: Path) -> None:
    """The two commands an evaluator runs by hand: the simulator, then the router."""
    import socket

    from acd.ami import actions as act
    from acd.ami.client import AmiConnection
    from acd.config import AmiConfig

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "site.toml"
    config.write_text(run_config(port))
    env = {**os.environ, "ACD_AMI_SECRET": SECRET}
    sim = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "acd.cli", "sim", "--config", str(config), "--port", str(port),
        "--speed", "10", stdout=asyncio.subprocess.PIPE, env=env)
    lines: list[dict[str, object]] = []
    router = None
    try:
        await read_log_until(sim, "sim_started", lines)
        router = await start_router(config, env)
        await read_log_until(router, "ami_resynced", lines)
        sink = _NullSink()
        driver = AmiConnection(AmiConfig(port=port), SECRET, sink)
        driver_task = asyncio.create_task(driver.run())
        async with asyncio.timeout(5):
            await sink.up.wait()
            await driver.request(act.Originate(channel="Local/15@incoming", context="caller",
                                               exten="s", caller_id='"Zoë" <0612340099>'))
        answered = await read_log_until(router, "call_answered", lines)
        assert answered["agent"] == "1001"
        await driver.stop()
        await driver_task
    finally:
        for process in (router, sim):
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
                async with asyncio.timeout(6):
                    await process.wait()
    assert sim.returncode == 0
    assert router is not None and router.returncode == 0


class _NullSink:
    """A driver connection's sink: it only needs to know the session is up."""

    resync_variables = ()

    def __init__(self) -> None:
        self.up = asyncio.Event()

    def on_event(self, event: object) -> None:
        pass

    def on_link_up(self, channels: object, taken_at: float) -> None:
        self.up.set()

    def on_link_down(self, reason: str) -> None:
        pass
