"""The Prometheus side: ``promtool check`` and ``promtool test rules`` on the shipped
rules, alerts and scrape config. promtool comes from Debian's ``prometheus`` package
(``.ci/run`` installs it); without it these tests fail, they are never skipped."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.paths import REPO
from tests.support.promtool import (
    ALERTS,
    PROMETHEUS,
    RULE_TESTS,
    RULES,
    recording_rule_names,
    rule_entries,
    run_promtool,
)

README = REPO / "deploy" / "README.md"


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
                      "AcdAmiFramesDropped", "AcdRecordsFileFailing"}
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
