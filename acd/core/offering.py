"""Offering waiting calls to free agents, and what happens when an offer fails.

The engine *decides* (offers a waiting call to an agent by returning a Setvar +
Redirect) but only *believes* what Asterisk's events show (:mod:`acd.core.pbxview`).
Every failure (no answer, busy phone, refused action) puts the caller back at the head
of its queue: no path here emits a Hangup. A busy phone is not a missed offer: the
agent is not absent, only held out of selection a while.
"""

from __future__ import annotations

from acd.ami.actions import Redirect, Setvar
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.calls import CallBook, to_holding
from acd.core.constants import ACTION_RETRY_S
from acd.core.context import Context
from acd.core.model import Agent, AgentState, Call, CallState, move_call
from acd.core.roster import Roster
from acd.core.timerkind import TimerKind
from acd.core.warmwait import WarmTargets


class Offering:
    """Offers waiting calls to free agents; an offer that fails gives the caller back."""

    def __init__(self, context: Context, *, calls: CallBook, roster: Roster,
                 targets: WarmTargets) -> None:
        self.state, self.fx, self.timers, self.config = context
        self.calls, self.roster, self.targets = calls, roster, targets

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
        self.calls.leave_queue(call, CallState.OFFERED)
        call.offer_id += 1
        call.agent = agent.id
        self.roster.ring(agent, call)
        group = [agent]
        call.also_ringing = []
        for other in state.selection.ring_group(
                call, agent, state.pool, state.expansion.get(call.queue, []), state.now,
                self.config.routing.ring_phones, self._free_for_group):
            group.append(other)
            call.also_ringing.append(other.id)
            self.roster.ring(other, call)
        names = self.config.dialplan
        ref = i.OfferRef(call.id, call.offer_id)
        self.fx.command(Setvar(channel=call.channel, variable=names.dial_var,
                               value="&".join(member.device for member in group), ref=ref),
                        Redirect(channel=call.channel, context=names.connect_context,
                                 exten=agent.id, ref=ref))
        for member in group:
            self.fx.fact(f.CallOffered(at=state.now, call=call.id, queue=call.queue,
                                       agent=member.id, number=call.number,
                                       priority=call.priority,
                                       wait_s=state.now - call.arrived_at,
                                       caller=f.mask_number(call.caller_num)))
        routing = self.config.routing
        self.timers.arm(state.now + routing.ring_timeout_s + routing.ring_grace_s,
                        TimerKind.RING, call.id, call.offer_id)

    def _free_for_group(self, agent: Agent) -> bool:
        """Nobody else waits for ``agent``: no warm transfer, no caller it may take."""
        state = self.state
        return not self.targets.waiting_for(agent) and state.selection.pick_call(
            agent, state.queues, state.expansion, state.now) is None

    def offer_failed(self, call: Call, agent: Agent | None, reason: str, *,
                     missed: bool, retry_after: float = 0.0, busy: bool = False) -> None:
        """The offer of ``call`` to ``agent`` is over unanswered: the caller goes back
        to the head of its queue (offered to someone else at once). ``missed`` counts
        towards ``max_missed_offers``; ``busy``: the phone answered busy, the agent is
        held out of selection a while (:meth:`acd.core.roster.Roster.answered_busy`).
        The other phones of its ring group, if any, are let go alike (not busy)."""
        state = self.state
        if agent is not None:
            # its dial may still show up (our Redirect crossed it): not news any more
            call.superseded.add(agent.id)
        self.roster.release_ring(call, reason, keep=agent, missed=missed)
        holds = agent is not None and self.roster.let_go(agent, call.id)
        if retry_after > 0:
            move_call(call, CallState.HELD)
            call.agent = None
            self.fx.fact(f.CallReturned(at=state.now, call=call.id, queue=call.queue,
                                        agent=agent.id if agent else None, reason=reason))
            self.timers.arm(state.now + retry_after, TimerKind.ORPHAN, call.id, call.offer_id)
        else:  # offered to someone else at once, before its agent is free again
            self.calls.requeue(call, agent, reason, dispatch=False)
            self.dispatch_call(call)
        if agent is not None and holds:
            self.roster.rang_in_vain(agent, call.id, call.queue, "offer", reason,
                                     missed=missed, busy=busy)
        elif agent is not None and agent.state is AgentState.RINGING:
            self.roster.free(agent, reason)

    def on_action_failed(self, event: i.ActionFailed, call: Call) -> None:
        """An action of the offer of ``call`` in progress was refused."""
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
