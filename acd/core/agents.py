"""Agents: their states, login, pause, ready, wrap-up, phones and re-skilling.

An agent who becomes free is offered work at once: a warm transfer waiting for its
skill first (a transferred call goes ahead of new arrivals), then the queues, unless
the phone is not free: busy by its device state, or held out for ``BUSY_HOLD_S``
after it answered an offer busy (:meth:`Agents.phone_busy`); it is offered work when
that ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acd.ami import events as ev
from acd.ami import userevents as ue
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.constants import BUSY_DEVICE_STATES, BUSY_HOLD_S, NO_ANSWER_REASON
from acd.core.effects import Effects
from acd.core.model import Agent, AgentState, device_of, move_agent
from acd.core.reskill import reskill_problem
from acd.core.room import RoomState
from acd.core.timers import TimerKind, Timers

if TYPE_CHECKING:
    from acd.core.offering import Offering
    from acd.core.warm import WarmTransfers


class Agents:
    offering: Offering
    warm: WarmTransfers

    def __init__(self, state: RoomState, effects: Effects, timers: Timers) -> None:
        self.state = state
        self.fx = effects
        self.timers = timers
        self.config = state.config

    def connect(self, *, offering: Offering, warm: WarmTransfers) -> None:
        self.offering, self.warm = offering, warm

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
            self.dispatch(agent)

    def selectable(self, agent: Agent) -> bool:
        """Whether calls may be offered to ``agent`` when available: a configured
        agent whose phone is free (:meth:`phone_busy`)."""
        return not agent.observed and not self.phone_busy(agent)

    def phone_busy(self, agent: Agent) -> bool:
        """Busy by its device state, or held out after answering an offer busy."""
        return agent.device_busy or self.state.now < agent.busy_until

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

    def on_busy_timer(self, key: str, token: int) -> None:
        """The hold after a busy answer is over: the agent may be offered calls."""
        agent = self.state.agents.get(key)
        if agent is None or int(agent.busy_until * 1000) != token:
            return  # held again since: a later timer ends it
        if agent.state is AgentState.AVAILABLE and self.selectable(agent):
            self.state.pool.add(agent)
            self.dispatch(agent)

    def dispatch(self, agent: Agent) -> None:
        """An agent is free: a warm transfer waiting for its skill comes first, then
        the queues."""
        if self.warm.offer_to(agent):
            return
        self.offering.dispatch_agent(agent)

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

    def on_wrap_timer(self, key: str, token: int) -> None:
        agent = self.state.agents.get(key)
        if agent is not None and agent.state is AgentState.WRAP_UP \
                and int(agent.wrap_up_until * 1000) == token:
            self.set_state(agent, AgentState.AVAILABLE, "wrap-up over")

    # ------------------------------------------------------------------ intents

    def on_login(self, intent: i.AgentLogin) -> None:
        agent = self.state.agents.get(intent.agent)
        if agent is not None and agent.state is AgentState.LOGGED_OUT:
            self.set_state(agent, AgentState.AVAILABLE, f"login by {intent.by}")

    def on_logout(self, intent: i.AgentLogout) -> None:
        agent = self.state.agents.get(intent.agent)
        if agent is None:
            return
        if agent.state in (AgentState.RINGING, AgentState.ON_CALL):
            agent.pending, agent.pending_reason = AgentState.LOGGED_OUT, f"logout by {intent.by}"
        else:
            self.set_state(agent, AgentState.LOGGED_OUT, f"logout by {intent.by}")

    def on_pause(self, intent: i.AgentPause) -> None:
        agent = self.state.agents.get(intent.agent)
        if agent is None or agent.state is AgentState.LOGGED_OUT:
            return
        if agent.state in (AgentState.RINGING, AgentState.ON_CALL):
            agent.pending, agent.pending_reason = AgentState.PAUSED, intent.reason
        else:
            self.set_state(agent, AgentState.PAUSED, intent.reason)

    def on_ready(self, intent: i.AgentReady) -> None:
        agent = self.state.agents.get(intent.agent)
        if agent is None:
            return
        if agent.state in (AgentState.RINGING, AgentState.ON_CALL):
            agent.pending = agent.pending_reason = None
        elif agent.state is not AgentState.AVAILABLE:
            agent.missed_offers = 0
            self.set_state(agent, AgentState.AVAILABLE, f"ready by {intent.by}")

    def of_feature_code(self, event: ue.FeatureCode) -> Agent | None:
        """The agent a feature code's UserEvent is about (ignored if unknown)."""
        agent_id = event.agent
        state = self.state
        agent = state.agents.get(agent_id) if agent_id else state.by_device.get(
            device_of(event.channel))
        if agent is None or agent.observed:
            self.fx.ignore(event.name, f"unknown agent (channel {event.channel})")
            return None
        return agent

    def on_feature_code(self, event: ue.FeatureCode) -> None:
        """Login, logout, pause or ready from the agent's phone."""
        agent = self.of_feature_code(event)
        if agent is None:
            return
        if isinstance(event, ue.LoginCode):
            self.on_login(i.AgentLogin(agent.id, by="feature code"))
        elif isinstance(event, ue.LogoutCode):
            self.on_logout(i.AgentLogout(agent.id, by="feature code"))
        elif isinstance(event, ue.PauseCode):
            reason = event.reason or "break"
            self.on_pause(i.AgentPause(agent.id, reason, by="feature code"))
        else:
            self.on_ready(i.AgentReady(agent.id, by="feature code"))

    # ------------------------------------------------------------------ phones

    def on_device_state(self, event: ev.DeviceStateChange) -> None:
        agent = self.state.by_device.get(event.device)
        if agent is None or agent.observed:
            return
        busy = event.state in BUSY_DEVICE_STATES
        if busy != agent.device_busy:
            self.set_device_busy(agent, busy)

    def set_device_busy(self, agent: Agent, busy: bool) -> None:
        agent.device_busy = busy
        if agent.state is AgentState.AVAILABLE:
            if busy:
                self.state.pool.discard(agent)
            elif self.selectable(agent):  # not while held after a busy answer
                self.state.pool.add(agent)
                self.dispatch(agent)

    # ------------------------------------------------------------------ re-skilling

    def on_reskill(self, request: i.AgentReskill) -> None:
        """Replace the agent's skills (see :mod:`acd.core.reskill`); an invalid request
        is ignored with its reason (the API answers 422 before it gets here)."""
        state = self.state
        problem = reskill_problem(state, request)
        if problem is not None:
            self.fx.ignore("AgentReskill", problem)
            return
        agent = state.agents[request.agent]
        old = dict(agent.skills)
        pooled = agent.state is AgentState.AVAILABLE and self.selectable(agent)
        if pooled:
            state.pool.discard(agent)  # indexed under the old skills
        agent.skills = dict(request.skills)
        self.fx.fact(f.AgentReskilled(at=state.now, agent=agent.id, old=old,
                                      new=dict(agent.skills), by=request.by,
                                      reason=request.reason))
        if pooled:
            state.pool.add(agent)
            self.dispatch(agent)
