"""``acd check-config`` warns of a pair whose standby would take over after the
dialplan has failed the waiting callers open (``[leader] ttl_s`` against the
dialplan's ``ACD_FAILOPEN_S``), and still accepts the file (docs/config.md, ``ttl_s``:
why a warning and not an error)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from acd.config import Config
from acd.config.check import check_config_command
from acd.config.load import parse_config
from acd.config.warnings import DIALPLAN_FAILOPEN_S, config_warnings
from tests.support.paths import REPO
from tests.support.sites import site_toml


def pair(ttl_s: float, *, heartbeat_s: float = 1.0, enabled: bool = True) -> bytes:
    return site_toml("SAS pair", sections={
        "redis": {"url": "redis://127.0.0.1:6379/0"},
        "leader": {"enabled": enabled, "ttl_s": ttl_s},
        "routing": {"ring_timeout_s": 15, "heartbeat_s": heartbeat_s}})


def leader_warnings(config: Config) -> list[str]:
    return [w for w in config_warnings(config) if w.startswith("[leader]")]


def test_the_shipped_failopen_time_is_the_dialplans() -> None:
    text = (REPO / "dialplans" / "globals_acd.conf").read_text(encoding="utf-8")
    (value,) = re.findall(r"^ACD_FAILOPEN_S=(\d+)\s*$", text, flags=re.M)
    assert DIALPLAN_FAILOPEN_S == float(value) == 10.0


def test_a_ttl_that_outlasts_the_failopen_time_is_warned_of() -> None:
    (warning,) = leader_warnings(parse_config(pair(30)))
    assert warning.startswith("[leader] ttl_s = 30: ")
    assert "up to 34.75 s after its last heartbeat" in warning
    assert "ACD_FAILOPEN_S = 10 s" in warning and "set ttl_s under 8" in warning


@pytest.mark.parametrize(("ttl_s", "heartbeat_s", "warned"), [
    (2.0, 1.0, False),   # the default pair: 3.25 s
    (7.9, 1.0, False),   # 9.89 s
    (8.0, 1.0, True),    # 10 s: the dialplan fails open as the standby takes over
    (7.0, 3.0, True),    # a slow heartbeat counts too: 10.875 s
])
def test_the_bound_is_heartbeat_plus_nine_eighths_of_the_ttl(
        ttl_s: float, heartbeat_s: float, warned: bool) -> None:
    config = parse_config(pair(ttl_s, heartbeat_s=heartbeat_s))
    assert bool(leader_warnings(config)) is warned


def test_no_warning_without_a_pair_or_without_failopen() -> None:
    assert leader_warnings(parse_config(pair(30, enabled=False))) == []
    alone = parse_config(site_toml("SAS alone", sections={"routing": {"ring_timeout_s": 15}}))
    assert leader_warnings(alone) == []
    # ACD_FAILOPEN_S = 0 switches the dialplan's fail-open off
    assert [w for w in config_warnings(parse_config(pair(30)), dialplan_failopen_s=0)
            if w.startswith("[leader]")] == []


def test_check_config_accepts_the_file_and_prints_the_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pair.toml"
    path.write_bytes(pair(30))
    assert check_config_command([str(path)]) == 0
    out, err = capsys.readouterr()
    assert f"{path}: ok (SAS pair" in out
    (line,) = err.splitlines()
    assert line.startswith(f"{path}: warning: [leader] ttl_s = 30: ")
