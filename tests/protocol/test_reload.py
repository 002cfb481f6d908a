"""Reloads of Asterisk never fail healthy callers open (finding 4 of issue 13).

Recording live 15: with the first ``globals_acd.conf`` (``ACD_HEARTBEAT=0``) a
``dialplan reload`` set the router's heartbeat back to 0 and 3 of 20 waiting callers
went to the fail-open queue within 0.75 s although the router was healthy. The
simulator reloads as Asterisk does (checked against the recording), the shipped
globals no longer name the heartbeat, and the router refreshes it at once when
Asterisk says it reloaded.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Mapping

from acd.aiotasks import cancel_and_wait
from acd.ami.events import Reload, decode_frame
from acd.ami.frames import parse_frame
from acd.config import AmiConfig
from acd.config.load import parse_config
from acd.sim import FixedBehaviour, OfferOutcome, PbxOptions, start_sim
from acd.sim.clock import SimClock
from acd.sim.pbx import Pbx
from acd.sim.reload import core_reload, dialplan_reload
from acd.testing import build_stack
from tests.support.amiclient import sim_config
from tests.support.dialplan import GLOBALS, strip_comment
from tests.support.paths import LIVE
from tests.support.sites import local_agents, site_toml
from tests.support.wait import until

START = 1796166500.0
RECORDING = LIVE / "15-dialplan-reload-heartbeat.events.ami"
#: the instant of the reload in recording 15 (Asterisk's time, whole second)
RELOAD_SECOND = "1796166539."
SECRET = "reload-secret"
#: two agents on the simulator's phones; the router's own heartbeat is slow (60 s) so
#: only the reload writes the heartbeat variable
SITE = site_toml("SAS reload", sections={"routing": {"heartbeat_s": 60}},
                 skills={"ARM_N1": {"wrap_up_s": 1}}, agents=local_agents("1001", "1002"))


def recorded_reload() -> list[tuple[str, str]]:
    """The global VarSets (``Channel: none``) Asterisk sent at the reload of live 15."""
    frames = RECORDING.read_bytes().split(b"\r\n\r\n")
    out: list[tuple[str, str]] = []
    first: float | None = None
    for frame in frames:
        if b"Event: VarSet" not in frame or b"Channel: none" not in frame:
            continue
        message = parse_frame(frame + b"\r\n\r\n")
        stamp = message.get("Timestamp", "")
        if not stamp.startswith(RELOAD_SECOND):
            continue
        first = float(stamp) if first is None else first
        if float(stamp) - first < 0.01:  # the reload's block, not the heartbeat after it
            out.append((message["Variable"], message["Value"]))
    return out


def shipped_globals() -> dict[str, str]:
    lines = [strip_comment(line) for line in GLOBALS.read_text(encoding="utf-8").splitlines()]
    return dict(line.split("=", 1) for line in lines if line)


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, str]]] = []

    def __call__(self, name: str, privilege: str, headers: list[tuple[str, str]],
                 stamp: float) -> None:
        self.events.append((name, dict(headers)))


def test_the_recorded_reload_set_every_acd_global_again_heartbeat_included() -> None:
    acd = [(n, v) for n, v in recorded_reload() if n.startswith("ACD_")]
    assert ("ACD_HEARTBEAT", "0") in acd
    # the lab's globals_acd.conf then: the shipped one minus nothing but the heartbeat
    assert [n for n, _ in acd if n != "ACD_HEARTBEAT"] == list(shipped_globals())


def test_the_shipped_globals_leave_the_heartbeat_alone() -> None:
    assert "ACD_HEARTBEAT" not in shipped_globals()
    assert not re.search(r"^\s*ACD_HEARTBEAT\s*=", GLOBALS.read_text(encoding="utf-8"),
                         re.MULTILINE)


def test_the_simulator_loads_the_shipped_globals() -> None:
    pbx = Pbx(sim_config().agents, clock=SimClock(start_epoch=START))
    assert list(pbx.loaded_globals) == list(shipped_globals())
    assert "ACD_HEARTBEAT" not in pbx.globals


def test_a_simulated_reload_sends_the_varsets_asterisk_sent() -> None:
    pbx = Pbx(sim_config().agents, clock=SimClock(start_epoch=START))
    recorder = Recorder()
    pbx.subscribe(recorder)
    recorded = recorded_reload()
    dialplan_reload(pbx, dict(recorded))
    sent = [(h["Variable"], h["Value"]) for name, h in recorder.events if name == "VarSet"]
    assert sent == recorded
    assert all(h["Channel"] == "none" for name, h in recorder.events)
    assert [name for name, _ in recorder.events] == ["VarSet"] * len(recorded)  # no Reload
    assert pbx.globals["ACD_HEARTBEAT"] == "0"


async def _reload_under_load(file_globals: Mapping[str, str] | None) -> int:
    """20 callers waiting, a heartbeat every second, a reload just after one: how many
    callers fail open before the next heartbeat."""
    clock = SimClock(speed=200.0, start_epoch=START)
    pbx = Pbx(sim_config().agents, clock=clock, seed=3,
              behaviour=FixedBehaviour(OfferOutcome(kind="noanswer")),
              options=PbxOptions(failopen_s=10.0, hold_loop_s=5.0))
    heartbeat = pbx.names.heartbeat_var

    def beat() -> None:
        pbx.set_var(None, heartbeat, str(int(clock.now())))
        clock.call_later(1.0, beat)

    beat()
    def place(n: int) -> None:
        pbx.place_call("15", f"Reload {n}", f"06150000{n:02d}", patience_s=120)

    for n in range(20):
        clock.call_later(0.25 * n, functools.partial(place, n))
    await clock.sleep(8.05)
    assert not pbx.native.joined
    dialplan_reload(pbx, file_globals)
    await clock.sleep(0.9)
    failed_open = len(pbx.native.joined)
    pbx.stop()
    return failed_open


async def test_with_the_recorded_globals_a_reload_fails_callers_open() -> None:
    """The simulator reproduces live 15."""
    assert await _reload_under_load(dict(recorded_reload())) > 0


async def test_with_the_shipped_globals_a_reload_fails_nobody_open() -> None:
    assert await _reload_under_load(None) == 0


def test_reload_event_is_decoded() -> None:
    frame = (b"Event: Reload\r\nPrivilege: system,all\r\nTimestamp: 1796166539.2\r\n"
             b"Module: All\r\nStatus: 0\r\n\r\n")
    event = decode_frame(frame)
    assert isinstance(event, Reload)
    assert (event.module, event.status) == ("All", "0")


async def test_the_router_refreshes_the_heartbeat_when_asterisk_reloads() -> None:
    """A site whose [globals] still names the heartbeat: the ``Reload`` event of a
    ``core reload`` brings it back at once (the periodic one is a minute away here)."""
    config = parse_config(SITE)
    sim = await start_sim(config, "127.0.0.1", 0, seed=1, speed=1.0, secret=SECRET,
                          options=PbxOptions(failopen_s=10.0),
                          behaviour=FixedBehaviour(OfferOutcome(kind="noanswer")))
    stack = build_stack(config, ami=AmiConfig(port=sim.port, keepalive_s=5.0), secret=SECRET,
                        records=False)
    tasks = [asyncio.create_task(stack.ami.run()),
             asyncio.create_task(stack.service.parts.heartbeat.run())]
    heartbeat = config.dialplan.heartbeat_var
    try:
        await until(lambda: sim.pbx.globals.get(heartbeat, "0") != "0")
        await asyncio.sleep(0.1)  # the first heartbeat of the session has landed
        core_reload(sim.pbx, {**sim.pbx.loaded_globals, heartbeat: "0"})
        assert sim.pbx.globals[heartbeat] == "0"
        await until(lambda: sim.pbx.globals[heartbeat] != "0", timeout=10.0)
    finally:
        await stack.ami.stop()
        await cancel_and_wait(*tasks)
        await sim.close()


async def test_after_an_asterisk_restart_the_router_rearms_the_heartbeat_at_once() -> None:
    """A restarted Asterisk has only extensions.conf's globals (no heartbeat): the router
    sends one as soon as it has logged in again, not a heartbeat period later."""
    config = parse_config(SITE)
    sim = await start_sim(config, "127.0.0.1", 0, seed=1, speed=1.0, secret=SECRET,
                          options=PbxOptions(failopen_s=10.0))
    stack = build_stack(config, ami=AmiConfig(port=sim.port, keepalive_s=0.5,
                                              keepalive_timeout_s=0.5,
                                              reconnect_initial_s=0.05, reconnect_max_s=0.2),
                        secret=SECRET, records=False)
    tasks = [asyncio.create_task(stack.ami.run()),
             asyncio.create_task(stack.service.parts.heartbeat.run())]
    heartbeat = config.dialplan.heartbeat_var
    try:
        await until(lambda: heartbeat in sim.pbx.globals)
        await sim.restart(down_s=0.2)
        assert heartbeat not in sim.pbx.globals  # Asterisk's own globals only
        await until(lambda: heartbeat in sim.pbx.globals, timeout=10.0)
        assert sim.restarts == 1
    finally:
        await stack.ami.stop()
        await cancel_and_wait(*tasks)
        await sim.close()
