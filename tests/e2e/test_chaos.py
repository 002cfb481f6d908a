"""Faults on demand: ``acd run`` processes killed, Asterisk restarted, a pair's leader
killed; the simulator's own log of channels is the judge.

Real processes (``acd run`` subprocesses), real TCP to the simulator, a real Redis for
the pair. Scenarios are small and fast (a few seconds of wall time each).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import msgspec
import pytest

from acd.config import AmiConfig, HttpConfig
from acd.config.load import load_config, parse_config
from acd.core.records import iso
from acd.errors import ConfigError
from acd.sim import FixedBehaviour, OfferOutcome, PbxOptions, start_sim
from acd.sim.model import Phase
from acd.tools.simulate.chaos import ChaosError, Fault, parse_chaos
from acd.tools.simulate.chaos_judge import judge
from acd.tools.simulate.chaos_run import ChaosRun
from acd.tools.simulate.router_process import RouterProcess
from acd.tools.simulate.scenario import load_scenario
from acd.tools.tomlwrite import dumps
from tests.support.busyroom import write_busy_room
from tests.support.paths import REPO
from tests.support.sites import local_agents, site_toml

SPEED = 20.0



def write_scenario(tmp_path: Path, *, duration: int = 90, speed: float = SPEED,
                   chaos: str = "") -> Path:
    return write_busy_room(tmp_path / "chaos.toml", name="chaos in a small room",
                           duration_s=duration, speed=speed, seed=5, chaos=chaos)


# ---------------------------------------------------------------- the fault list


def test_chaos_list_is_read_in_time_order() -> None:
    faults = parse_chaos("pbx-restart@200,router-kill@60+5, redis-stop@120+30,leader-kill@300")
    assert faults == [Fault("router-kill", 60, 5), Fault("redis-stop", 120, 30),
                      Fault("pbx-restart", 200, 0), Fault("leader-kill", 300, None)]
    assert json.dumps(faults[0].line()) == \
        '{"fault": "router-kill", "at_s": 60, "duration_s": 5}'
    assert parse_chaos("") == []


@pytest.mark.parametrize(("text", "problem"), [
    ("router-kill", "is not <kind>@<seconds>"),
    ("router-kil@60", "unknown fault 'router-kil'"),
    ("redis-stop@60", "redis-stop needs a duration"),
    ("pbx-restart@-5", "is not <kind>@<seconds>"),
])
def test_a_bad_chaos_item_is_named(text: str, problem: str) -> None:
    with pytest.raises(ChaosError, match=problem):
        parse_chaos(text)


def test_scenario_chaos_key_is_checked(tmp_path: Path) -> None:
    assert load_scenario(write_scenario(tmp_path, chaos="router-kill@30+5")).chaos
    with pytest.raises(ConfigError) as err:
        load_scenario(write_scenario(tmp_path, chaos="router-kill@soon"))
    assert "chaos" in str(err.value)


def test_shipped_chaos_scenario_reads() -> None:
    scenario = load_scenario(REPO / "config" / "scenarios" / "sas-small-router-faults.toml")
    assert [f.kind for f in parse_chaos(scenario.chaos)] == ["router-kill", "pbx-restart"]


def test_generated_router_configs_read_back_identical() -> None:
    for path in sorted((REPO / "config").glob("*.toml")):
        config = load_config(path)
        assert parse_config(dumps(msgspec.to_builtins(config)).encode(), str(path)) == config


# ---------------------------------------------------------------- router kill -9

ROOM = site_toml("SAS kill",
                 sections={"ami": {"keepalive_s": 1, "keepalive_timeout_s": 1,
                                   "reconnect_initial_s": 0.05, "reconnect_max_s": 0.3},
                           "http": {"port": 0},
                           "routing": {"ring_grace_s": 5, "orphan_requeue_s": 5}},
                 skills={"ARM_N1": {"wrap_up_s": 0}},
                 agents=local_agents("1001", "1002"))


async def test_router_killed_mid_run_every_caller_served_in_order(tmp_path: Path) -> None:
    config = parse_config(ROOM)
    secret = secrets.token_urlsafe(8)
    behaviour = FixedBehaviour(OfferOutcome(answer_after_s=1.0, talk_s=25.0, ender="agent"))
    sim = await start_sim(config, "127.0.0.1", 0, seed=2, speed=SPEED, secret=secret,
                          behaviour=behaviour, options=PbxOptions(failopen_s=None),
                          auth_failure_delay_s=0.05)
    router_config = msgspec.structs.replace(
        config, ami=msgspec.structs.replace(config.ami, port=sim.port),
        http=HttpConfig(port=0))
    router = RouterProcess("router", tmp_path, {**os.environ, "ACD_AMI_SECRET": secret}, SPEED)
    pbx = sim.pbx
    try:
        await router.start(router_config)
        await router.wait_for(lambda line: line.get("event") == "ami_resynced")
        calls = []
        for n in range(7):  # two get agents, five wait, in this order
            calls.append(pbx.place_call("15", f"Appelant {n}", f"060000000{n}",
                                        patience_s=3600))
            await asyncio.sleep(2.0 / SPEED)
        await router.wait_for(lambda line: line.get("event") == "call_queued"
                              and line.get("call") == calls[-1].trunk.uniqueid)
        await asyncio.sleep(0.1)
        waiting = [c for c in calls if c.phase is Phase.WAITING]
        assert len(waiting) == 5
        await router.kill()  # kill -9 in the middle: two talking, five waiting
        await asyncio.sleep(5 / SPEED)
        await router.start(router_config)
        await router.wait_for(lambda line: line.get("event") == "ami_resynced")
        async with asyncio.timeout(20):
            while pbx.live_calls():
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
    finally:
        await router.stop()
        await sim.close()
    records = {r.channel: r for r in judge(sim, [router], config)}
    assert [records[c.channel].outcome for c in calls] == ["answered"] * 7
    # the waiting calls were offered after the restart in their arrival order
    offered = sorted(waiting, key=lambda c: c.first_dialled or 0.0)
    assert offered == waiting
    # with their original arrival time (ACD_ARRIVED, in milliseconds, as the dialplan
    # set it when the caller joined the queue), in the restarted router's own records
    arrived_var = config.dialplan.arrived_var
    for call in waiting:
        record = records[call.channel]
        assert not record.ended_unobserved
        stamped = float(call.trunk.variables[arrived_var])
        assert int(call.arrived) <= stamped <= call.arrived + 5  # at the announcement
        assert record.arrived_at == iso(stamped, config.zone())
        assert record.wait_s is not None and record.wait_s > 5  # the downtime counts
    assert pbx.callers_hung_up_by("router-action") == []
    assert pbx.routed_twice == []
    assert router.starts == 2


# ---------------------------------------------------------------- Asterisk restarts


async def test_pbx_restart_shutdown_reconnect_fullybooted_resync(tmp_path: Path) -> None:
    scenario = load_scenario(write_scenario(tmp_path, duration=60))
    config = load_config(REPO / "config" / "sas-small.toml")
    fired: list[Fault] = []
    run = ChaosRun(config, scenario, parse_chaos("pbx-restart@30"), seed=5, speed=SPEED,
                   workdir=tmp_path, on_fault=fired.append)
    result = await run.run()
    assert fired == [Fault("pbx-restart", 30, 0)]
    events = [line.get("event") for line in run.routers[0].lines]
    shutdown = events.index("ami_asterisk_shutdown")
    assert "ami_connection_lost" in events[shutdown:]
    relogin = events.index("ami_logged_in", shutdown)
    resync = [line for line in run.routers[0].lines[relogin:]
              if line.get("event") == "ami_resynced"]
    assert resync and resync[0]["why"] == "FullyBooted"
    restarted = {h.channel for h in run.sim.pbx.hangups  # type: ignore[union-attr]
                 if h.by == "pbx" and h.reason == "restart" and h.role == "caller"}
    lost = {r.channel for r in result.records if r.outcome == "lost"}
    assert lost == restarted
    assert all(r.lost_reason == "pbx-restart" for r in result.records if r.outcome == "lost")
    assert {r.outcome for r in result.records} <= {"answered", "abandoned", "lost"}
    assert result.summary.accounted() and result.summary.counts.offered == result.calls_placed
    assert result.hung_up_by_router == []
    # after the restart the router routed again: calls that arrived 5 s later were
    # answered (the day starts once the router is up: the restart's time is Asterisk's)
    restart = max(h.at for h in run.sim.pbx.hangups  # type: ignore[union-attr]
                  if h.reason == "restart")
    late = [r for r in result.records
            if datetime.fromisoformat(r.arrived_at).timestamp() > restart + 5]
    assert late and all(r.outcome == "answered" for r in late)


async def test_dialplan_reload_fails_nobody_open(tmp_path: Path) -> None:
    """``dialplan-reload@T``: Asterisk's globals set again mid-run, the router healthy:
    nobody goes to the fail-open queue, routing goes on."""
    scenario = load_scenario(write_scenario(tmp_path, duration=50))
    config = load_config(REPO / "config" / "sas-small.toml")
    fired: list[Fault] = []
    run = ChaosRun(config, scenario, parse_chaos("dialplan-reload@20"), seed=5, speed=SPEED,
                   workdir=tmp_path, on_fault=fired.append)
    result = await run.run()
    assert fired == [Fault("dialplan-reload", 20)]
    assert run.sim is not None and "ACD_HEARTBEAT" not in run.sim.pbx.loaded_globals
    assert result.failed_open == 0
    assert result.router_starts == 1 and result.hung_up_by_router == []
    assert result.summary.accounted() and result.summary.counts.offered == result.calls_placed
    late = [r for r in result.records if r.arrived_at > "2026-03-10T09:00:25"]
    assert late and all(r.outcome == "answered" for r in late)


# ---------------------------------------------------------------- the pair


async def test_leader_killed_the_standby_takes_over(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = load_scenario(write_scenario(tmp_path, duration=60, speed=15))
    config = load_config(REPO / "config" / "sas-small.toml")
    run = ChaosRun(config, scenario, parse_chaos("leader-kill@20"), seed=5, speed=15,
                   workdir=tmp_path)
    result = await run.run()
    assert len(result.takeovers_s) == 1
    with capsys.disabled():
        print(f"\n[pair] standby took over {result.takeovers_s[0]:.2f} s after the "
              f"leader's SIGKILL (lock TTL 2 s)")
    assert result.routed_twice == []
    assert result.hung_up_by_router == []
    assert {r.outcome for r in result.records} <= {"answered", "abandoned"}
    assert result.summary.accounted() and result.summary.counts.offered == result.calls_placed
    # the killed one exited on SIGKILL, the survivor on the run's SIGTERM
    codes = {r.name: r.process.returncode for r in run.routers if r.process is not None}
    exited = [code for code in codes.values() if code is not None]
    assert len(exited) == len(codes) and sorted(exited) == [-signal.SIGKILL, 0], codes
    survivor = next(r for r in run.routers if codes[r.name] == 0)
    leading = [line for line in survivor.lines if line.get("event") == "router_leading"]
    assert leading  # the survivor became leader, and it routed the calls after the kill
    assert any(line.get("event") == "call_answered" and line["_at"] > leading[-1]["_at"]
               for line in survivor.lines)


# ---------------------------------------------------------------- the command line


def simulate_chaos(tmp_path: Path, chaos: str) -> list[str]:
    """``acd simulate --json --chaos CHAOS`` on a 60 s scenario: its output lines."""
    scenario = write_scenario(tmp_path, duration=60)
    result = subprocess.run(
        [sys.executable, "-m", "acd.cli", "simulate", "--scenario", str(scenario), "--json",
         "--chaos", chaos],
        capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_simulate_chaos_prints_each_fault_and_accounts_for_every_call(tmp_path: Path) -> None:
    lines = simulate_chaos(tmp_path, "router-kill@15+5,pbx-restart@40")
    assert lines[0] == '{"fault": "router-kill", "at_s": 15, "duration_s": 5}'
    assert lines[1] == '{"fault": "pbx-restart", "at_s": 40, "duration_s": 0}'
    records = [json.loads(line) for line in lines[2:-1]]
    summary = json.loads(lines[-1])["summary"]
    assert summary["calls_placed"] == len(records) == summary["offered"]
    assert {r["outcome"] for r in records} <= {"answered", "abandoned", "lost"}
    assert all(r["lost_reason"] == "pbx-restart" for r in records if r["outcome"] == "lost")
    assert summary["lost"] == summary["lost_pbx_restart"]
    assert summary["callers_hung_up_by_router"] == 0
    assert summary["router_starts"] == 2
    assert summary["faults"] == [json.loads(lines[0]), json.loads(lines[1])]


def test_redis_stopped_routing_goes_on_and_every_record_reaches_redis(
        tmp_path: Path) -> None:
    """Redis killed for 30 s of a run (the run's own server): routing never pauses,
    nothing is lost, and once Redis is back the router's journal catches up: every
    finished call's record is in Redis at the end."""
    lines = simulate_chaos(tmp_path, "redis-stop@10+30")
    assert lines[0] == '{"fault": "redis-stop", "at_s": 10, "duration_s": 30}'
    records = [json.loads(line) for line in lines[1:-1]]
    summary = json.loads(lines[-1])["summary"]
    assert summary["calls_placed"] == len(records) == summary["offered"] > 5
    assert summary["lost"] == 0 and summary["callers_hung_up_by_router"] == 0
    assert summary["router_starts"] == 1  # the router never stopped
    assert summary["answered"] > 0
    ended = [r for r in records if r["ended_at"] is not None]
    assert summary["records_in_redis"] == len(ended) > 0


def test_simulate_refuses_a_bad_chaos_list(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "acd.cli", "simulate", "--scenario",
         str(write_scenario(tmp_path)), "--chaos", "router-kill@"],
        capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
    assert result.returncode == 1
    assert "--chaos" in result.stderr and "router-kill@" in result.stderr


def test_amiconfig_of_router_processes_is_valid() -> None:
    # the generated [ami] keeps keepalive_timeout_s < 4 × keepalive_s at any speed
    for speed in (1.0, 60.0, 1000.0):
        ami = AmiConfig(keepalive_s=max(1.0, 5.0 / speed), keepalive_timeout_s=3.0)
        assert ami.keepalive_timeout_s < 4 * ami.keepalive_s
