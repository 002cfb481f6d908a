"""Reading the saved state back from Redis (the engine takes it with
:class:`~acd.core.inputs.StateRestored`, see :mod:`acd.core.restore`).

The snapshot is read in one MULTI/EXEC, so it is the state of one batch: the writer
updates it in the same transaction as the journal and the records, so nothing the
snapshot lacks is waiting in the journal, and restoring needs no journal replay.
An entry that cannot be decoded (written by another version) is skipped and logged;
a snapshot of another state version is not used at all.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec
from redis.asyncio import Redis

from acd.core.model import Agent, Call
from acd.core.state import (
    STATE_VERSION,
    EngineMeta,
    EngineState,
    agent_decoder,
    call_decoder,
    meta_decoder,
    order_decoder,
)
from acd.logs import get_logger
from acd.store import keys

log = get_logger("acd.store")


async def read_state(redis: Redis, namespace: str) -> EngineState | None:
    """The saved state of ``namespace``, or None if there is none (first start)."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hgetall(keys.calls(namespace))
        pipe.hgetall(keys.agents(namespace))
        pipe.hgetall(keys.queues(namespace))
        pipe.hget(keys.state(namespace), keys.META_FIELD)
        raw_calls, raw_agents, raw_queues, raw_meta = await pipe.execute()
    if raw_meta is None and not raw_calls and not raw_agents:
        return None
    meta = EngineMeta()
    if raw_meta is not None:
        try:
            meta = meta_decoder.decode(raw_meta)
        except msgspec.DecodeError as exc:
            log.error("snapshot_unreadable", key=keys.state(namespace), error=str(exc))
            return None
    if meta.version != STATE_VERSION:
        log.error("snapshot_unreadable", key=keys.state(namespace),
                  error=f"state version {meta.version}, this router reads {STATE_VERSION}")
        return None
    calls = _decode_all(raw_calls, call_decoder, keys.calls(namespace))
    agents = _decode_all(raw_agents, agent_decoder, keys.agents(namespace))
    queues = {_text(name): order
              for name, order in _decode_map(raw_queues, keys.queues(namespace)).items()}
    return EngineState(meta=meta, calls=calls, agents=agents, queues=queues)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


T = TypeVar("T", Call, Agent)


def _decode_all(raw: dict[bytes, bytes], decoder: msgspec.json.Decoder[T],
                key: str) -> list[T]:
    out: list[T] = []
    for field, value in raw.items():
        try:
            out.append(decoder.decode(value))
        except msgspec.DecodeError as exc:
            log.error("snapshot_entry_unreadable", key=key, field=_text(field), error=str(exc))
    return out


def _decode_map(raw: dict[bytes, bytes], key: str) -> dict[bytes | str, list[str]]:
    out: dict[bytes | str, list[str]] = {}
    for field, value in raw.items():
        try:
            out[field] = order_decoder.decode(value)
        except msgspec.DecodeError as exc:
            log.error("snapshot_entry_unreadable", key=key, field=_text(field), error=str(exc))
    return out
