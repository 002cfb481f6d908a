"""The commands a person reads (``acd demo``, ``simulate``, ``plan``, ``report``): their
output on stdout, whole lines, no log line in it; their JSON log lines on stderr (or a
file), warnings unless ``-v``, stamped in UTC; and ``acd simulate --records-out``, a
synthetic history that ``acd plan --records`` reads."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from acd.config.load import load_config
from acd.core.records import CallRecord
from acd.tools.simulate.scenario import load_scenario
from acd.tools.simulate.traffic import plan
from tests.support.cli import acd
from tests.support.paths import REPO

#: half an hour of the small site at ×900: a run of about three seconds
SCENARIO = """
site = "config/sas-small.toml"
name = "clean output half hour"
start = "2026-03-10T09:00:00"
duration_s = 1800
speed = 900
seed = 11
drain_s = 600

[calls]
per_day = { "15" = 900, "116117" = 200 }
patience_s = [20, 120]

[agents]
answer_after_s = [1, 3]
no_answer_rate = 0.1
talk_s = { ARM_N1 = [30, 90] }

[[staffing]]
at = "09:00"
counts = { ARM_N1 = 2, AMU_N2 = 1 }
"""


def short_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "half-hour.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def json_lines(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def log_lines(text: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(text) if "event" in line and "level" in line]


def on_terminal(*args: str, timeout: float = 120) -> tuple[int, str]:
    """``acd ARGS`` with stdout and stderr on one pseudo-terminal, as a person runs it:
    its exit status and the text the terminal received."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "acd.cli", *args], cwd=REPO,
                               stdin=subprocess.DEVNULL, stdout=secondary, stderr=secondary)
    os.close(secondary)
    received = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            received += chunk
        status = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        process.kill()
        os.close(primary)
    return status, received.decode("utf-8").replace("\r\n", "\n")


def test_the_demo_keeps_log_lines_off_stdout_and_gives_them_with_v(tmp_path: Path) -> None:
    scenario = str(short_scenario(tmp_path))
    quiet = acd("demo", "--scenario", scenario)
    assert quiet.returncode == 0, quiet.stderr
    assert json_lines(quiet.stdout) == []
    assert "Summary — clean output half hour" in quiet.stdout
    assert all(line["level"] in ("warning", "error", "critical")
               for line in log_lines(quiet.stderr))
    verbose = acd("demo", "--scenario", scenario, "-v")
    assert verbose.returncode == 0, verbose.stderr
    assert json_lines(verbose.stdout) == []
    lines = log_lines(verbose.stderr)
    assert any(line["event"] == "call_queued" and line["level"] == "info" for line in lines)
    # ISO 8601 in UTC, written with Z: one moment even when local clocks go back
    for line in lines:
        assert line["timestamp"].endswith("Z")
        moment = datetime.fromisoformat(line["timestamp"])
        assert moment.utcoffset() == timedelta(0)
    assert not any(line["event"] == "call_queued" for line in log_lines(quiet.stderr))


def test_log_lines_go_to_a_file_when_asked(tmp_path: Path) -> None:
    log_file = tmp_path / "simulate.log"
    result = acd("simulate", "--scenario", str(short_scenario(tmp_path)), "-v",
                 "--log-file", str(log_file))
    assert result.returncode == 0, result.stderr
    assert log_lines(result.stdout) == [] and log_lines(result.stderr) == []
    assert any(line["event"] == "call_ended"
               for line in log_lines(log_file.read_text(encoding="utf-8")))


def test_on_a_terminal_log_lines_wait_until_the_demo_has_finished(tmp_path: Path) -> None:
    status, screen = on_terminal("demo", "--scenario", str(short_scenario(tmp_path)), "-v")
    assert status == 0, screen
    lines = screen.splitlines()
    # the live line is rewritten in place ("\r\x1b[K" + the line): a log line written
    # meanwhile would land on it
    end = max(n for n, line in enumerate(lines) if "records of non-callers" in line)
    assert '"event"' not in "\n".join(lines[:end + 1])
    assert any(line["event"] == "call_queued" for line in log_lines("\n".join(lines[end:])))


def test_simulate_records_out_is_a_history_that_plan_and_report_read(tmp_path: Path) -> None:
    # one ARM for the half-hour's ~23 calls and callers of little patience: callers give
    # up whatever the run's timing (a plan needs abandons to estimate patience)
    scenario = short_scenario(tmp_path)
    scenario.write_text(SCENARIO.replace("counts = { ARM_N1 = 2, AMU_N2 = 1 }",
                                         "counts = { ARM_N1 = 1 }")
                        .replace("patience_s = [20, 120]", "patience_s = [5, 40]"),
                        encoding="utf-8")
    records = tmp_path / "history.jsonl"
    played = acd("simulate", "--scenario", str(scenario), "--json",
                 "--records-out", str(records))
    assert played.returncode == 0, played.stderr
    written = [msgspec.json.decode(line, type=CallRecord)
               for line in records.read_bytes().splitlines()]
    printed = [msgspec.json.decode(line, type=CallRecord)
               for line in played.stdout.splitlines()[:-1]]
    assert written == printed and len(written) > 10
    # as acd run writes them: the dialled number, never the caller's
    text = records.read_text(encoding="utf-8")
    callers = [p.call.caller_num for p in plan(load_scenario(scenario),
                                               load_config(REPO / "config" / "sas-small.toml"))
               if p.call is not None and p.call.caller_num]
    assert callers and not any(number in text for number in callers)

    page = tmp_path / "plan.html"
    planned = acd("plan", "--records", str(records), "--config", "config/sas-small.toml",
                  "--from", "2026-03-10", "--to", "2026-03-10", "--target", "qs30>=0.9",
                  "--seeds", "1", "--jobs", "1", "--interval", "2h", "--html", str(page))
    assert planned.returncode in (0, 1), planned.stderr
    assert f"traffic from {len(written)} records" in planned.stderr
    assert planned.stdout.startswith("Plan for ") and planned.stdout.endswith("\n")
    assert page.is_file() and log_lines(planned.stdout) == []

    for fmt in ("md", "csv", "json"):
        report = acd("report", "--records", str(records), "--from", "2026-03-10",
                     "--to", "2026-03-10", "--format", fmt)
        assert report.returncode == 0, report.stderr
        assert report.stdout.endswith("\n") and log_lines(report.stdout) == []
