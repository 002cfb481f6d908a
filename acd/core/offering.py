"""Offering waiting calls to free agents, and what happens when an offer fails.

The engine *decides* (offers a waiting call to an agent by returning a Setvar +
Redirect) but only *believes* what Asterisk's events show (:mod:`acd.core.pbxview`).
Every failure (no answer, busy phone, refused action) puts the caller back at the head
of its queue: no path here emits a Hangup. A busy phone is not a missed offer: the
agent is not absent, only held out of selection a while.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acd.ami.actions import Redirect, Setvar
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.calls import to_holding
from acd.core.constants import ACTION_RETRY_S
from acd.core.effects import Effects
from acd.core.model import Agent, AgentState, Call, CallState, move_call
from acd.core.room import RoomState
from acd.core.timers import TimerKind, Timers

if TYPE_CHECKING:
    from acd.core.agents import Agents
    from acd.core.calls import CallBook
    from acd.core.overflow import Overflow
    from acd.core.warm import WarmTransfers


class Offering:
    calls: CallBook
    agents: Agents
    overflow: Overflow
    warm: WarmTransfers

    def __init__(self, state: RoomState, effects: Effects, timers: Timers) -> None:
        self.state = state
        self.fx = effects
        self.timers = timers
        self.config = state.config

    def connect(self, *, calls: CallBook, agents: Agents, overflow: Overflow,
                warm: WarmTransfers) -> None:
        self.calls, self.agents, self.overflow, self.warm = calls, agents, overflow, warm

    # ------------------------------------------------------------------ dispatch

    def dispatch_call(self, call: Call) -> None:
        state = self.state
        if not state.acting:
            return
        agent = state.selection.pick_agent(call, state.pool,
                                           state.expansion.get(call.queue, []), state.now)
        if agent is not None:
            self.offer(call, agent)

    def dispatch_agent(self, agent: Agent) -> None:
        """A free agent takes the best waiting call its skills allow now."""
        state = self.state
        if not state.acting:
            return
        call = state.selection.pick_call(agent, state.queues, state.expansion, state.now)
        if call is not None:
            self.offer(call, agent)
        self.lend_backups()

    def lend_backups(self) -> None:
        """Offer waiting calls to the idle backups their filière can now spare (one more
        free person there, or its queue emptied): "spare" backups only."""
        state = self.state
        if self.config.routing.backups != "spare" or not state.acting:
            return
        for name, queue in state.queues.items():
            if len(queue):
                self.dispatch_queue(name)

    def dispatch_queue(self, name: str) -> None:
        state = self.state
        if not state.acting:
            return
        queue = state.queue(name)
        expansion = state.expansion.get(name, [])
        selection = state.selection
        while True:
            for head in selection.heads(queue):
                agent = selection.pick_agent(head, state.pool, expansion, state.now)
                if agent is not None:
                    self.offer(head, agent)
                    break
            else:
                return

    def dispatch_all(self) -> None:
        for name in list(self.state.queues):
            self.dispatch_queue(name)

    # ------------------------------------------------------------------ offers

    def offer(self, call: Call, agent: Agent) -> None:
        """Ring ``agent`` for ``call`` (with ``[routing] ring_phones`` above 1, and
        other agents free for it, theirs too: one ``Dial`` of every phone)."""
        state = self.state
        state.queue(call.queue).remove(call)
        move_call(call, CallState.OFFERED)
        call.offer_id += 1
        call.agent = agent.id
        agent.call = call.id
        self.agents.set_state(agent, AgentState.RINGING, None)
        group = [agent]
        call.also_ringing = []
        for other in state.selection.ring_group(
                call, agent, state.pool, state.expansion.get(call.queue, []), state.now,
                self.config.routing.ring_phones, self._free_for_group):
            group.append(other)
            call.also_ringing.append(other.id)
            other.call = call.id
            self.agents.set_state(other, AgentState.RINGING, None)
        names = self.config.dialplan
        ref = i.OfferRef(call.id, call.offer_id)
        self.fx.command(Setvar(channel=call.channel, variable=names.dial_var,
                               value="&".join(member.device for member in group), ref=ref),
                        Redirect(channel=call.channel, context=names.connect_context,
                                 exten=agent.id, ref=ref))
        for member in group:
            self.fx.fact(f.CallOffered(at=state.now, call=call.id, queue=call.queue,
                                       agent=member.id))
        routing = self.config.routing
        self.timers.arm(state.now + routing.ring_timeout_s + routing.ring_grace_s,
                        TimerKind.RING, call.id, call.offer_id)

    def _free_for_group(self, agent: Agent) -> bool:
        """Nobody else waits for ``agent``: no warm transfer, no caller it may take."""
        state = self.state
        return not self.warm.waiting_for(agent) and state.selection.pick_call(
            agent, state.queues, state.expansion, state.now) is None

    def leave_ring(self, call: Call, agent: Agent) -> None:
        """``agent`` no longer rings for ``call`` (its phone's part of the Dial ended,
        or Asterisk shows it busy elsewhere); the other phones ring on. Its state is
        the caller's to change."""
        ringing = [name for name in call.ringing_agents() if name != agent.id]
        call.agent, call.also_ringing = (ringing[0], ringing[1:]) if ringing else (None, [])
        if agent.call == call.id:
            agent.call = None

    def ring_ended(self, call: Call, agent: Agent, reason: str, *, missed: bool,
                   busy: bool = False) -> None:
        """One phone of a ring group ended unanswered, the others ring on."""
        holds = agent.call == call.id
        self.leave_ring(call, agent)
        if holds:
            self.agents.rang_in_vain(agent, call.id, call.queue, "offer", reason,
                                     missed=missed, busy=busy)

    def release_ring(self, call: Call, reason: str, *, keep: Agent | None = None,
                     missed: bool = False) -> None:
        """Every agent still ringing for ``call`` (but ``keep``) is let go."""
        for name in call.ringing_agents():
            agent = self.state.agents.get(name)
            if agent is not None and agent is not keep:
                self.ring_ended(call, agent, reason, missed=missed)

    def offer_failed(self, call: Call, agent: Agent | None, reason: str, *,
                     missed: bool, retry_after: float = 0.0, busy: bool = False) -> None:
        """The offer of ``call`` to ``agent`` is over unanswered: the caller goes back
        to the head of its queue (offered to someone else at once). ``missed`` counts
        towards ``max_missed_offers``; ``busy``: the phone answered busy, the agent is
        held out of selection a while (:meth:`acd.core.agents.Agents.answered_busy`).
        The other phones of its ring group, if any, are let go alike (not busy)."""
        state = self.state
        if agent is not None:
            # its dial may still show up (our Redirect crossed it): not news any more
            call.superseded.add(agent.id)
        self.release_ring(call, reason, keep=agent, missed=missed)
        holds = agent is not None and agent.call == call.id
        if agent is not None and holds:
            agent.call = None
        if retry_after > 0:
            move_call(call, CallState.HELD)
            call.agent = None
            self.fx.fact(f.CallReturned(at=state.now, call=call.id, queue=call.queue,
                                        agent=agent.id if agent else None, reason=reason))
            self.timers.arm(state.now + retry_after, TimerKind.ORPHAN, call.id, call.offer_id)
        else:
            self.calls.requeue(call, agent, reason)
        if agent is not None and holds:
            self.agents.rang_in_vain(agent, call.id, call.queue, "offer", reason,
                                     missed=missed, busy=busy)
        elif agent is not None and agent.state is AgentState.RINGING:
            self.agents.free(agent, reason)

    def on_action_failed(self, event: i.ActionFailed, ref: i.OfferRef) -> None:
        """An action of an offer (or of an overflow attempt) was refused."""
        call = self.state.calls.get(ref.call)
        if call is None or call.offer_id != ref.offer:
            return  # an older offer, or already ended
        if call.state is not CallState.OFFERED:
            self.overflow.action_failed(call, event)
            return
        self.offer_failed(call, self.state.agent_of(call),
                          f"{event.action} failed: {event.message}",
                          missed=False, retry_after=ACTION_RETRY_S)

    # ------------------------------------------------------------------ timers

    def on_ring_timer(self, call: Call) -> None:
        if call.state is not CallState.OFFERED:
            return
        # the dialplan's Dial should have given up already: make sure the caller is
        # back on hold rather than still ringing a phone nobody answers. One action in
        # flight per caller: Asterisk refuses a second Redirect while the first one's
        # goto is pending ("Redirect failed, channel not up.", recording live 04), so
        # the next offer waits until the caller shows up in [holding] (MusicOnHoldStart)
        # or, failing that, for the orphan back-stop.
        self.fx.command(to_holding(self.config, call))
        self.offer_failed(call, self.state.agent_of(call), "ring time-out", missed=True,
                          retry_after=max(self.config.routing.orphan_requeue_s,
                                          ACTION_RETRY_S))

    def on_orphan_timer(self, call: Call) -> None:
        if call.state is CallState.HELD:
            self.calls.requeue(call, None, "caller left without an agent")

    def on_expand_timer(self, call: Call) -> None:
        if call.state is CallState.WAITING:
            self.dispatch_queue(call.queue)
