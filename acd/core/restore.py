"""Restart and drift: taking back a saved state, and the periodic reconciliation. Pure.

Restore (:class:`~acd.core.inputs.StateRestored`), at start, before the AMI session:
the calls of the previous run come back with their queue positions (each queue's
saved service order), legs, first pick-up, transfers and partner attempts; agents
with their states, pause reasons, missed offers and wrap-up ends; the sequence
counter goes past every restored call. Nothing is routed yet (the link is down).
The :class:`~acd.core.inputs.ChannelsSnapshot` of the first login then reconciles
it with Asterisk, as after any reconnect: a call whose channel is gone is closed
(``ended_unobserved``, outcome from what it went through: answered if it was picked
up, else abandoned), Asterisk's view of each surviving call wins over the saved one
(a call saved as waiting that Asterisk shows in the fail-open ``Queue()``, talking or
ringing is followed there; only callers in ``[holding]`` wait again, in their saved
order), callers that arrived meanwhile are picked up in arrival order (ACD callers
only, by the rule of :mod:`acd.core.evidence`), an agent "on call" with no channel is
freed, and every phone is busy exactly when it has a channel. Only then are the
timers of the surviving calls armed again (in Asterisk's time, which the engine has
by then).

The periodic reconciliation is :mod:`acd.core.resync`'s.
"""

from __future__ import annotations

from collections import deque

from acd.core import facts as f
from acd.core import inputs as i
from acd.core.constants import HANDLE_WINDOW
from acd.core.context import Context
from acd.core.model import Agent, AgentState, Call, CallState, device_of
from acd.core.overflow import Overflow
from acd.core.timerkind import TimerKind


class Restore:
    """Takes back an :class:`~acd.core.state.EngineState`; re-arms its timers."""

    def __init__(self, context: Context, *, overflow: Overflow) -> None:
        self.state, self.fx, self.timers, self.config = context
        self.overflow = overflow

    def on_restored(self, event: i.StateRestored) -> None:
        saved = event.state
        state = self.state
        if state.calls:
            self.fx.ignore("StateRestored", "the engine already follows calls")
            return
        for call in saved.calls:
            if call.state is CallState.ENDED or call.channel in state.by_channel:
                continue
            state.calls[call.id] = call
            state.by_channel[call.channel] = call
        self._restore_queues(saved.queues)
        for agent in saved.agents:
            self.restore_agent(agent)
        self._restore_agent_legs()
        state.seq = max(state.seq, saved.meta.seq, *(c.seq for c in state.calls.values()))
        for name, times in saved.meta.handled.items():
            state.handled[name] = deque(times, maxlen=HANDLE_WINDOW)
        self.overflow.restore_meta(saved.meta)
        state.rearm = True
        state.restored = set(state.calls)
        queued = sum(len(q) for q in state.queues.values())
        self.fx.fact(f.StateRestored(at=state.now, calls=len(state.calls), waiting=queued,
                                     agents=len(saved.agents), saved_at=saved.meta.at))

    def _restore_queues(self, saved_queues: dict[str, list[str]]) -> None:
        """Waiting calls go back in each queue's saved order; those missing from it
        (saved in no order) are inserted by arrival."""
        state = self.state
        placed: set[str] = set()
        for name, ids in saved_queues.items():
            for call_id in ids:
                waiting = state.calls.get(call_id)
                if waiting is not None and waiting.state is CallState.WAITING \
                        and waiting.queue == name and call_id not in placed:
                    state.queue(name).push(waiting)
                    placed.add(call_id)
        for call in sorted(state.calls.values(), key=lambda c: c.seq):
            if call.state is CallState.WAITING and call.id not in placed:
                state.queue(call.queue).insert_in_order(call)  # not in a saved order

    def _restore_agent_legs(self) -> None:
        """Each agent leg of a restored call belongs to the agent whose phone it is on,
        else to the call's agent."""
        state = self.state
        for call in state.calls.values():
            holder = state.agent_of(call)
            for channel in call.agent_channels:
                leg_agent = state.by_device.get(device_of(channel)) or holder
                if leg_agent is not None:
                    state.agent_legs[channel] = (call, leg_agent)

    def restore_agent(self, saved: Agent) -> None:
        state = self.state
        agent = state.agents.get(saved.id)
        if agent is None:
            if not saved.observed:
                return  # no longer in the config
            agent = saved
            state.agents[agent.id] = agent
            state.by_device.setdefault(agent.device, agent)
        old = agent.state
        state.pool.discard(agent)
        agent.state = saved.state
        agent.pause_reason = saved.pause_reason
        agent.idle_since = saved.idle_since
        agent.call = saved.call if saved.call in state.calls else None
        agent.missed_offers = saved.missed_offers
        agent.wrap_up_until = saved.wrap_up_until
        agent.pending, agent.pending_reason = saved.pending, saved.pending_reason
        agent.device_busy = saved.device_busy
        if agent.state is AgentState.AVAILABLE and not agent.device_busy \
                and not agent.observed:
            state.pool.add(agent)
        if agent.state is not old:
            self.fx.fact(f.AgentStateChanged(
                at=state.now, agent=agent.id, old=old.value, new=agent.state.value,
                reason=agent.pause_reason if agent.state is AgentState.PAUSED
                else "restored"))

    def resynced(self) -> None:
        """After the first resync following a restore: arm the timers of what is left,
        in Asterisk's time (the restore itself ran before any event gave it). (Every
        resync rebuilds the phones' busy state from the channels.)"""
        state = self.state
        if not state.rearm:
            return
        state.rearm = False
        state.restored = set()
        routing = self.config.routing
        arm = self.timers.arm
        for call in list(state.calls.values()):
            if call.state is CallState.WAITING:
                for delay in state.expansion.get(call.queue, ()):
                    if call.enqueued_at + delay > state.now:
                        arm(call.enqueued_at + delay, TimerKind.EXPAND, call.id,
                            call.offer_id)
            elif call.state is CallState.OFFERED:
                arm(state.now + routing.ring_timeout_s + routing.ring_grace_s,
                    TimerKind.RING, call.id, call.offer_id)
            elif call.state is CallState.HELD:
                arm(state.now + routing.orphan_requeue_s, TimerKind.ORPHAN, call.id,
                    call.offer_id)
            self.overflow.rearm_call(call)
        for agent in state.agents.values():
            if agent.state is AgentState.WRAP_UP:
                arm(agent.wrap_up_until, TimerKind.WRAP, agent.id,
                    int(agent.wrap_up_until * 1000))

    def known_before_link(self, call: Call) -> bool:
        """``call`` was known before the link came up (restored), so a list taken
        since cannot have missed it."""
        return call.id in self.state.restored
