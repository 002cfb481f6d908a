"""``acd simulate`` proves the router harms no caller and touches nothing else when it
comes back: after a fail-open (with Redis), an AMI link cut and a PBX crash, with
foreign channels on the PBX. Real router processes, real TCP, a real Redis."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import secrets
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import msgspec

from acd.config.load import load_config, parse_config
from acd.sim import FixedBehaviour, OfferOutcome, PbxOptions, start_sim
from acd.tools.report import build_report
from acd.tools.simulate.chaos import Fault, parse_chaos
from acd.tools.simulate.chaos_run import ChaosResult, run_chaos
from acd.tools.simulate.command import harmed, summary_json
from acd.tools.simulate.router_process import RouterProcess
from acd.tools.simulate.scenario import load_scenario
from acd.tools.summary import Summary
from tests.support.busyroom import write_busy_room
from tests.support.paths import REPO
from tests.support.sites import local_agents, site_toml


async def chaos(tmp_path: Path, faults: str, *, duration: int, per_day: int) -> ChaosResult:
    path = write_busy_room(tmp_path / "evidence.toml", name="evidence", duration_s=duration,
                           speed=20, seed=9, per_day=per_day, arm=2, foreign_channels=5)
    scenario = load_scenario(path)
    config = load_config(REPO / scenario.site)
    return await run_chaos(config, scenario, parse_chaos(faults), workdir=tmp_path)


def assert_harmless(result: ChaosResult) -> None:
    assert result.foreign_touched == 0
    assert result.native_moved == 0
    assert result.phantom_records == 0
    assert result.routed_twice == []
    assert result.hung_up_by_router == []
    assert len({r.uniqueid for r in result.records}) == len(result.records) \
        == result.calls_placed


async def test_failopen_return_and_ami_drop_touch_no_foreign_channel_nor_native_call(
        tmp_path: Path) -> None:
    """Callers wait, the router is killed long enough for them to fail open and be
    answered in the native queue, comes back with its Redis state, then the AMI link
    is cut: no foreign channel (nor a caller's ``;1`` half) touched, no native call
    moved, no phantom record."""
    result = await chaos(tmp_path, "router-kill@30+25,ami-drop@70+1", duration=100,
                         per_day=6000)
    assert result.failed_open > 0
    assert_harmless(result)
    assert {r.outcome for r in result.records} <= {"answered", "abandoned"}


async def test_after_a_pbx_crash_every_free_agent_takes_calls_again(tmp_path: Path) -> None:
    """Finding 9: agents talking when Asterisk died are free at the resync; the calls
    placed after the crash are all answered (none left waiting, none lost but the
    crash's own)."""
    result = await chaos(tmp_path, "pbx-crash@30+1", duration=90, per_day=5000)
    assert_harmless(result)
    cut = [r for r in result.records if r.lost_reason == "pbx-crash"]
    after = [r for r in result.records if r.lost_reason is None]
    assert all(r.outcome == "lost" for r in cut)
    assert {r.outcome for r in after} <= {"answered", "abandoned"}
    assert result.summary.counts.waiting == 0
    # the agents who were talking when Asterisk died take calls again
    talking = {r.agent for r in cut if r.agent is not None}
    assert talking and talking <= {r.agent for r in after}


def test_the_new_faults_parse_with_their_default_durations() -> None:
    assert parse_chaos("ami-drop@40,pbx-crash@10+3") == [
        Fault("pbx-crash", 10, 3), Fault("ami-drop", 40, 0)]


def test_any_harm_makes_the_run_fail() -> None:
    result = ChaosResult(records=[], summary=Summary(), hung_up_by_router=[],
                         routed_twice=[], faults=[])
    assert not harmed(result)
    for field, bad in [("foreign_touched", dataclasses.replace(result, foreign_touched=1)),
                       ("native_moved", dataclasses.replace(result, native_moved=1)),
                       ("phantom_records", dataclasses.replace(result, phantom_records=1))]:
        assert harmed(bad)
        assert summary_json(bad.summary, bad)[field] == 1


def test_the_shipped_failopen_return_scenario() -> None:
    scenario = load_scenario(REPO / "config" / "scenarios" / "sas-small-failopen-return.toml")
    kinds = [fault.kind for fault in parse_chaos(scenario.chaos)]
    assert scenario.foreign_channels > 0
    assert kinds[0] == "router-kill" and "ami-drop" in kinds and "dialplan-reload" in kinds



ROOM = site_toml("SAS lost",
                 sections={"ami": {"keepalive_s": 1, "keepalive_timeout_s": 1,
                                   "reconnect_initial_s": 0.05, "reconnect_max_s": 0.3},
                           "http": {"port": 0}, "routing": {"ring_grace_s": 5}},
                 skills={"ARM_N1": {"wrap_up_s": 0}}, agents=local_agents("1001"))
SPEED = 10.0


async def test_the_router_records_the_callers_asterisk_cut_as_lost(tmp_path: Path) -> None:
    """A real ``acd run`` process against the simulator: Asterisk restarts (``core
    restart now``) with one caller talking and one waiting, then is killed with two
    more. The records the router wrote itself (``--records-out``) mark the first two
    ``lost`` / ``pbx-restart`` (the shutdown flag before their Hangup) and the other
    two ``lost`` / ``pbx-crash`` (a new Asterisk at the next login); those talking keep
    their agent and wait. In the DGOS report none is an abandon."""
    config = parse_config(ROOM)
    secret = secrets.token_urlsafe(8)
    sim = await start_sim(config, "127.0.0.1", 0, seed=4, speed=SPEED, secret=secret,
                          behaviour=FixedBehaviour(OfferOutcome(answer_after_s=1.0,
                                                                talk_s=3600.0)),
                          options=PbxOptions(failopen_s=None), auth_failure_delay_s=0.05)
    router = RouterProcess("router", tmp_path, {**os.environ, "ACD_AMI_SECRET": secret},
                           SPEED)
    router_config = msgspec.structs.replace(
        config, ami=msgspec.structs.replace(config.ami, port=sim.port))

    def logged(event: str, after: float, **fields: str) -> Callable[[dict[str, Any]], bool]:
        return lambda line: line.get("event") == event and line["_at"] > after and all(
            line.get(k) == v for k, v in fields.items())

    async def talking_and_waiting(after: float) -> list[str]:
        talking = sim.pbx.place_call("15", "Talking", "0600000001", patience_s=3600)
        await router.wait_for(logged("call_answered", after, call=talking.trunk.uniqueid))
        waiting = sim.pbx.place_call("15", "Waiting", "0600000002", patience_s=3600)
        await router.wait_for(logged("call_queued", after, call=waiting.trunk.uniqueid))
        return [talking.trunk.uniqueid, waiting.trunk.uniqueid]

    try:
        await router.start(router_config)
        await router.wait_for(logged("ami_resynced", 0.0))
        restarted = await talking_and_waiting(0.0)
        mark = time.monotonic()
        await sim.restart(down_s=0.2)
        await router.wait_for(logged("ami_resynced", mark))
        crashed = await talking_and_waiting(mark)
        await asyncio.sleep(10 / SPEED)  # this Asterisk ran 10 s before it died
        mark = time.monotonic()
        await sim.crash(down_s=0.2)
        await router.wait_for(logged("ami_resynced", mark))
        for uid in crashed:
            await router.wait_for(logged("call_ended", mark, call=uid))
    finally:
        await router.stop()
        await sim.close()
    records = {r.uniqueid: r for r in router.records()}
    for uids, reason in ((restarted, "pbx-restart"), (crashed, "pbx-crash")):
        talking, waiting = records[uids[0]], records[uids[1]]
        assert (talking.outcome, talking.lost_reason, talking.agent) == ("lost", reason, "1001")
        assert talking.wait_s is not None
        assert (waiting.outcome, waiting.lost_reason, waiting.agent) == ("lost", reason, None)
    assert all(records[uid].ended_unobserved for uid in crashed)
    report = build_report(records.values(), date(2026, 1, 1), date(2030, 12, 31))
    figures = next(f["all"].counts for f in report.months.values() if f["all"].counts.offered)
    assert (figures.offered, figures.answered, figures.abandoned) == (4, 2, 0)
    assert (figures.lost, figures.lost_unanswered) == (4, 2)
