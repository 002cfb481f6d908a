"""The README's commands set up what they need: ``scripts/system-programs`` installs the
system programs the tests run, or stops with one message saying what to install."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO

SCRIPT = REPO / "scripts" / "system-programs"


def bare_path(tmp_path: Path) -> str:
    """A PATH with a shell and Python but none of the programs the tests need, and no
    apt-get: a machine where nothing can be installed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("bash", "id", "cat", "env"):
        found = shutil.which(name)
        assert found is not None, name
        (bin_dir / name).symlink_to(found)
    (bin_dir / "python3").symlink_to(sys.executable)
    return str(bin_dir)


def run(mode: str, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path or os.environ["PATH"]}
    return subprocess.run(["bash", str(SCRIPT), mode, *args], capture_output=True, text=True,
                          env=env, timeout=60, check=False)


def test_nothing_to_do_where_every_program_is_installed() -> None:
    # `make test` ran the script before pytest: everything is there now
    done = run("check")
    assert done.returncode == 0, done.stderr


def test_without_the_right_to_install_it_names_the_packages_and_the_command(
        tmp_path: Path) -> None:
    done = run("install", path=bare_path(tmp_path))
    assert done.returncode == 1
    assert "redis-server prometheus systemd" in done.stderr
    assert "sudo apt-get install redis-server prometheus systemd" in done.stderr
    assert done.stdout == ""


def test_the_demo_needs_only_the_virtualenv(tmp_path: Path) -> None:
    done = run("install", "venv", path=bare_path(tmp_path))
    assert done.returncode == 0, done.stderr


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    assert ci.rstrip().splitlines()[-1] == "make test"
    readme = (REPO / "README.md").read_text()
    assert "```sh\nmake test\n```" in readme
    makefile = (REPO / "Makefile").read_text()
    assert "test: system-programs lint" in makefile
