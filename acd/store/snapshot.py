"""Keeping Redis's snapshot equal to the engine's state, by difference.

The snapshot is state, not history: at each batch the tracker encodes what may have
changed, compares it with what it last wrote, and emits ``HSET``/``HDEL`` for the
difference only. What may have changed is what the facts since the last batch name
(every change of a call, an agent or a queue comes with a fact naming it: a test
plays whole days to keep it so), and everything after a fact that may touch anything
(a restore, a repair found by a resync). After a failed write it no longer knows
what Redis holds, so the next batch rewrites the whole snapshot (``DEL`` + ``HSET``,
in the same batch script).

It reads the engine on the event loop between inputs, like ``/metrics`` does; the
engine never waits for it.

No caller's number or name is written (:func:`at_rest`): Redis's append-only file
would keep them on disk long after the call. A restored call has neither until the
resync that follows every restore, where Asterisk's ``Status`` gives both again
(``CallerIDNum``, ``CallerIDName``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import msgspec

from acd.core import facts as f
from acd.core.model import Call
from acd.core.state import EngineMeta
from acd.store import keys

if TYPE_CHECKING:
    from acd.core.model import Agent
    from acd.core.ports import EngineView
    from acd.core.routing import SkillQueue


class SnapshotSource(Protocol):
    """The engine's calls, agents and queues as the snapshot reads them: read only."""

    @property
    def calls(self) -> Mapping[str, Call]: ...
    @property
    def agents(self) -> Mapping[str, Agent]: ...
    @property
    def queues(self) -> Mapping[str, SkillQueue]:
        """Each queue, iterated in service order."""


#: (command, key, arguments)
#: (command, key, arguments); arguments are text (the batch goes to Redis as
#: MessagePack, whose str type Redis's cmsgpack reads; it reads no bin type)
Op = tuple[str, str, tuple[str, ...]]
#: fields per HSET/HDEL command (keeps each command, and a Lua call, small)
CHUNK = 200

_encode = msgspec.json.Encoder().encode
#: fact type → whether it names a call, an agent, a queue
_NAMES: dict[type, tuple[bool, bool, bool]] = {}
#: facts after which any call, agent or queue may have changed: all are compared
_SWEEPING: tuple[type[f.Fact], ...] = (f.StateRestored, f.StateRepaired)


def _names_of(kind: type) -> tuple[bool, bool, bool]:
    fields = getattr(kind, "__struct_fields__", ())
    return "call" in fields, "agent" in fields, "queue" in fields


@dataclass(slots=True)
class Pending:
    """What a batch writes; applied to the tracker's memory once Redis acknowledged."""

    full: bool
    calls: dict[str, bytes | None] = field(default_factory=dict)
    agents: dict[str, bytes | None] = field(default_factory=dict)
    queues: dict[str, bytes | None] = field(default_factory=dict)
    meta: bytes | None = None


@dataclass(frozen=True, slots=True)
class Held:
    """The snapshot's calls, agents and queues as last written (encoded JSON)."""

    calls: dict[str, bytes]
    agents: dict[str, bytes]
    queues: dict[str, bytes]


def at_rest(call: Call) -> Call:
    """``call`` as the snapshot keeps it: without the caller's number and name."""
    if not call.caller_num and not call.caller_name:
        return call
    return dataclasses.replace(call, caller_num="", caller_name="")


class SnapshotTracker:
    """See the module docstring."""

    def __init__(self, engine: SnapshotSource, namespace: str,
                 meta: Callable[[], EngineMeta]) -> None:
        self.engine = engine
        #: the engine-wide state (bascules, partners held down, counters), now
        self.meta = meta
        self.ns = namespace
        self._calls: dict[str, bytes] = {}
        self._agents: dict[str, bytes] = {}
        self._queues: dict[str, bytes] = {}
        self._meta = b""
        self._dirty_calls: set[str] = set()
        self._dirty_agents: set[str] = set()
        self._dirty_queues: set[str] = set()
        #: the next batch compares everything (after a restore or a repair)
        self._everything = False
        #: the next batch rewrites everything (at start, and after a failed write)
        self.full = True

    @classmethod
    def of_engine(cls, engine: EngineView, namespace: str) -> SnapshotTracker:
        """The tracker of ``engine``: its state read through :class:`SnapshotSource`,
        its engine-wide state by its ``meta()``."""
        return cls(engine, namespace, engine.meta)

    # ------------------------------------------------------------------ hot path

    def note(self, fact: f.Fact) -> None:
        """Remember what ``fact`` names (O(1); called for every fact)."""
        kind = type(fact)
        fields = _NAMES.get(kind)
        if fields is None:
            fields = _NAMES[kind] = _names_of(kind)
        has_call, has_agent, has_queue = fields
        if has_call:
            self._dirty_calls.add(fact.call)  # type: ignore[attr-defined]
        if has_agent and fact.agent is not None:  # type: ignore[attr-defined]
            self._dirty_agents.add(fact.agent)  # type: ignore[attr-defined]
        if has_queue:
            self._dirty_queues.add(fact.queue)  # type: ignore[attr-defined]
        if kind is f.CallTransferred:
            self._dirty_queues.add(fact.from_queue)  # type: ignore[attr-defined]
            self._dirty_queues.add(fact.to_queue)  # type: ignore[attr-defined]
        elif kind in _SWEEPING:
            self._everything = True

    # ------------------------------------------------------------------ batches

    def ops(self) -> tuple[list[Op], Pending]:
        """The commands that bring Redis's snapshot to the engine's state now."""
        engine = self.engine
        full = self.full
        pending = Pending(full=full)
        everything = full or self._everything
        self._everything = False
        call_ids: Iterable[str] = (set(engine.calls) | set(self._calls)) if everything \
            else self._dirty_calls
        agent_ids: Iterable[str] = engine.agents if everything else self._dirty_agents
        queue_names: Iterable[str] = (set(engine.queues) | set(self._queues)) if everything \
            else self._dirty_queues
        self._dirty_calls, self._dirty_agents, self._dirty_queues = set(), set(), set()
        for call_id in call_ids:
            call = engine.calls.get(call_id)
            pending.calls[call_id] = _encode(at_rest(call)) if call is not None else None
        for agent_id in agent_ids:
            agent = engine.agents.get(agent_id)
            pending.agents[agent_id] = _encode(agent) if agent is not None else None
        for name in queue_names:
            order = [call.id for call in engine.queues[name]] if name in engine.queues else []
            pending.queues[name] = _encode(order) if order else None
        pending.meta = _encode(self.meta())
        ops: list[Op] = []
        if full:
            ops += [("DEL", key, ()) for key in keys.snapshot_keys(self.ns)]
        ops += self._hash_ops(keys.calls(self.ns), pending.calls, self._calls, full)
        ops += self._hash_ops(keys.agents(self.ns), pending.agents, self._agents, full)
        ops += self._hash_ops(keys.queues(self.ns), pending.queues, self._queues, full)
        if full or pending.meta != self._meta:
            ops.append(("HSET", keys.state(self.ns), (keys.META_FIELD, pending.meta.decode())))
        return ops, pending

    @staticmethod
    def _hash_ops(key: str, new: dict[str, bytes | None], old: dict[str, bytes],
                  full: bool) -> list[Op]:
        sets: list[str] = []
        dels: list[str] = []
        for name, value in new.items():
            if value is None:
                if not full and name in old:
                    dels.append(name)
            elif full or old.get(name) != value:
                sets += (name, value.decode())  # JSON: UTF-8
        ops: list[Op] = []
        for start in range(0, len(sets), 2 * CHUNK):
            ops.append(("HSET", key, tuple(sets[start:start + 2 * CHUNK])))
        for start in range(0, len(dels), CHUNK):
            ops.append(("HDEL", key, tuple(dels[start:start + CHUNK])))
        return ops

    def committed(self, pending: Pending) -> None:
        """Redis acknowledged the batch that carried ``pending``."""
        if pending.full:
            self._calls.clear()
            self._agents.clear()
            self._queues.clear()
            self.full = False
        for memory, changes in ((self._calls, pending.calls), (self._agents, pending.agents),
                                (self._queues, pending.queues)):
            for name, value in changes.items():
                if value is None:
                    memory.pop(name, None)
                else:
                    memory[name] = value
        if pending.meta is not None:
            self._meta = pending.meta

    def held(self) -> Held:
        """What Redis holds of the calls, agents and queues, as far as this tracker
        knows (its last acknowledged batch): equal to a fresh tracker's first batch
        when no change came without a fact."""
        return Held(calls=dict(self._calls), agents=dict(self._agents),
                    queues=dict(self._queues))

    def lost(self) -> None:
        """A write failed: what Redis holds is unknown; rewrite it all next time."""
        self.full = True
