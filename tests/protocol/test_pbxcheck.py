"""``acd check-pbx``: against the simulator (which answers its actions as Asterisk
does), every check reports ok; each thing a site can get wrong gives its line; and the
list it looks for is the one of ``dialplans/``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from acd.config import AmiConfig, Config
from acd.config.dialplan import GLOBALS, QUEUE_SETTINGS, dialplan_extensions
from acd.config.load import load_config
from acd.sim import PbxOptions, SimServer, start_sim
from acd.tools.pbxcheck.checks import Finding, check_pbx, exit_status
from tests.support.dialplan import EXTENSIONS, QUEUES, parse_dialplan, strip_comment
from tests.support.dialplan import GLOBALS as GLOBALS_FILE
from tests.support.paths import REPO

SECRET = "check-pbx-secret"
SITE = REPO / "config" / "sas-small.toml"


def site(port: int) -> Config:
    config = load_config(SITE)
    return msgspec.structs.replace(config, ami=AmiConfig(port=port, username=config.ami.username))


async def run(sim: SimServer, config: Config | None = None) -> list[Finding]:
    return await check_pbx(config or site(sim.port), SECRET, timeout_s=5.0,
                           events_wait_s=0.5)


def levels(findings: list[Finding]) -> dict[str, str]:
    return {f.what: f.level for f in findings}


@pytest.fixture
async def sim() -> object:
    server = await start_sim(load_config(SITE), "127.0.0.1", 0, seed=1, speed=1.0,
                             secret=SECRET, options=PbxOptions(failopen_s=10.0))
    yield server
    await server.close()


def test_the_contract_is_the_shipped_dialplan() -> None:
    plan = parse_dialplan(EXTENSIONS.read_text(encoding="utf-8"))
    config = load_config(SITE)
    contract = dialplan_extensions(config.dialplan, ("15", "116117", "0144556677"))
    assert {c: set(e) for c, e in contract.items()} == {c: set(e) for c, e in plan.items()}
    lines = [strip_comment(line) for line in GLOBALS_FILE.read_text("utf-8").splitlines()]
    assert dict(line.split("=", 1) for line in lines if line) == GLOBALS
    queue = dict(line.replace(" ", "").split("=", 1)
                 for line in (strip_comment(x) for x in QUEUES.read_text("utf-8").splitlines())
                 if "=" in line)
    assert {k: queue[k] for k in QUEUE_SETTINGS} == QUEUE_SETTINGS


async def test_every_check_is_ok_on_the_simulator(sim: SimServer) -> None:
    assert levels(await run(sim))["global ACD_HEARTBEAT"] == "warn"  # no router yet
    sim.pbx.set_var(None, "ACD_HEARTBEAT", str(int(sim.clock.now())))  # a router ran
    findings = await run(sim)
    assert [f.line() for f in findings if f.level != "ok"] == []
    whats = [f.what for f in findings]
    config = load_config(SITE)
    for expected in ("ami login", "asterisk version", "timestampevents", "permission call",
                     "permission reporting", "permission originate", "permission agent",
                     "music on hold", f"queue {config.dialplan.failopen_queue}",
                     f"queue {config.dialplan.failopen_queue} autofill",
                     f"queue {config.dialplan.failopen_queue} members"):
        assert any(w.startswith(expected) for w in whats), expected
    for context in dialplan_extensions(config.dialplan, config.numbers):
        assert f"context {context}" in whats
    for name in GLOBALS:
        assert f"global {name}" in whats
    assert exit_status(findings) == 0
    assert sim.pbx.globals["ACD_CHECK_PBX"]  # the only thing it changed


async def test_what_would_break_routing_is_a_fix(sim: SimServer) -> None:
    config = site(sim.port)
    del sim.pbx.globals["ACD_RING"]  # globals_acd.conf not included
    sim.pbx.globals["ACD_MOH"] = "nosuchclass"
    sim.pbx.native.autofill = False
    renamed = msgspec.structs.replace(config, dialplan=msgspec.structs.replace(
        config.dialplan, warm_context="acd-warm-elsewhere"))
    findings = await run(sim, renamed)
    got = levels(findings)
    assert got["global ACD_RING"] == "FIX"
    assert got["context acd-warm-elsewhere"] == "FIX"
    assert got["music on hold"] == "FIX"
    assert got[f"queue {config.dialplan.failopen_queue} autofill"] == "warn"
    assert exit_status(findings) == 1


async def test_a_member_the_config_does_not_know_is_a_fix(sim: SimServer) -> None:
    """Live t3-25 and t3-07c: a member an earlier configuration left in the fail-open
    queue rings when the router is silent (and holds callers in unanswered rings)."""
    sim.pbx.set_var(None, "ACD_HEARTBEAT", str(int(sim.clock.now())))  # a router ran
    assert sim.pbx.native.add("PJSIP/9999", "9999", False) is None
    findings = await run(sim)
    what = f"queue {load_config(SITE).dialplan.failopen_queue} members"
    (members,) = [f for f in findings if f.what == what]
    assert members.level == "FIX" and "PJSIP/9999" in members.detail
    assert exit_status(findings) == 1


async def test_a_missing_queue_and_a_wrong_secret(sim: SimServer) -> None:
    config = site(sim.port)
    other = msgspec.structs.replace(config, dialplan=msgspec.structs.replace(
        config.dialplan, failopen_queue="no-such-queue"))
    got = levels(await run(sim, other))
    assert got["queue no-such-queue"] == "FIX"
    assert got["global ACD_FAILOPEN_QUEUE"] == "FIX"
    refused = await check_pbx(config, "wrong", timeout_s=5.0)
    assert [f.what for f in refused] == ["ami login"] and refused[0].level == "FIX"
    closed = msgspec.structs.replace(config, ami=AmiConfig(port=1))
    (down,) = await check_pbx(closed, SECRET, timeout_s=2.0)
    assert down.level == "FIX" and "cannot connect" in down.detail


async def test_the_command_prints_one_line_per_check(sim: SimServer, tmp_path: Path) -> None:
    text = SITE.read_text(encoding="utf-8")
    path = tmp_path / "site.toml"
    path.write_text(text.replace("port = 5038", f"port = {sim.port}", 1), encoding="utf-8")
    env = {**os.environ, "ACD_AMI_SECRET": SECRET}
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "acd.cli", "check-pbx", "--config", str(path)],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok   ami login: ")
    assert all(line.split(" ", 1)[0] in ("ok", "warn") for line in lines)


def test_check_pbx_has_help() -> None:
    helped = subprocess.run([sys.executable, "-m", "acd.cli", "check-pbx", "--help"],
                            capture_output=True, text=True, cwd=REPO, check=False)
    assert helped.returncode == 0 and "FIX" in helped.stdout
