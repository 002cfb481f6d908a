"""``acd run --records-out``: each finished call's record appended to a file."""

from __future__ import annotations

import msgspec

from acd.core import facts as f


class RecordsFile:
    """Call records appended to a file, one JSON line each, flushed at once (so a
    process killed with SIGKILL loses none it had written)."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "ab")  # noqa: SIM115 - held for the router's lifetime
        self._encoder = msgspec.json.Encoder()

    def on_fact(self, fact: f.Fact) -> None:
        if isinstance(fact, f.CallEnded):
            self._file.write(self._encoder.encode(fact.record) + b"\n")
            self._file.flush()

    def close(self) -> None:
        self._file.close()
