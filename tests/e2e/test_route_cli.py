"""``acd route``: where a number goes at a moment, as an operator calls it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import acd
from tests.support.paths import REPO

LARGE = str(REPO / "config" / "sas-large.toml")
SMALL = str(REPO / "config" / "sas-small.toml")
TRUNK = "PJSIP/116117@pdsa-regulation-59"  # numbers."116117".pdsa of sas-large.toml


def route(*args: str) -> subprocess.CompletedProcess[str]:
    return acd("route", *args)


def test_text_output_in_pdsa_hours() -> None:
    result = route("--config", LARGE, "--number", "116117", "--at", "2026-04-03T21:00")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (f"116117 at 2026-04-03T21:00:00+02:00 → dial {TRUNK} — "
                             "PDSA (night)\n")


def test_text_output_in_sas_hours() -> None:
    result = route("--config", LARGE, "--number", "116117", "--at", "2026-04-07T10:00")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "116117 at 2026-04-07T10:00:00+02:00 → queue ARM_N1 — SAS hours\n"


def test_15_on_a_sunday() -> None:
    result = route("--config", LARGE, "--number", "15", "--at", "2026-04-12T10:00:00+02:00")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(
        "→ queue ARM_N1 — 15 always reaches ARM_N1 (PDSA hours: Sunday)")


def test_json_output() -> None:
    result = route("--config", LARGE, "--number", "116117", "--at", "2026-05-15T10:00",
                   "--json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1
    assert json.loads(result.stdout) == {
        "number": "116117",
        "at": "2026-05-15T10:00:00+02:00",
        "period": "pdsa",
        "destination": TRUNK,
        "external": True,
        "reason": "PDSA (bridge day after Ascension Day)",
    }


def test_json_with_a_queue_destination_and_an_offset_in_another_zone() -> None:
    # 17:30 UTC is 19:30 in Paris: PDSA from 19:00 in the small site, to the MG queue
    result = route("--config", SMALL, "--number", "116117", "--at", "2026-04-08T17:30:00Z",
                   "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["at"], out["period"], out["destination"], out["external"]) == (
        "2026-04-08T19:30:00+02:00", "pdsa", "MG", False)
    assert out["reason"] == "PDSA (evening from 19:00)"


def test_good_friday_in_moselle(tmp_path: Path) -> None:
    text = Path(SMALL).read_text(encoding="utf-8").replace(
        'departement = "48"', 'departement = "57"')
    moselle = tmp_path / "sas-57.toml"
    moselle.write_text(text, encoding="utf-8")
    result = route("--config", str(moselle), "--number", "116117", "--at",
                   "2026-04-03T10:00", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["reason"] == "PDSA (holiday: Good Friday, 57)"
    lozere = route("--config", SMALL, "--number", "116117", "--at", "2026-04-03T10:00",
                   "--json")
    assert json.loads(lozere.stdout)["reason"] == "SAS hours"


def test_unknown_number_goes_to_arm_n1() -> None:
    result = route("--config", LARGE, "--number", "0699999999", "--at", "2026-04-07T10:00",
                   "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["destination"], out["period"], out["external"]) == ("ARM_N1", "sas", False)
    assert "not in the number plan" in out["reason"]


def test_without_at_it_answers_for_now() -> None:
    result = route("--config", LARGE, "--number", "15", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["destination"] == "ARM_N1"
    assert out["period"] in {"sas", "pdsa"}
    assert out["at"][-6:] in {"+01:00", "+02:00"}


@pytest.mark.parametrize(
    ("at", "fragment"),
    [
        ("yesterday", "is not an ISO 8601 date-time"),
        ("2026-13-01T10:00", "is not an ISO 8601 date-time"),
        ("2026-03-29T02:30", "does not exist in Europe/Paris"),
    ],
)
def test_bad_at_is_refused(at: str, fragment: str) -> None:
    result = route("--config", LARGE, "--number", "116117", "--at", at)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("acd route: --at: ")
    assert fragment in result.stderr


def test_fall_back_hour_twice_with_offsets() -> None:
    first = route("--config", LARGE, "--number", "116117", "--at",
                  "2026-10-25T02:30:00+02:00", "--json")
    second = route("--config", LARGE, "--number", "116117", "--at",
                   "2026-10-25T02:30:00+01:00", "--json")
    naive = route("--config", LARGE, "--number", "116117", "--at", "2026-10-25T02:30",
                  "--json")
    outs = [json.loads(r.stdout) for r in (first, second, naive)]
    assert [o["at"] for o in outs] == ["2026-10-25T02:30:00+02:00",
                                      "2026-10-25T02:30:00+01:00",
                                      "2026-10-25T02:30:00+02:00"]
    assert {o["period"] for o in outs} == {"pdsa"}


def test_invalid_config_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[site]\nname = "x"\ndepartement = "974"\ntimezone = "Europe/Paris"\n',
                   encoding="utf-8")
    result = route("--config", str(bad), "--number", "15", "--at", "2026-04-07T10:00")
    assert result.returncode == 1
    assert f"{bad}: site.timezone: 'Europe/Paris' is not the local time" in result.stderr
