"""``acd run --records-out`` (and ``acd simulate --records-out``): call records
appended to a file."""

from __future__ import annotations

import msgspec

from acd.core import facts as f
from acd.core.records import CallRecord


class RecordsFile:
    """Call records appended to a file, one JSON line each, flushed at once (so a
    process killed with SIGKILL loses none it had written)."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "ab")  # noqa: SIM115 - held for the router's lifetime
        self._encoder = msgspec.json.Encoder()

    def on_fact(self, fact: f.Fact) -> None:
        if isinstance(fact, f.CallEnded):
            self.write(fact.record)

    def write(self, record: CallRecord) -> None:
        self._file.write(self._encoder.encode(record) + b"\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()
