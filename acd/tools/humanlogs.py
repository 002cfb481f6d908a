"""The logs of the commands a person reads (``acd demo``, ``simulate``, ``plan``,
``report``): their output is for people on stdout, their JSON log lines go elsewhere.

* Log lines go to stderr, or to a file (``--log-file``), never to stdout.
* Warnings and errors only, unless ``-v`` (info: every call's lines) or ``-vv``
  (debug) is given.
* While a live display rewrites its line in place on a terminal, log lines bound for
  that terminal are held in a temporary file and written out when the command's output
  is done, so they never cut the display.

``acd run`` and ``acd sim`` keep their JSON lines on stdout at info level (journald
reads them); :func:`acd.logs.configure` serves both.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
import tempfile
from collections.abc import Iterator
from typing import TextIO, cast

from acd import logs

#: ``-v`` count → level
LEVELS = (logging.WARNING, logging.INFO, logging.DEBUG)


class LogStream:
    """Where a command's log lines go: ``target``, or a temporary file while held."""

    def __init__(self, target: TextIO) -> None:
        self.target = target
        self._held: TextIO | None = None

    def write(self, text: str) -> int:
        return (self._held or self.target).write(text)

    def flush(self) -> None:
        (self._held or self.target).flush()

    def isatty(self) -> bool:
        return self.target.isatty()

    def hold(self) -> None:
        if self._held is None:
            held = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - release()
            self._held = cast(TextIO, held)

    def release(self) -> None:
        """Write out what was held, and go on writing to the target."""
        held, self._held = self._held, None
        if held is None:
            return
        with held:
            held.seek(0)
            shutil.copyfileobj(held, self.target)
        self.target.flush()


def configure(verbose: int, log_file: str | None) -> LogStream:
    """JSON log lines on stderr (or appended to ``log_file``) at the level ``-v`` asks."""
    target = sys.stderr if log_file is None else open(  # noqa: SIM115 - the process's log
        log_file, "a", encoding="utf-8")
    stream = LogStream(target)
    logs.configure(cast(TextIO, stream), level=LEVELS[min(verbose, len(LEVELS) - 1)])
    return stream


@contextlib.contextmanager
def held_on_terminal(stream: LogStream, display: TextIO) -> Iterator[None]:
    """Hold the log lines while ``display`` (a live line) and they share a terminal."""
    if display.isatty() and stream.isatty():
        stream.hold()
    try:
        yield
    finally:
        stream.release()
