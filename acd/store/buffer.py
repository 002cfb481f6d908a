"""The in-memory buffer between the engine's facts and Redis. Bounded; no I/O.

Routing appends (O(1), never waits); the writer takes batches and puts a batch back
at the front if Redis refused it. Two lanes share the bound:

* ``journal`` — the engine's facts: history. When the buffer is full the oldest of
  these are dropped first. Nothing of the state is lost with them: the snapshot is
  rebuilt from the engine itself, and rewritten in full once Redis is back.
* ``record`` and ``audit`` — finished calls (the DGOS figures) and API writes. They
  are dropped only when the whole buffer is records and audit entries (at the default
  100,000 entries, days of a large SAS's calls with Redis down), oldest first.

Every drop is counted by kind (``acd_journal_dropped_total{kind}``); the first drop
of an episode is logged (``journal_buffer_full``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Final, Literal, NamedTuple

Kind = Literal["journal", "record", "audit"]
KINDS: Final[tuple[Kind, ...]] = ("journal", "record", "audit")


class Entry(NamedTuple):
    """A NamedTuple: built for every fact on the hot path, it must be cheap."""

    kind: Kind
    #: a Fact, a CallRecord or an audit dict (encoded by the writer, off the hot path)
    payload: object
    #: time.monotonic() when it was appended (journal lag)
    since: float


class JournalBuffer:
    """Bounded FIFO of :class:`Entry`, in two lanes (see the module docstring)."""

    def __init__(self, limit: int, *, on_drop: Callable[[Kind], None] | None = None,
                 on_full: Callable[[], None] | None = None) -> None:
        self.limit = limit
        self._history: deque[Entry] = deque()
        self._durable: deque[Entry] = deque()
        self._on_drop = on_drop
        self._on_full = on_full
        #: a drop happened and the buffer has not gone back under 90 % since
        self.full = False
        self.dropped: dict[Kind, int] = dict.fromkeys(KINDS, 0)

    def __len__(self) -> int:
        return len(self._history) + len(self._durable)

    def append(self, entry: Entry) -> None:
        (self._history if entry.kind == "journal" else self._durable).append(entry)
        if len(self._history) + len(self._durable) > self.limit:
            self._bound()

    def take(self, limit: int) -> list[Entry]:
        """Up to ``limit`` entries, oldest first in each lane (records first)."""
        batch: list[Entry] = []
        for lane in (self._durable, self._history):
            while lane and len(batch) < limit:
                batch.append(lane.popleft())
        return batch

    def settle(self) -> None:
        """A batch was written: the episode of drops is over once under 90 %."""
        if self.full and len(self) < self.limit * 0.9:
            self.full = False

    def put_back(self, batch: list[Entry]) -> None:
        """A batch that was not written goes back in front, in its order."""
        for entry in reversed(batch):
            (self._history if entry.kind == "journal" else self._durable).appendleft(entry)
        self._bound()

    def _bound(self) -> None:
        while len(self) > self.limit:
            lane = self._history if self._history else self._durable
            dropped = lane.popleft()
            self.dropped[dropped.kind] += 1
            if self._on_drop is not None:
                self._on_drop(dropped.kind)
            if not self.full:
                self.full = True
                if self._on_full is not None:
                    self._on_full()
