"""The Prometheus side: ``promtool check`` and ``promtool test rules`` on the shipped
rules, alerts and scrape config. promtool comes from Debian's ``prometheus`` package
(``.ci/run`` installs it); without it these tests fail, they are never skipped."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

PROMETHEUS = REPO / "deploy" / "prometheus"
RULES = PROMETHEUS / "rules" / "acd.rules.yml"
ALERTS = PROMETHEUS / "rules" / "acd.alerts.yml"
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))
README = REPO / "deploy" / "README.md"


def promtool() -> str:
    """Path of promtool, or fail the test saying how to get it."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool not found: install Debian's prometheus package "
                    "(apt-get install prometheus), as .ci/run does", pytrace=False)
    return path


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=60,
                          check=False)


def rule_entries(path: Path) -> list[tuple[str, str, str]]:
    """(kind, name, expr) of every rule in a rules file: kind is ``record`` or
    ``alert``. A small reader for the shape our files use (``expr:`` inline or as a
    ``|`` block); it refuses a file it cannot read completely."""
    lines = path.read_text(encoding="utf-8").splitlines()
    entries: list[tuple[str, str, str]] = []
    current: tuple[str, str] | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        head = re.match(r"\s*- (record|alert): (\S+)\s*$", line)
        if head:
            current = (head.group(1), head.group(2))
        expr = re.match(r"(\s*)expr: (.*)$", line)
        if expr:
            assert current is not None, f"{path.name}:{index + 1}: expr outside a rule"
            indent, text = len(expr.group(1)), expr.group(2).strip()
            if text in ("|", ">", "|-", ">-"):
                block = []
                while index + 1 < len(lines) and (
                        not lines[index + 1].strip()
                        or len(lines[index + 1]) - len(lines[index + 1].lstrip()) > indent):
                    index += 1
                    block.append(lines[index].strip())
                text = " ".join(part for part in block if part)
            entries.append((*current, text))
            current = None
        index += 1
    declared = sum(1 for line in lines if re.match(r"\s*- (record|alert): ", line))
    assert len(entries) == declared, f"{path.name}: read {len(entries)} of {declared} rules"
    return entries


def recording_rule_names() -> set[str]:
    return {name for kind, name, _ in rule_entries(RULES) if kind == "record"}


def rule_exprs() -> list[str]:
    return [expr for path in (RULES, ALERTS) for _, _, expr in rule_entries(path)]


def test_rule_files_pass_promtool_check() -> None:
    result = run_promtool("check", "rules", str(RULES), str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass() -> None:
    assert {p.name for p in RULE_TESTS} >= {"acd.rules.test.yml", "acd.alerts.test.yml"}
    result = run_promtool("test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_scrape_config_passes_promtool_check() -> None:
    result = run_promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test() -> None:
    alerts = {name for kind, name, _ in rule_entries(ALERTS) if kind == "alert"}
    assert alerts == {"AcdQs30BelowTarget", "AcdN1OldestWaitOver60s", "AcdSkillUnstaffed",
                      "AcdPartnerDown", "AcdAmiDisconnected", "AcdRouterAbsent",
                      "AcdEventLoopLag", "AcdRedisDown", "AcdJournalDropping",
                      "AcdInputErrors", "AcdTaskRestarting", "AcdHttpConnectionsRefused",
                      "AcdAmiFramesDropped"}
    tested = set(re.findall(r"alertname: (\S+)", "".join(
        p.read_text(encoding="utf-8") for p in RULE_TESTS)))
    assert alerts <= tested, f"alerts without a promtool test: {sorted(alerts - tested)}"


def test_recording_rules_cover_every_indicator_and_window() -> None:
    expected = {f"acd:{indicator}{scope}:ratio_{window}"
                for indicator in ("qs30", "qs60", "answer_rate")
                for scope in ("", "_by_number_period")
                for window in ("5m", "1h", "1d")}
    assert recording_rule_names() == expected


def test_readme_names_every_recording_rule_and_alert() -> None:
    readme = README.read_text(encoding="utf-8")
    names = [name for path in (RULES, ALERTS) for _, name, _ in rule_entries(path)]
    missing = [name for name in names if f"`{name}`" not in readme]
    assert not missing, f"deploy/README.md does not name {missing}"


def test_rule_reader_reads_inline_and_block_exprs(tmp_path: Path) -> None:
    path = tmp_path / "r.yml"
    path.write_text("groups:\n  - name: g\n    rules:\n"
                    "      - record: a:b:c\n        expr: |\n          sum(x)\n"
                    "            / sum(y)\n"
                    "      - alert: A\n        expr: up == 0\n        for: 1m\n")
    assert rule_entries(path) == [("record", "a:b:c", "sum(x) / sum(y)"),
                                  ("alert", "A", "up == 0")]
