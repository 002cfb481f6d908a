"""The agents' side of the room's ledger: states, the pool of free agents, wrap-up,
the hold after a busy answer, and who rings for which call.

Every change of an agent's state goes through :meth:`Roster.set_state`, which keeps
the invariant the offers rely on: an agent is in the pool of free agents exactly
when available and selectable (:meth:`Roster.selectable`). An agent who becomes free
is marked (:class:`~acd.core.attention.Attention`), never offered work here: the
engine settles the mark (a warm transfer waiting for its skill first, then the
queues).
"""

from __future__ import annotations

from acd.core import facts as f
from acd.core.attention import Attention
from acd.core.constants import BUSY_HOLD_S, NO_ANSWER_REASON
from acd.core.context import Context
from acd.core.model import Agent, AgentState, Call, move_agent
from acd.core.timerkind import TimerKind


class Roster:
    """Changes the agents' states and their links to the calls ringing them."""

    def __init__(self, context: Context, attention: Attention) -> None:
        self.state, self.fx, self.timers, self.config = context
        self.attention = attention

    def add_configured(self) -> None:
        """The agents of the config; those configured logged in are available."""
        state = self.state
        for cfg in self.config.agents:
            agent = Agent(id=cfg.id, device=cfg.device, skills=dict(cfg.skills), name=cfg.name)
            state.agents[agent.id] = agent
            state.by_device[agent.device] = agent
            if cfg.logged_in:
                self.set_state(agent, AgentState.AVAILABLE, "configured logged in")

    # ------------------------------------------------------------------ states

    def set_state(self, agent: Agent, new: AgentState, reason: str | None) -> None:
        state = self.state
        old = move_agent(agent, new)
        selectable = new is AgentState.AVAILABLE and self.selectable(agent)
        if new is AgentState.AVAILABLE:
            agent.idle_since = state.now
            agent.pause_reason = None
            if selectable:
                state.pool.add(agent)
        elif old is AgentState.AVAILABLE:
            state.pool.discard(agent)
        if new is AgentState.PAUSED:
            agent.pause_reason = reason
        if old is not new:
            self.fx.fact(f.AgentStateChanged(at=state.now, agent=agent.id, old=old.value,
                                             new=new.value, reason=reason))
        if selectable:
            self.attention.agent_free(agent)

    def selectable(self, agent: Agent) -> bool:
        """Whether calls may be offered to ``agent`` when available: a configured
        agent whose phone is free (:meth:`phone_busy`)."""
        return not agent.observed and not self.phone_busy(agent)

    def phone_busy(self, agent: Agent) -> bool:
        """Busy by its device state, or held out after answering an offer busy."""
        return agent.device_busy or self.state.now < agent.busy_until

    def back_in_pool(self, agent: Agent) -> None:
        """``agent``, available, may be offered calls again (its phone is free)."""
        if agent.state is AgentState.AVAILABLE and self.selectable(agent):
            self.state.pool.add(agent)
            self.attention.agent_free(agent)

    def set_device_busy(self, agent: Agent, busy: bool) -> None:
        agent.device_busy = busy
        self.fx.fact(f.AgentPhoneChanged(at=self.state.now, agent=agent.id, busy=busy))
        if agent.state is AgentState.AVAILABLE:
            if busy:
                self.state.pool.discard(agent)
            else:  # not while held after a busy answer
                self.back_in_pool(agent)

    def answered_busy(self, agent: Agent, call: str, queue: str, kind: str) -> None:
        """``agent``'s phone answered an offer of ``call`` busy: not a missed offer;
        the agent is left out of selection for ``BUSY_HOLD_S`` (see the constant)."""
        state = self.state
        agent.busy_until = state.now + BUSY_HOLD_S
        state.pool.discard(agent)
        self.timers.arm(agent.busy_until, TimerKind.BUSY, agent.id,
                        int(agent.busy_until * 1000))
        self.fx.fact(f.OfferBusy(at=state.now, call=call, queue=queue, agent=agent.id,
                                 until=agent.busy_until, kind=kind))

    def rang_in_vain(self, agent: Agent, call: str, queue: str, kind: str, reason: str, *,
                     missed: bool, busy: bool) -> None:
        """``agent``'s phone rang for ``call`` and was not picked up there: held out of
        selection a while when it answered busy, paused "no answer" after
        ``max_missed_offers`` missed offers in a row, else free again."""
        if busy:
            self.answered_busy(agent, call, queue, kind)
        if missed:
            agent.missed_offers += 1
        if missed and agent.missed_offers >= self.config.routing.max_missed_offers:
            agent.missed_offers = 0
            self.set_state(agent, AgentState.PAUSED, NO_ANSWER_REASON)
        else:
            self.free(agent, reason)

    def free(self, agent: Agent, reason: str) -> None:
        """End of a ring or call with no wrap-up: apply a pending change or go idle."""
        if agent.pending is not None:
            pending, pending_reason = agent.pending, agent.pending_reason
            agent.pending = agent.pending_reason = None
            self.set_state(agent, pending, pending_reason)
        elif agent.state in (AgentState.RINGING, AgentState.ON_CALL):
            self.set_state(agent, AgentState.AVAILABLE, reason)

    def after_call(self, agent: Agent) -> None:
        state = self.state
        queue = None
        call = state.calls.get(agent.call) if agent.call else None
        if call is not None:
            queue = call.queue
        agent.call = None
        if agent.pending is not None or agent.observed:
            self.free(agent, "call ended")
            return
        wrap = self.config.skill(queue).wrap_up_s if queue else 0.0
        if wrap <= 0:
            self.set_state(agent, AgentState.AVAILABLE, "call ended")
            return
        agent.wrap_up_until = state.now + wrap
        self.set_state(agent, AgentState.WRAP_UP, None)
        self.timers.arm(agent.wrap_up_until, TimerKind.WRAP, agent.id,
                        int(agent.wrap_up_until * 1000))

    # ------------------------------------------------------------------ links

    def ring(self, agent: Agent, call: Call) -> None:
        """``agent``'s phone rings for ``call``: the agent holds it until the ring ends."""
        agent.call = call.id
        self.set_state(agent, AgentState.RINGING, None)

    def talk(self, agent: Agent, call: Call) -> None:
        """``agent`` talks with ``call`` (Asterisk shows it): linked both ways. An agent
        the router holds back (paused, logged out: the fail-open queue rang it) goes
        back to that state when the call ends."""
        call.agent = agent.id
        call.also_ringing = []
        agent.call = call.id
        agent.missed_offers = 0
        if agent.state in (AgentState.PAUSED, AgentState.LOGGED_OUT) and agent.pending is None:
            agent.pending, agent.pending_reason = agent.state, agent.pause_reason
        self.set_state(agent, AgentState.ON_CALL, None)

    def let_go(self, agent: Agent, call: str | None) -> bool:
        """``agent`` no longer holds ``call`` (its state is the caller's to change);
        whether it held it."""
        if agent.call != call:
            return False
        agent.call = None
        return True

    def leave_ring(self, call: Call, agent: Agent) -> None:
        """``agent`` no longer rings for ``call`` (its phone's part of the Dial ended,
        or Asterisk shows it busy elsewhere); the other phones ring on. Its state is
        the caller's to change."""
        ringing = [name for name in call.ringing_agents() if name != agent.id]
        call.agent, call.also_ringing = (ringing[0], ringing[1:]) if ringing else (None, [])
        if agent.call == call.id:
            agent.call = None
        self.fx.fact(f.RingLeft(at=self.state.now, call=call.id, agent=agent.id))

    def ring_ended(self, call: Call, agent: Agent, reason: str, *, missed: bool,
                   busy: bool = False) -> None:
        """One phone of a ring group ended unanswered, the others ring on."""
        holds = agent.call == call.id
        self.leave_ring(call, agent)
        if holds:
            self.rang_in_vain(agent, call.id, call.queue, "offer", reason,
                              missed=missed, busy=busy)

    def release_ring(self, call: Call, reason: str, *, keep: Agent | None = None,
                     missed: bool = False) -> None:
        """Every agent still ringing for ``call`` (but ``keep``) is let go."""
        for name in call.ringing_agents():
            agent = self.state.agents.get(name)
            if agent is not None and agent is not keep:
                self.ring_ended(call, agent, reason, missed=missed)
