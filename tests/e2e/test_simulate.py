"""``acd simulate`` and ``acd demo``: simulator and router over loopback TCP, as run
from the command line."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from acd.config.load import load_config
from acd.tools.simulate.run import run_scenario
from acd.tools.simulate.scenario import load_scenario
from acd.tools.simulate.traffic import plan, scenario_start
from tests.support.cli import acd
from tests.support.paths import REPO

SCENARIO = """
site = "config/sas-small.toml"
name = "test half hour"
start = "2026-03-10T09:00:00"
duration_s = 1800
speed = 600
seed = 7
drain_s = 600

[calls]
per_day = {{ "15" = 900, "116117" = 200 }}
patience_s = [20, 120]
priority_mix = {{ "0" = 0.1 }}

[agents]
answer_after_s = [1, 3]
no_answer_rate = 0.1
talk_s = {{ ARM_N1 = [30, 90] }}

[[staffing]]
at = "09:00"
counts = {{ ARM_N1 = 2, AMU_N2 = 1 }}

[[script]]
at = "09:10:00"
call = {{ number = "15", priority = 0, caller_name = "Hélène Dupré" }}
{extra}
"""


def write_scenario(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(SCENARIO.format(extra=extra), encoding="utf-8")
    return path


def test_simulate_prints_records_consistent_with_its_summary(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path)
    result = acd("simulate", "--scenario", str(scenario), "--json")
    assert result.returncode == 0, result.stderr
    *record_lines, summary_line = result.stdout.splitlines()
    records = [json.loads(line) for line in record_lines]
    summary = json.loads(summary_line)["summary"]
    planned = [p for p in plan(load_scenario(scenario),
                               load_config(REPO / "config" / "sas-small.toml"))
               if p.kind == "call"]
    assert summary["calls_placed"] == len(planned) == len(records) == summary["offered"]
    outcomes = {o: sum(r["outcome"] == o for r in records)
                for o in ("answered", "abandoned", "waiting")}
    assert outcomes["answered"] == summary["answered"]
    assert outcomes["abandoned"] == summary["abandoned"]
    assert summary["answered"] + summary["abandoned"] + summary["waiting"] == summary["offered"]
    assert summary["callers_hung_up_by_router"] == 0
    answered = [r for r in records if r["outcome"] == "answered"]
    within = sum(r["wait_s"] < 30 for r in answered)
    assert (summary["qs30_answered_within_30s"], summary["qs30_answered"]) == (within,
                                                                               len(answered))
    assert all(r["wait_s"] >= 0 and r["agent"] for r in answered)
    assert {r["number"] for r in records} == {"15", "116117"}
    scripted = [r for r in records if r["caller_name"] == "Hélène Dupré"]
    assert len(scripted) == 1
    assert scripted[0]["priority"] == 0
    # announced after the dialplan's Answer() (0.5 s) and the loopback round trips
    arrived = datetime.fromisoformat(scripted[0]["arrived_at"])
    scripted_at = datetime(2026, 3, 10, 9, 10, tzinfo=ZoneInfo("Europe/Paris"))
    assert 0.5 <= (arrived - scripted_at).total_seconds() < 5


def test_simulate_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path)
    config = load_config(REPO / "config" / "sas-small.toml")
    first = plan(load_scenario(scenario), config, seed=3)
    assert first == plan(load_scenario(scenario), config, seed=3)
    assert first != plan(load_scenario(scenario), config, seed=4)


def test_a_broken_scenario_is_refused_with_file_key_and_problem(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path, extra='[[script]]\nat = "25:99"\nagent_login = "x"\n')
    result = acd("simulate", "--scenario", str(scenario))
    assert result.returncode == 1
    assert f"{scenario}: script[1].at: '25:99' is not a time of day" in result.stderr


def test_demo_runs_and_prints_the_summary_table() -> None:
    # ×1000: the morning's first hour (PDSA hours until 08:00, 116 117 forwarded) lasts
    # 3.6 s of the machine's time, more than the router's start-up
    result = acd("demo", "--speed", "1000")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Summary — SAS 59" in out
    assert "QS 30 s at N1:" in out
    assert "QS 60 s at N1:" in out
    assert "ARM_N1" in out
    # the live line shows each filière's waiting calls
    assert "waiting: N1 " in out.splitlines()[3]
    assert " · AMU " in out.splitlines()[3] and " · MG " in out.splitlines()[3]
    assert "  ARM_N1 → OSNP " in out
    assert "  forwarded to the PDSA line: " in out
    assert "no caller was hung up by the router" in out
    assert "answered" in out.splitlines()[3]  # live progress lines come first
    # the headline accounts for every offered call, forwarded ones included (the
    # morning starts at 07:00, in PDSA hours: 116 117 and the local number go to the
    # PDSA line)
    headline = next(line for line in out.splitlines() if line.startswith("  offered "))
    figures = {name: int(count)
               for name, count in re.findall(r"([a-z][a-z ]*?) (\d+)", headline)}
    assert figures["forwarded"] > 0
    assert figures["offered"] == sum(v for k, v in figures.items() if k != "offered")


STEPPED = """
site = "config/sas-small.toml"
name = "an NTP step of Asterisk's host"
start = "2026-03-10T09:00:00"
duration_s = 240
speed = 20
seed = 11
drain_s = 300

[calls]
per_day = {{ "15" = 6000 }}
patience_s = [300, 600]

[agents]
answer_after_s = [1, 3]
no_answer_rate = 0.0
talk_s = {{ ARM_N1 = [15, 40] }}

[[staffing]]
at = "09:00"
counts = {{ ARM_N1 = 2 }}

[faults]
clock_step_s = {step}
clock_step_at = "09:02"
"""


async def test_a_stepped_asterisk_clock_changes_no_wait_and_pauses_nobody(
        tmp_path: Path) -> None:
    """Asterisk's host steps an hour ahead two minutes in, callers waiting and phones
    ringing: nobody is paused for not answering, the step is counted once, and the
    router's waits are the simulator's own to the millisecond (the router's wait is a
    difference of two stamps each rounded to the millisecond, the simulator's is
    rounded once: on a rounding boundary they differ by that one millisecond). Only a
    wait that spans
    the step (announced before it, or while the router was measuring it) cannot be
    known better than the delivery of the events around it: the router measures the
    step on its own clock, where at ×20 each 50 µs of real time is a millisecond."""
    path = tmp_path / "stepped.toml"
    path.write_text(STEPPED.format(step=3600), encoding="utf-8")
    config = load_config(REPO / "config" / "sas-small.toml")
    scenario = load_scenario(path)
    result = await run_scenario(config, scenario)
    assert result.no_answer_pauses == 0
    assert 'acd_clock_skew_events_total{kind="asterisk"} 1.0' in result.metrics_text.decode()
    step_at = scenario_start(scenario, config.zone()) + 120.0
    answered = {r.uniqueid: r.wait_s for r in result.records
                if r.outcome == "answered" and r.wait_s is not None}
    assert len(answered) >= 10 and set(answered) <= set(result.sim_answers)
    spanning = 0
    for uid, wait in answered.items():
        announced, picked_up = result.sim_answers[uid]
        if announced < step_at + 10.0 and picked_up >= step_at:  # across the step
            spanning += 1
            assert wait == pytest.approx(picked_up - announced, abs=0.05)
        else:
            assert wait == pytest.approx(picked_up - announced, abs=0.0015)
    assert spanning >= 2


def test_callers_who_hang_up_during_the_announcement_get_a_record(tmp_path: Path) -> None:
    """Through the simulator's AMI bytes: a patience shorter than the announcement
    (Answer()'s half second) for about half the callers, and one scripted caller who
    hangs up 0.2 s after reaching the dialplan. One record each, none acted on."""
    path = tmp_path / "early.toml"
    path.write_text("""
site = "config/sas-small.toml"
name = "callers in a hurry"
start = "2026-03-10T09:00:00"
duration_s = 600
speed = 120
seed = 5
drain_s = 120

[calls]
per_day = { "15" = 2000 }
patience_s = [0.1, 0.9]

[[staffing]]
at = "09:00"
counts = { ARM_N1 = 2 }

[[script]]
at = "09:05:00"
call = { number = "15", caller_name = "Pressé", patience_s = 0.2 }
""", encoding="utf-8")
    result = acd("simulate", "--scenario", str(path), "--json")
    assert result.returncode == 0, result.stderr
    *record_lines, summary_line = result.stdout.splitlines()
    records = [json.loads(line) for line in record_lines]
    summary = json.loads(summary_line)["summary"]
    assert summary["calls_placed"] == len(records) == summary["offered"]
    assert len({r["uniqueid"] for r in records}) == len(records)
    early = [r for r in records if r["in_announcement"]]
    assert summary["abandoned_in_announcement"] == len(early) >= 2
    assert {(r["outcome"], r["wait_s"], len(r["legs"])) for r in early} == {
        ("abandoned", None, 0)}
    (hurried,) = [r for r in records if r["caller_name"] == "Pressé"]
    assert hurried["in_announcement"] and hurried["queues"] == ["ARM_N1"]
    lasted = (datetime.fromisoformat(hurried["ended_at"])
              - datetime.fromisoformat(hurried["arrived_at"])).total_seconds()
    # 0.2 s of patience, within the announcement's half second (at ×120 a millisecond
    # of the machine's own latency is 0.12 s of the simulated day)
    assert 0.1 <= lasted < 0.5
    assert summary["callers_hung_up_by_router"] == 0
