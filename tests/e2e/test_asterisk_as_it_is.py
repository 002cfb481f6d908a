"""The shipped scenario of Asterisk as the recordings showed it (busy phones and busy
warm-transfer targets, members an earlier configuration left in the fail-open queue,
a +3600 s step of Asterisk's clock), played by ``acd simulate`` as a site runs it: its
first half hour, the step ten minutes in."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import acd
from tests.support.paths import REPO

SCENARIO = REPO / "config" / "scenarios" / "sas-large-asterisk-as-it-is.toml"


def test_busy_phones_stale_members_and_a_clock_step_harm_nobody(tmp_path: Path) -> None:
    text = SCENARIO.read_text(encoding="utf-8")
    for line in ("busy_rate = 0.05", 'clock_step_at = "08:40"', "clock_step_s = 3600",
                 "duration_s = 7200", 'stale_failopen_members = ["PJSIP/9901"'):
        assert line in text
    short = tmp_path / "half-hour.toml"
    short.write_text(text.replace('clock_step_at = "08:40"', 'clock_step_at = "08:10"')
                     .replace("duration_s = 7200", "duration_s = 1800")
                     .replace("drain_s = 1800", "drain_s = 600")
                     .replace('site = "config/sas-large.toml"',
                              f'site = "{REPO / "config" / "sas-large.toml"}"'),
                     encoding="utf-8")
    played = acd("simulate", "--scenario", str(short), "--speed", "120", "--json",
                 timeout=300)
    assert played.returncode == 0, played.stderr
    summary = json.loads(played.stdout.splitlines()[-1])["summary"]
    assert summary["calls_placed"] > 20
    assert summary["no_answer_pauses"] == 0           # busy answers never pause anyone
    assert summary["callers_rung_on_unknown_members"] == 0
    assert summary["callers_hung_up_by_router"] == 0
    assert summary["waits_checked"] == summary["answered"]
    assert summary["largest_wait_difference_s"] < 0.5
    assert '"clock": "asterisk"' in played.stderr      # the step was seen, and logged
