"""The shape of the package: what may import what.

The configuration schema and the hours rules import each other's modules only one way
(``acd.config.validate`` → ``acd.core.hours`` → ``acd.config.schema``), so any of them
imports first in a fresh interpreter; the running service never imports the offline
tools of ``acd.tools``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO

ACD = REPO / "acd"


@pytest.mark.parametrize("first", ["acd.core.hours", "acd.config", "acd.config.load",
                                   "acd.config.validate", "acd.config.schema"])
def test_config_and_hours_import_first_in_a_fresh_interpreter(first: str) -> None:
    code = (f"import {first}\n"
            "from acd.config.load import parse_config\n"
            "config = parse_config(b'[site]\\nname = \"S\"\\ndepartement = \"59\"\\n')\n"
            "print(config.site.name)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "S\n"


def test_the_config_package_exports_the_schema_without_loading_the_engine() -> None:
    code = ("import sys, acd.config\n"
            "print(sorted(m for m in sys.modules if m.startswith('acd')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    # the schema reads the dialplan's defaults (the ring time), a module of constants
    assert done.stdout == ("['acd', 'acd.config', 'acd.config.dialplan_defaults', "
                           "'acd.config.schema']\n")


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_service_never_imports_the_tools() -> None:
    """Only the ``acd`` command (cli.py) binds sub-commands to tools."""
    offenders = []
    for path in sorted(ACD.rglob("*.py")):
        relative = path.relative_to(ACD)
        if relative.parts[0] == "tools" or relative == Path("cli.py"):
            continue
        if any(name == "acd.tools" or name.startswith("acd.tools.")
               for name in _imported(path)):
            offenders.append(str(relative))
    assert offenders == []
