"""Agents' intents: login, pause, ready, logout, feature codes, phones, re-skilling,
and the ends of wrap-up and of the hold after a busy answer.

What an intent changes goes through the ledger's :class:`~acd.core.roster.Roster`
(states, the pool); an agent who becomes free there is marked, and the engine offers
it work once the intent is applied (a warm transfer waiting for its skill first, then
the queues, unless the phone is not free: busy by its device state, or held out for
``BUSY_HOLD_S`` after it answered an offer busy, :meth:`Roster.phone_busy`).
"""

from __future__ import annotations

from acd.ami import events as ev
from acd.ami import userevents as ue
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.constants import BUSY_DEVICE_STATES
from acd.core.context import Context
from acd.core.model import Agent, AgentState, device_of
from acd.core.reskill import reskill_problem
from acd.core.roster import Roster


class Agents:
    """Applies what agents, their phones and supervisors ask of the room."""

    def __init__(self, context: Context, roster: Roster) -> None:
        self.state, self.fx, self.timers, self.config = context
        self.roster = roster

    def on_busy_timer(self, agent: Agent) -> None:
        """The hold after a busy answer is over: the agent may be offered calls."""
        self.roster.back_in_pool(agent)

    def on_wrap_timer(self, agent: Agent) -> None:
        self.roster.set_state(agent, AgentState.AVAILABLE, "wrap-up over")

    # ------------------------------------------------------------------ intents

    def on_login(self, intent: i.AgentLogin) -> None:
        agent = self.state.agents.get(intent.agent)
        if agent is not None and agent.state is AgentState.LOGGED_OUT:
            self.roster.set_state(agent, AgentState.AVAILABLE, f"login by {intent.by}")

    def on_logout(self, intent: i.AgentLogout) -> None:
        agent = self.state.agents.get(intent.agent)
        if agent is None:
            return
        if agent.state in (AgentState.RINGING, AgentState.ON_CALL):
            agent.pending, agent.pending_reason = AgentState.LOGGED_OUT, f"logout by {intent.by}"
            self.fx.fact(f.AgentStateDeferred(at=self.state.now, agent=agent.id,
                                              pending=agent.pending.value,
                                              reason=agent.pending_reason))
        else:
            self.roster.set_state(agent, AgentState.LOGGED_OUT, f"logout by {intent.by}")

    def on_pause(self, intent: i.AgentPause) -> None:
        agent = self.state.agents.get(intent.agent)
        if agent is None or agent.state is AgentState.LOGGED_OUT:
            return
        if agent.state in (AgentState.RINGING, AgentState.ON_CALL):
            agent.pending, agent.pending_reason = AgentState.PAUSED, intent.reason
            self.fx.fact(f.AgentStateDeferred(at=self.state.now, agent=agent.id,
                                              pending=agent.pending.value,
                                              reason=agent.pending_reason))
        else:
            self.roster.set_state(agent, AgentState.PAUSED, intent.reason)

    def on_ready(self, intent: i.AgentReady) -> None:
        agent = self.state.agents.get(intent.agent)
        if agent is None:
            return
        if agent.state in (AgentState.RINGING, AgentState.ON_CALL):
            agent.pending = agent.pending_reason = None
            self.fx.fact(f.AgentStateDeferred(at=self.state.now, agent=agent.id, pending=None))
        elif agent.state is not AgentState.AVAILABLE:
            agent.missed_offers = 0
            self.roster.set_state(agent, AgentState.AVAILABLE, f"ready by {intent.by}")

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
            self.roster.set_device_busy(agent, busy)

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
        pooled = agent.state is AgentState.AVAILABLE and self.roster.selectable(agent)
        if pooled:
            state.pool.discard(agent)  # indexed under the old skills
        agent.skills = dict(request.skills)
        self.fx.fact(f.AgentReskilled(at=state.now, agent=agent.id, old=old,
                                      new=dict(agent.skills), by=request.by,
                                      reason=request.reason))
        if pooled:
            self.roster.back_in_pool(agent)
