"""The write-behind journal writer: facts → buffer → Redis, in batches, off the hot path.

Routing calls :meth:`JournalWriter.on_fact` (a fact listener of the Router) and the
API calls :meth:`JournalWriter.on_audit`: each appends to the in-memory
:class:`~acd.store.buffer.JournalBuffer` and returns; nothing on that path awaits.
A background task (:meth:`JournalWriter.run`) wakes on the first new entry and
writes at once (group commit: what arrives while a write is in flight makes the next
batch; ``flush_interval_s`` > 0 lets a batch gather longer), in one Lua script
(atomic in Redis, as a MULTI/EXEC would be; with fencing it first checks the token):

* each fact to the journal stream (trimmed by ``XTRIM MAXLEN ~ journal_maxlen``);
* each finished call's record to the records stream (its ``caller_name`` empty unless
  ``records_caller_name``: the DGOS report does not need it), and each API write to the audit
  stream (trimmed by ``XTRIM MINID ~ <now − records_retention_days>``);
* once the buffer is drained by the batch, the snapshot difference
  (:mod:`acd.store.snapshot`), so the snapshot never runs ahead of the records: a
  call leaves the snapshot in the same transaction as its record is written.

Redis slow or down: the batch goes back to the buffer, ``acd_redis_up`` drops to 0,
the writer retries with exponential backoff and jitter; the next successful batch
rewrites the whole snapshot and drains the buffer. Delivery is at least once: a
batch whose acknowledgement was lost is written again (readers of the records stream
skip a uniqueid seen twice).

Fencing: with a ``fence_token`` callable, each batch runs in a Lua script that first
compares ``GET fence`` with the token and refuses the whole batch if the fence has
moved past it (another router took the lead). The writer then logs
``journal_fenced`` and stops writing for good: a paused ex-leader cannot overwrite
the new leader's state. A token of None (not the leader now) holds the batch; and
while the token source says None, new facts are not journaled at all: in an
active/standby pair the standby follows the same events as the leader, which writes
them. When this router becomes the leader, :meth:`JournalWriter.lead` makes the next
batch rewrite the whole snapshot from its own (warm) state.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec
from redis.asyncio import Redis
from redis.exceptions import RedisError

from acd.backoff import backoff_delay
from acd.config import RedisConfig
from acd.core import facts as f
from acd.logs import get_logger
from acd.store import keys
from acd.store.buffer import Entry, JournalBuffer, Kind
from acd.store.metrics import StoreMetrics
from acd.store.snapshot import Op, SnapshotTracker

if TYPE_CHECKING:
    from acd.core.ports import EngineView

log = get_logger("acd.store")

#: KEYS[1] = fence key, then the keys the batch touches; ARGV[1] = token ("-": not
#: fenced, a router alone); ARGV[2] = the batch, MessagePack: a list of
#: [command, key index, [arguments…]]. Refuses (returns -1) when the fence is past the
#: token. One script call with two arguments per batch, whatever its size: the
#: batch is packed by msgspec (C) rather than argument by argument by redis-py, which
#: cost the event loop about 20 µs an entry under a burst.
BATCH = """
if ARGV[1] ~= '-' then
  local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
  if fence > tonumber(ARGV[1]) then return -1 end
end
local ops = cmsgpack.unpack(ARGV[2])
for _, op in ipairs(ops) do
  redis.call(op[1], KEYS[op[2]], unpack(op[3]))
end
return #ops
"""

_encode = msgspec.json.Encoder().encode
_pack = msgspec.msgpack.Encoder().encode


class Fenced(Exception):
    """The fence moved past our token: another router leads now."""


class NoToken(Exception):
    """The fence-token source has no token now (not the leader): hold the batch."""


class JournalWriter:
    """See the module docstring. ``engine`` is read for the snapshot."""

    def __init__(self, redis: Redis, namespace: str, engine: EngineView, settings: RedisConfig,
                 metrics: StoreMetrics, *,
                 fence_token: Callable[[], int | None] | None = None) -> None:
        self.redis = redis
        self.ns = namespace
        self.settings = settings
        self.metrics = metrics
        self.fence_token = fence_token
        self.buffer = JournalBuffer(settings.journal_buffer, on_drop=self._dropped,
                                    on_full=self._full)
        self.snapshot = SnapshotTracker.of_engine(engine, namespace)
        self._wake = asyncio.Event()
        #: one flush at a time: two interleaved batches could land out of order
        self._flushing = asyncio.Lock()
        self._closing = False
        #: Redis answered the last write (None: nothing tried yet)
        self.up: bool | None = None
        #: refused by the fence: writes no more
        self.fenced = False
        self.batches = 0
        self._script = redis.register_script(BATCH)
        self._journal_key = keys.journal(namespace)
        self._records_key = keys.records(namespace)
        self._audit_key = keys.audit(namespace)

    # ------------------------------------------------------------------ hot path

    def _writes(self) -> bool:
        """Whether this router writes now: not fenced, and the leader if in a pair."""
        return not self.fenced and (self.fence_token is None
                                    or self.fence_token() is not None)

    def on_fact(self, fact: f.Fact) -> None:
        """Fact listener of the Router: O(1), never awaits."""
        if not self._writes():
            return  # another router writes the state now
        now = time.monotonic()
        if isinstance(fact, f.CallEnded):
            if fact.record.caller_name and not self.settings.records_caller_name:
                fact = msgspec.structs.replace(fact, record=msgspec.structs.replace(
                    fact.record, caller_name=""))
            self.buffer.append(Entry("journal", fact, now))
            self.buffer.append(Entry("record", fact.record, now))
        else:
            self.buffer.append(Entry("journal", fact, now))
        self.snapshot.note(fact)
        self._wake.set()

    def on_audit(self, entry: dict[str, Any]) -> None:
        """An API write (see :mod:`acd.http.v1`), to the audit stream."""
        if not self._writes():
            return
        self.buffer.append(Entry("audit", dict(entry), time.monotonic()))
        self._wake.set()

    def _dropped(self, kind: Kind) -> None:
        self.metrics.dropped(kind)

    def _full(self) -> None:
        log.error("journal_buffer_full", limit=self.buffer.limit,
                  dropping="oldest journal entries first (the snapshot is rewritten in "
                  "full when Redis is back); records and audit only when nothing else is "
                  "left")

    # ------------------------------------------------------------------ task

    async def run(self) -> None:
        """Write batches until :meth:`close`; retry with backoff while Redis fails."""
        attempt = 0
        settings = self.settings
        while not self._stopped():
            await self._wake.wait()
            if self._stopped():
                break
            if settings.flush_interval_s > 0:
                await asyncio.sleep(settings.flush_interval_s)  # let a batch gather
            self._wake.clear()
            try:
                await self.flush()
            except NoToken:
                await asyncio.sleep(settings.retry_initial_s)
                self._wake.set()
                continue
            except Fenced:
                return
            except (RedisError, OSError) as exc:
                attempt += 1
                self._went_down(exc)
                await asyncio.sleep(backoff_delay(attempt, settings.retry_initial_s,
                                                  settings.retry_max_s))
                self._wake.set()
                continue
            except Exception:  # a bug must not end journaling for the rest of the run
                attempt += 1
                log.exception("journal_writer_error")
                await asyncio.sleep(backoff_delay(attempt, settings.retry_initial_s,
                                                  settings.retry_max_s))
                self._wake.set()
                continue
            attempt = 0

    async def flush(self) -> None:
        """Write everything buffered (in batches of ``batch_max``), the snapshot
        difference with the last one. Raises on failure, the batch put back."""
        async with self._flushing:
            await self._flush()

    async def _flush(self) -> None:
        while True:
            batch = self.buffer.take(self.settings.batch_max)
            drained = len(self.buffer) == 0
            ops = self._entry_ops(batch)
            pending = None
            if drained:
                snapshot_ops, pending = self.snapshot.ops()
                ops += snapshot_ops
            if not ops:
                return
            try:
                await self._execute(ops)
            except BaseException:
                self.buffer.put_back(batch)
                self.snapshot.lost()
                raise
            if pending is not None:
                self.snapshot.committed(pending)
            self.batches += 1
            self.buffer.settle()
            self._came_up()
            now = time.monotonic()
            self.metrics.written([now - entry.since for entry in batch])
            if drained:
                return

    def _entry_ops(self, batch: list[Entry]) -> list[Op]:
        """One XADD per entry, then one XTRIM per stream touched (cheaper than a
        trimming clause on every XADD, and the same result)."""
        ops: list[Op] = []
        touched: set[str] = set()
        for entry in batch:
            payload = entry.payload
            try:
                data = _encode(payload).decode()  # JSON: UTF-8 (see snapshot.Op)
            except (TypeError, ValueError) as exc:  # msgspec.EncodeError is a ValueError
                log.error("journal_entry_unwritable", kind=entry.kind,
                          type=type(payload).__name__, error=str(exc))
                self.metrics.dropped(entry.kind)
                continue
            if entry.kind == "journal":
                ops.append(("XADD", self._journal_key,
                            ("*", "t", type(payload).__name__, "f", data)))
                touched.add(self._journal_key)
            elif entry.kind == "record":
                ops.append(("XADD", self._records_key, ("*", "r", data)))
                touched.add(self._records_key)
            else:
                ops.append(("XADD", self._audit_key, ("*", "a", data)))
                touched.add(self._audit_key)
        if self._journal_key in touched:
            ops.append(("XTRIM", self._journal_key,
                        ("MAXLEN", "~", str(self.settings.journal_maxlen))))
        minid = str(int((time.time() - self.settings.records_retention_days * 86_400)
                        * 1000))
        for key in (self._records_key, self._audit_key):
            if key in touched:
                ops.append(("XTRIM", key, ("MINID", "~", minid)))
        return ops

    async def _execute(self, ops: list[Op]) -> None:
        token: int | str = "-"
        if self.fence_token is not None:
            fence = self.fence_token()
            if fence is None:
                raise NoToken
            token = fence
        index: dict[str, int] = {keys.fence(self.ns): 1}
        batch = [(command, index.setdefault(key, len(index) + 1), args)
                 for command, key, args in ops]
        result = await self._script(keys=list(index), args=[token, _pack(batch)])
        if result == -1:
            self.fenced = True
            log.error("journal_fenced", token=token,
                      detail="the fence moved past this router's token: another router "
                      "leads; this one writes no more")
            raise Fenced

    def _came_up(self) -> None:
        if self.up is not True:
            if self.up is False:
                log.info("redis_up", buffered=len(self.buffer))
            self.up = True
            self.metrics.redis_up.set(1)

    def _went_down(self, exc: BaseException) -> None:
        if self.up is not False:
            log.warning("redis_down", error=f"{type(exc).__name__}: {exc}",
                        buffered=len(self.buffer),
                        detail="routing goes on; the journal buffers and catches up")
            self.up = False
        self.metrics.redis_up.set(0)

    # ------------------------------------------------------------------ stop

    def _stopped(self) -> bool:
        return self._closing or self.fenced

    def wake(self) -> None:
        self._wake.set()

    def lead(self) -> None:
        """This router has just taken the lead (a new fencing token): write again,
        starting with the whole snapshot from its own state."""
        self.fenced = False
        self.snapshot.lost()
        self._wake.set()

    async def close(self, task: asyncio.Task[None] | None, within_s: float) -> bool:
        """Stop the task, then one last flush (best effort) within ``within_s``;
        True if everything buffered was written."""
        self._closing = True
        self._wake.set()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.fenced:
            return False
        try:
            async with asyncio.timeout(within_s):
                await self.flush()
        except (TimeoutError, RedisError, OSError, NoToken, Fenced) as exc:
            log.warning("journal_final_flush_failed", error=type(exc).__name__,
                        left=len(self.buffer))
            return False
        return len(self.buffer) == 0
