"""The uv that installed the virtualenv, for tests of the lock and of the wheel."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def uv() -> str:
    """The uv ``make install`` put beside the virtualenv (or one on PATH)."""
    beside = Path(sys.prefix) / "uv" / "bin" / "uv"
    found = str(beside) if beside.is_file() else shutil.which("uv")
    assert found, "uv is installed by `make install` (.venv/uv/bin/uv)"
    return found
