"""The lock is the install: uv.lock agrees with pyproject.toml, and uv, its installer,
is the version pyproject.toml requires (``make lock`` refreshes both)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

from tests.support.paths import REPO
from tests.support.uvbin import uv


def lock_check(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([uv(), "lock", "--check", "--offline", "--project", str(project)],
                          capture_output=True, text=True, timeout=60, check=False)


def copy_of_project(tmp_path: Path) -> Path:
    for name in ("pyproject.toml", "uv.lock", "README.md", "LICENSE"):
        shutil.copy(REPO / name, tmp_path / name)
    return tmp_path


def test_the_lock_agrees_with_pyproject() -> None:
    checked = lock_check(REPO)
    assert checked.returncode == 0, checked.stderr


def test_a_dependency_changed_without_relocking_is_caught(tmp_path: Path) -> None:
    project = copy_of_project(tmp_path)
    assert lock_check(project).returncode == 0  # the copy agrees, as the checkout does
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    assert '    "holidays>=0.109",\n' in text
    # a dependency dropped from pyproject.toml but still in the lock; offline, uv says
    # the lock needs updating, or, with no index pages in its cache (a fresh machine),
    # that it cannot resolve without the network: a failure either way
    pyproject.write_text(text.replace('    "holidays>=0.109",\n', ""))
    changed = lock_check(project)
    assert changed.returncode != 0
    assert "needs to be updated" in changed.stderr or "network was disabled" in changed.stderr


def test_the_installer_is_the_version_the_project_requires() -> None:
    required = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["uv"][
        "required-version"]
    pinned = re.search(r"^uv==(\S+)", (REPO / "scripts" / "uv-requirements.txt").read_text(),
                       re.MULTILINE)
    assert pinned and required == f"=={pinned.group(1)}"
    assert "--hash=sha256:" in (REPO / "scripts" / "uv-requirements.txt").read_text()
    version = subprocess.run([uv(), "--version"], capture_output=True, text=True,
                             check=True).stdout
    assert version.split()[1] == pinned.group(1)
