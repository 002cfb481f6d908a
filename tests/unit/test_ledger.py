"""The room's ledger (:mod:`acd.core.calls`, :mod:`acd.core.roster`): it keeps the
invariants and marks what the policies must look at; the engine settles the marks."""

from __future__ import annotations

import pytest

from acd.config import Config
from acd.core.attention import AgentFree, Attention, CallWaits
from acd.core.calls import CallBook
from acd.core.context import Context
from acd.core.engine import Engine
from acd.core.inputs import AgentPause, AgentReady
from acd.core.model import AgentState, Call, CallState
from acd.core.roster import Roster
from acd.errors import IllegalTransition
from tests.support.enginekit import Driver


def _ledger(config: Config) -> tuple[Engine, Attention, Roster, CallBook]:
    """A ledger over an engine's room, with marks of its own (the engine's are
    settled at once): what the ledger alone does."""
    engine = Engine(config)
    context, attention = Context.of(engine.state), Attention()
    roster = Roster(context, attention)
    return engine, attention, roster, CallBook(context, attention, roster)


def _caller(engine: Engine, number: int) -> Call:
    state = engine.state
    return Call(id=f"u{number}", channel=f"PJSIP/trunk-{number}", linkedid=f"u{number}",
                number="15", caller_name="Jean", caller_num="0600000000", priority=5,
                arrived_at=state.now, queue="ARM_N1", enqueued_at=state.now,
                seq=state.next_seq())


def test_the_ledger_marks_a_waiting_call_and_a_free_agent_and_offers_nothing(
        site_config: Config) -> None:
    engine, attention, roster, calls = _ledger(site_config)
    engine.state.link_up = True
    call = _caller(engine, 1)
    calls.register(call)
    calls.enqueue(call, head=False, new=True)
    agent = engine.agents["arm01"]
    roster.set_state(agent, AgentState.PAUSED, "break")
    roster.set_state(agent, AgentState.AVAILABLE, "back")
    assert attention.next() == CallWaits(call, new=True)
    assert attention.next() == AgentFree(agent)
    assert attention.next() is None
    assert call.state is CallState.WAITING and call in engine.queues["ARM_N1"]
    assert agent.call is None  # nobody was offered anything


def test_a_refused_move_leaves_the_call_in_its_queue(site_config: Config) -> None:
    engine, _, _, calls = _ledger(site_config)
    call = _caller(engine, 1)
    calls.register(call)
    calls.enqueue(call, head=False, new=True)
    call.state = CallState.OVERFLOWING  # a state from which no offer is legal
    with pytest.raises(IllegalTransition):
        calls.leave_queue(call, CallState.NATIVE)
    assert call.state is CallState.OVERFLOWING
    assert call in engine.queues["ARM_N1"]


def test_the_engine_settles_a_new_call_and_a_free_agent_in_order(
        site_config: Config) -> None:
    """Two callers wait with nobody free; an agent back from a pause takes the
    oldest, the one the settling of its mark finds first."""
    d = Driver(site_config)
    for agent in list(d.engine.agents):
        d.feed(AgentPause(agent, "break", by="test"))
    first, _second = d.call(), d.call()
    assert d.offers() == []
    d.feed(AgentReady("arm02", by="test"))
    assert d.offers() == [(first, "arm02")]

