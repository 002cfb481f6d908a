"""A real filesystem that fills up: a small tmpfs mounted for one test (as root; CI runs
as root, elsewhere the tests that need it are skipped and say why)."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

#: tmpfs counts its space in pages
PAGE = 4096


@contextmanager
def small_tmpfs(where: Path, size: int = 16 * PAGE) -> Iterator[Path]:
    """``where`` as a tmpfs of ``size`` bytes until the block ends."""
    if os.geteuid() != 0:
        pytest.skip("a full filesystem is a tmpfs mounted by the test: it needs root "
                    "(CI runs the tests as root)")
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                    str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def fill(path: Path, leave: int = 0) -> None:
    """Write ``path`` until its filesystem is full, then give back ``leave`` bytes
    (whole pages)."""
    chunk = b"\0" * PAGE
    with path.open("ab", buffering=0) as out:
        error: OSError | None = None
        while error is None:
            try:
                out.write(chunk)
            except OSError as exc:
                error = exc
    if error.errno != errno.ENOSPC:
        raise error
    if leave:
        os.truncate(path, max(0, (path.stat().st_size - leave) // PAGE * PAGE))
