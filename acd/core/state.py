"""The engine's state as data: what a restart needs that Asterisk does not know.

Asterisk knows which callers are still there, and the dialplan stores each caller's
arrival time and priority on its channel. It does not know the rest: the place of a
call put back at the head of its queue, its legs and first pick-up, agents' states
and pause reasons, missed offers, wrap-up ends, bascules, partners held down, the
sequence counter. :class:`EngineState` holds all of it; :func:`capture` takes it from
an engine, and the engine takes it back with the input
:class:`~acd.core.inputs.StateRestored` (see :mod:`acd.core.restore`). Pure: the
Redis side is :mod:`acd.store`.

Calls and agents are the model's own dataclasses (msgspec encodes and decodes them
as they are), so a field added to :class:`~acd.core.model.Call` is kept across a
restart without touching this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from acd.core.model import Agent, Call
from acd.core.overflow_rules import Bascule

if TYPE_CHECKING:
    from acd.core.room import RoomState

#: bumped when a change makes older snapshots unreadable
STATE_VERSION = 1


class EngineMeta(msgspec.Struct, kw_only=True):
    """The engine-wide part of the state (everything but calls, agents and queues)."""

    version: int = STATE_VERSION
    #: engine time when captured
    at: float = 0.0
    #: the sequence counter: new calls after a restart are ordered after the old ones
    seq: int = 0
    bascules: dict[str, Bascule] = msgspec.field(default_factory=dict)
    partner_down_until: dict[str, float] = msgspec.field(default_factory=dict)
    #: partial-overflow accumulators (:class:`~acd.core.overflow_rules.ShareCounter`)
    shares: dict[str, float] = msgspec.field(default_factory=dict)
    #: handling times per queue (the estimated wait)
    handled: dict[str, list[float]] = msgspec.field(default_factory=dict)


class EngineState(msgspec.Struct, kw_only=True):
    meta: EngineMeta
    #: every call not ended
    calls: list[Call] = msgspec.field(default_factory=list)
    agents: list[Agent] = msgspec.field(default_factory=list)
    #: queue → ids of its waiting calls in service order
    queues: dict[str, list[str]] = msgspec.field(default_factory=dict)


def capture_meta(state: RoomState) -> EngineMeta:
    return EngineMeta(
        at=state.now,
        seq=state.seq,
        bascules=dict(state.bascules),
        partner_down_until=dict(state.partner_down_until),
        shares={q: c.level for q, c in state.shares.items()},
        handled={q: list(w) for q, w in state.handled.items()},
    )


def capture(state: RoomState) -> EngineState:
    """The whole state of the room now (a full snapshot); each queue's calls in
    service order."""
    return EngineState(
        meta=capture_meta(state),
        calls=list(state.calls.values()),
        agents=list(state.agents.values()),
        queues={name: [call.id for call in queue] for name, queue in state.queues.items()},
    )


call_decoder = msgspec.json.Decoder(Call)
agent_decoder = msgspec.json.Decoder(Agent)
meta_decoder = msgspec.json.Decoder(EngineMeta)
order_decoder = msgspec.json.Decoder(list[str])
