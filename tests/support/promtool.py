"""The shipped Prometheus rules read as data, and promtool (from Debian's
``prometheus`` package, which ``.ci/run`` installs; without it a test fails, it is
never skipped)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.paths import REPO

PROMETHEUS = REPO / "deploy" / "prometheus"
RULES = PROMETHEUS / "rules" / "acd.rules.yml"
ALERTS = PROMETHEUS / "rules" / "acd.alerts.yml"
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))


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
