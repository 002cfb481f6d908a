"""``acd simulate`` with members an earlier configuration left in the fail-open queue
(``[pbx] stale_failopen_members``): the router removes them when it connects, so the
callers who fail open while it is away ring only its own front office (live t3-25:
stale members held the first callers in 15 s rings for 67 s). Real router processes,
real TCP, a real Redis."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from acd.config.load import load_config
from acd.tools.simulate.chaos import parse_chaos
from acd.tools.simulate.chaos_run import ChaosResult, run_chaos
from acd.tools.simulate.command import harmed, summary_json
from acd.tools.simulate.scenario import load_scenario
from acd.tools.summary import Summary
from tests.support.busyroom import busy_room_toml
from tests.support.paths import REPO

STALE = ["PJSIP/9999", "Local/1099@agents"]


async def test_no_caller_who_fails_open_rings_a_member_the_router_does_not_know(
        tmp_path: Path) -> None:
    path = tmp_path / "stale.toml"
    # killed once its first resync is well over (4.5 real seconds in), away long
    # enough for the waiting callers to fail open
    path.write_text(busy_room_toml(name="stale members", duration_s=100, speed=10, seed=9,
                                   per_day=6000, arm=2, chaos="router-kill@45+30")
                    + f"\n[pbx]\nstale_failopen_members = {STALE!r}\n".replace("'", '"'),
                    encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.pbx.stale_failopen_members == STALE
    config = load_config(REPO / scenario.site)
    result = await run_chaos(config, scenario, parse_chaos(scenario.chaos),
                             workdir=tmp_path)
    assert result.failed_open > 0
    assert result.callers_rung_on_unknown_members == 0
    assert summary_json(result.summary, result)["callers_rung_on_unknown_members"] == 0
    assert not harmed(result)
    assert result.hung_up_by_router == []


def test_a_caller_rung_on_an_unknown_member_makes_the_run_fail() -> None:
    result = ChaosResult(records=[], summary=Summary(), hung_up_by_router=[],
                         routed_twice=[], faults=[])
    bad = dataclasses.replace(result, callers_rung_on_unknown_members=2)
    assert not harmed(result) and harmed(bad)
    assert summary_json(bad.summary, bad)["callers_rung_on_unknown_members"] == 2


def test_the_shipped_failopen_scenario_leaves_a_stale_member() -> None:
    scenario = load_scenario(REPO / "config" / "scenarios" / "sas-small-failopen-return.toml")
    assert scenario.pbx.stale_failopen_members
    assert parse_chaos(scenario.chaos)[0].kind == "router-kill"
