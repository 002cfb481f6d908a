"""The ``acd`` command run as a user runs it: a child process, from the repository."""

from __future__ import annotations

import subprocess
import sys

from tests.support.paths import REPO


def acd(*args: str, stdin: str | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "acd.cli", *args], capture_output=True,
                          text=True, cwd=REPO, input=stdin, timeout=timeout)
