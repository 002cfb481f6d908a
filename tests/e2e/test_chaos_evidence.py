"""``acd simulate`` proves the router harms no caller and touches nothing else when it
comes back: after a fail-open (with Redis), an AMI link cut and a PBX crash, with
foreign channels on the PBX. Real router processes, real TCP, a real Redis."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from acd.config.load import load_config
from acd.tools.chaos import Fault, parse_chaos
from acd.tools.chaos_run import ChaosResult, run_chaos
from acd.tools.scenario import load_scenario
from acd.tools.simulate_cli import harmed, summary_json
from acd.tools.summary import Summary
from tests.support.busyroom import write_busy_room
from tests.support.paths import REPO


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
    assert result.summary.waiting == 0
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
