"""``acd run --records-out`` (and ``acd simulate --records-out``): call records
appended to a file.

A write that fails (a full disk, an I/O error) loses no record: the lines wait in
memory, in order (at most ``PENDING_LIMIT``; past it the oldest waiting are dropped,
counted and logged), and are written again before the next record and every
``RETRY_S`` seconds, until the file takes them. A line the disk took in part is
finished, never written twice. Meanwhile routing goes on; ``/healthz`` shows
``records_file`` ``failing`` with the error (its overall status ``warn``: still 200),
``acd_records_file_errors_total`` counts the failed writes and
``acd_records_file_pending`` the lines waiting.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from typing import Any

import msgspec
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from acd.aiotasks import running_loop
from acd.core import facts as f
from acd.core.records import CallRecord
from acd.logs import get_logger

log = get_logger("acd.records")

#: lines held in memory while the file cannot be written (a record is about 1 KB:
#: about 10 MB, several days of a large SAS)
PENDING_LIMIT = 10_000
#: while lines wait, the file is tried again this often (seconds), and before each new
#: record
RETRY_S = 2.0


class RecordsFile:
    """Call records appended to a file, one JSON line each, written at once (so a
    process killed with SIGKILL loses none it had written); kept and written again
    while the file cannot take them (module doc)."""

    def __init__(self, path: str, *, pending_limit: int = PENDING_LIMIT,
                 retry_s: float = RETRY_S) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                           0o666)
        self._encoder = msgspec.json.Encoder()
        self._limit = max(1, pending_limit)
        self._retry_s = retry_s
        #: lines not written yet, oldest first; the first may be written in part
        self._pending: deque[bytes] = deque()
        self._written_of_first = 0
        self._retry: asyncio.TimerHandle | None = None
        self._failing_since: float | None = None
        self._episode_errors = 0
        self._dropping = False
        #: failed writes since start, retries included (acd_records_file_errors_total)
        self.errors = 0
        #: lines dropped because too many were waiting (acd_records_file_dropped_total)
        self.dropped = 0
        #: the last failed write's error, until a write succeeds
        self.error: str | None = None

    @property
    def pending(self) -> int:
        """Lines waiting to be written."""
        return len(self._pending)

    def on_fact(self, fact: f.Fact) -> None:
        if isinstance(fact, f.CallEnded):
            self.write(fact.record)

    def write(self, record: CallRecord) -> None:
        """Append ``record`` after the lines still waiting, and write them all now if
        the file takes them. Never raises for the file's sake."""
        self._pending.append(self._encoder.encode(record) + b"\n")
        if len(self._pending) > self._limit:
            self._drop_oldest()
        self.flush()

    def flush(self) -> bool:
        """Write the waiting lines, in order; True when none is left."""
        pending = self._pending
        written = 0
        while pending:
            line = pending[0]
            try:
                n = os.write(self._fd, memoryview(line)[self._written_of_first:])
            except OSError as exc:
                self._failed(exc)
                return False
            if n <= 0:  # a regular file takes something or raises; never spin
                self._failed(OSError("the file took nothing"))
                return False
            self._written_of_first += n
            if self._written_of_first >= len(line):
                pending.popleft()
                self._written_of_first = 0
                written += 1
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if self._failing_since is not None:
            log.info("records_file_recovered", path=self.path, written=written,
                     failed_for_s=round(time.monotonic() - self._failing_since, 1),
                     failed_writes=self._episode_errors)
            self._failing_since = None
            self._episode_errors = 0
            self._dropping = False
        self.error = None
        return True

    def _failed(self, exc: OSError) -> None:
        self.errors += 1
        self._episode_errors += 1
        self.error = f"{type(exc).__name__}: {exc.strerror or exc}"
        if self._failing_since is None:
            self._failing_since = time.monotonic()
            log.error("records_file_failed", path=self.path, error=self.error,
                      pending=len(self._pending), retry_every_s=self._retry_s)
        self._schedule_retry()

    def _schedule_retry(self) -> None:
        if self._retry is not None:
            return
        loop = running_loop()
        if loop is None:  # no event loop (a tool writing offline): the next write
            return
        self._retry = loop.call_later(self._retry_s, self._on_retry)

    def _on_retry(self) -> None:
        self._retry = None
        if self._pending:
            self.flush()

    def _drop_oldest(self) -> None:
        """Drop the oldest line not begun (a line begun is finished, never cut)."""
        index = 1 if self._written_of_first else 0
        del self._pending[index]
        self.dropped += 1
        if not self._dropping:
            self._dropping = True
            log.error("records_file_dropping", path=self.path, limit=self._limit,
                      reason="too many records waiting for the file: the oldest go")

    def health(self) -> dict[str, Any]:
        """``/healthz``'s ``records_file``: ``failing`` while lines wait for the file."""
        part: dict[str, Any] = {"status": "failing" if self._pending else "ok",
                                "path": self.path, "pending": len(self._pending),
                                "errors": self.errors, "dropped": self.dropped}
        if self._pending and self.error is not None:
            part["error"] = self.error
        return part

    def metrics(self) -> list[Any]:
        """``acd_records_file_errors_total``, ``acd_records_file_dropped_total`` and
        ``acd_records_file_pending``."""
        errors = CounterMetricFamily(
            "acd_records_file_errors", "Failed writes of the call records file "
            "(--records-out), retries included; the records wait in memory.")
        errors.add_metric([], self.errors)
        dropped = CounterMetricFamily(
            "acd_records_file_dropped", "Call records dropped from memory because too "
            "many were waiting for the records file (--records-out).")
        dropped.add_metric([], self.dropped)
        pending = GaugeMetricFamily(
            "acd_records_file_pending", "Call records waiting in memory for the records "
            "file (--records-out) to take them.")
        pending.add_metric([], len(self._pending))
        return [errors, dropped, pending]

    def close(self) -> None:
        """A last try, then close the file; raises ``OSError`` (after logging
        ``records_file_unwritten``) if lines are left unwritten."""
        done = self.flush() if self._pending else True
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        os.close(self._fd)
        if not done:
            log.error("records_file_unwritten", path=self.path, lines=len(self._pending),
                      error=self.error)
            raise OSError(f"{len(self._pending)} call records not written to "
                          f"{self.path}: {self.error}")
