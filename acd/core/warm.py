"""Warm transfers (``[transfers] mode``/``modes`` say "warm" for the kind): the caller
stays bridged with the transferring agent while the router finds a free agent of the
target and rings it with an AMI ``Originate`` of its device into ``[acd-warm]``. When
that agent answers, ``[acd-warm]`` sends ``AcdWarmAnswered`` and waits; the router sets
``ACD_WARM_PEER`` (the answered channel) on the caller and Redirects the caller to
``[acd-warm-bridge]``, whose ``Bridge()`` joins them. That Redirect takes the caller out
of the first agent's bridge (Asterisk keeps the caller and hangs up the first agent's
legs, as for a cold transfer): the first agent goes to wrap-up at that moment. If the
target does not answer, another free agent is tried; if nobody is free and answers
within ``warm_max_wait_s`` (or nobody of the target is logged in), the fallback
applies, and its first step, "transferrer", means the first agent simply keeps the
caller: the transfer is *cancelled* (a fact, so the agent's desktop is told), nothing
moved. The caller never hears silence and is never hung up.
"""

from __future__ import annotations

from acd.ami import events as ev
from acd.ami import userevents as ue
from acd.ami.actions import Originate, Redirect, Setvar
from acd.core import attempts
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.calls import CallBook, to_holding
from acd.core.context import Context
from acd.core.model import (
    Agent,
    Call,
    CallState,
    Leg,
    Transfer,
    WarmTransfer,
    device_of,
    primary_skill,
)
from acd.core.offering import Offering
from acd.core.overflow import Overflow
from acd.core.roster import Roster
from acd.core.timerkind import TimerKind
from acd.core.warmwait import WarmTargets

#: an ``OriginateResponse`` ``Reason`` (Asterisk's ``AST_CONTROL_*`` code) → what it
#: means for the ring of a target agent
ORIGINATE_REASONS = {"0": "originate failed", "1": "hung up", "3": "no answer",
                     "5": "busy", "8": "congestion"}
#: the ``Reason`` of a target whose phone answered busy (``Busy()``, SIP 486)
ORIGINATE_BUSY = "5"


class WarmTransfers:
    """Warm transfers (see the module docstring)."""

    def __init__(self, context: Context, *, calls: CallBook, roster: Roster,
                 targets: WarmTargets, offering: Offering, overflow: Overflow) -> None:
        self.state, self.fx, self.timers, self.config = context
        self.calls, self.roster, self.targets = calls, roster, targets
        self.offering, self.overflow = offering, overflow

    def start(self, call: Call, agent: Agent, target: str) -> None:
        """The first agent keeps the caller while a target agent is found and rung."""
        state = self.state
        state.warm_seq += 1
        warm = WarmTransfer(call=call.id, from_queue=call.queue, to_queue=target,
                            agent=agent.id, at=state.now, token=state.warm_seq)
        state.warm[call.id] = warm
        attempts.opened(call, to_queue=target, mode="warm", agent=agent.id, at=state.now)
        state.demand.arrived(target, state.now)
        self.fact(warm, "requested", "warm", agent=agent.id)
        if not state.decide:
            return  # replay: the recorded AcdWarmAnswered (or nothing) tells the rest
        if not state.skill_staffed(target):
            self.failed(warm, f"no agent logged in for {target}")
            return
        max_wait = self.config.transfers.warm_max_wait_s
        warm.deadline = state.now + max_wait
        self.timers.arm(warm.deadline, TimerKind.WARM, call.id, call.offer_id)
        for delay in state.expansion.get(target, []):  # backup levels become eligible
            if 0 < delay < max_wait:
                self.timers.arm(state.now + delay, TimerKind.WARM_EXPAND, call.id,
                                call.offer_id)
        free = self.targets.candidate(warm)
        if free is not None:
            self.ring(warm, free)

    def offer_to(self, agent: Agent) -> bool:
        """An agent is free: ring it for a warm transfer waiting for its skill (a
        transferred call goes ahead of new arrivals). False if none takes it."""
        warm = self.targets.waiting_for(agent)
        if warm is None:
            return False
        self.ring(warm, agent)
        return True

    def ring(self, warm: WarmTransfer, agent: Agent) -> None:
        state = self.state
        call = state.calls[warm.call]
        state.warm_seq += 1
        warm.token = state.warm_seq
        warm.target = agent.id
        warm.tried.add(agent.id)
        self.roster.ring(agent, call)
        names = self.config.dialplan
        ring = self.config.routing.ring_timeout_s
        # the caller's number, as the target's phone shows for any offered call (not
        # the number dialled: live 06b showed "Xfer 06b" <15>)
        name = call.caller_name.replace(chr(34), "")
        number = "".join(c for c in call.caller_num if c not in "<>\r\n")
        caller_id = f'"{name}" <{number}>' if number else f'"{name}"'
        self.fx.command(Originate(
            channel=agent.device, context=names.warm_context, exten=agent.id,
            caller_id=caller_id, timeout_ms=int(ring * 1000),
            variables=(f"{names.warm_call_var}={call.id}",),
            ref=i.WarmRef(call.id, warm.token)))
        self.fact(warm, "ringing", f"warm: ringing {agent.id}", agent=warm.agent)
        # the target's desktop is told, as for any offer (the CTI stream)
        self.fx.fact(f.CallOffered(at=state.now, call=call.id, queue=warm.to_queue,
                                   agent=agent.id, number=call.number,
                                   priority=call.priority,
                                   wait_s=state.now - call.arrived_at,
                                   caller=f.mask_number(call.caller_num)))
        warm.ring_deadline = state.now + ring + self.config.routing.ring_grace_s
        self.timers.arm(warm.ring_deadline, TimerKind.WARM_RING, call.id, call.offer_id)

    def on_answered(self, event: ue.WarmAnswered) -> None:
        """The target agent answered ``[acd-warm]``: hand the caller over to it."""
        state = self.state
        now = state.now
        call_id = event.call
        warm = state.warm.get(call_id)
        agent_id = event.agent
        agent = state.agents.get(agent_id) or state.by_device.get(device_of(event.channel))
        call = state.calls.get(call_id)
        if warm is None or call is None or agent is None \
                or call.state is not CallState.CONNECTED \
                or (state.decide and warm.target != agent.id):
            self.fx.ignore(event.name, f"no warm transfer of call {call_id!r} is ringing "
                           f"{agent_id or event.channel}: the agent's channel is left "
                           "to [acd-warm]'s time limit")
            return
        del state.warm[call_id]
        attempts.closed(call, attempts.CONNECTED, now)
        first = state.agents.get(warm.agent)
        self.calls.close_leg(call)
        if first is not None and first.call == call.id:
            self.roster.after_call(first)
        call.offer_id += 1  # the warm timers no longer apply
        call.queue = warm.to_queue
        call.queues.append(warm.to_queue)
        call.legs.append(Leg(queue=warm.to_queue, entered_at=warm.at, agent=agent.id,
                             answered_at=now, role=primary_skill(agent.skills)))
        self.roster.talk(agent, call)
        self.calls.follow_leg(event.channel, call, agent)
        names = self.config.dialplan
        ref = i.WarmRef(call.id, warm.token)
        if state.decide:  # in replay the recording already shows the caller moving
            self.fx.command(
                Setvar(channel=call.channel, variable=names.warm_peer_var,
                       value=event.channel, ref=ref),
                Redirect(channel=call.channel, context=names.warm_bridge_context,
                         exten=agent.id, ref=ref),
            )
        self.fx.fact(f.CallTransferred(at=now, call=call.id, from_queue=warm.from_queue,
                                       to_queue=warm.to_queue, agent=agent.id,
                                       result="connected", reason="warm",
                                       number=call.number,
                                       caller=f.mask_number(call.caller_num)))
        self.fx.fact(f.CallAnswered(at=now, call=call.id, queue=call.queue,
                                    agent=agent.id, wait_s=now - warm.at,
                                    first=False, number=call.number,
                                    period=call.period, first_queue=call.queues[0],
                                    priority=call.priority,
                                    caller=f.mask_number(call.caller_num)))

    def ring_failed(self, warm: WarmTransfer, reason: str, *, missed: bool = True,
                    busy: bool = False) -> None:
        """The target agent did not answer: try another one, or give up. ``missed``:
        counts towards ``max_missed_offers``; ``busy``: the phone answered busy (live
        t3-06f, t3-06g), not a missed offer, the agent held out of selection a while."""
        agent = self.state.agents.get(warm.target or "")
        warm.target = None
        if agent is not None and self.roster.let_go(agent, warm.call):
            self.roster.rang_in_vain(agent, warm.call, warm.to_queue, "warm",
                                     f"warm transfer {reason}", missed=missed, busy=busy)
        if warm.call not in self.state.warm or warm.target is not None:
            return  # ended, or already ringing someone else, while the agent was freed
        if warm.expired:
            self.failed(warm, f"no agent of {warm.to_queue} answered in time")
            return
        free = self.targets.candidate(warm)
        if free is not None:
            self.ring(warm, free)

    def on_ring_timer(self, call: Call) -> None:
        warm = self.state.warm.get(call.id)
        if warm is not None and warm.target is not None \
                and self.state.now >= warm.ring_deadline:
            self.ring_failed(warm, "ring time-out")

    def on_expand_timer(self, call: Call) -> None:
        warm = self.state.warm.get(call.id)
        if warm is not None and warm.target is None and not warm.expired:
            free = self.targets.candidate(warm)
            if free is not None:
                self.ring(warm, free)

    def on_deadline_timer(self, call: Call) -> None:
        warm = self.state.warm.get(call.id)
        if warm is not None and self.state.now >= warm.deadline:
            warm.expired = True
            if warm.target is None:
                self.failed(warm, f"no agent of {warm.to_queue} free within "
                                  f"{self.config.transfers.warm_max_wait_s:g} s")

    def on_originate_response(self, event: ev.OriginateResponse) -> None:
        """A failed Originate of a target agent (busy, no answer, unreachable): acted
        on at once (live t3-06f: ``Reason: 5`` 3 ms after the Originate; t3-06e:
        ``Reason: 3`` when its ``Timeout`` is over). The answer names our Originate's
        device, context and extension (the target's id)."""
        if event.response == "Success":
            return  # the answer itself comes as AcdWarmAnswered
        by_device = self.state.by_device
        agent = by_device.get(event.channel) or by_device.get(device_of(event.channel))
        if agent is None or (event.context and event.context
                             != self.config.dialplan.warm_context) \
                or (event.exten and event.exten != agent.id):
            return  # not the answer to a ring of ours
        for warm in self.state.warm.values():
            if warm.target == agent.id:
                busy = event.reason == ORIGINATE_BUSY
                # busy: the phone is in another call, not a phone nobody answers
                self.ring_failed(warm, ORIGINATE_REASONS.get(event.reason,
                                                             "originate failed"),
                                 missed=not busy, busy=busy)
                return

    def on_action_failed(self, event: i.ActionFailed, ref: i.WarmRef) -> None:
        """A refused ring of a warm transfer (its handover's is
        :meth:`acd.core.pbxview.PbxView.on_handover_failed`'s)."""
        state = self.state
        warm = state.warm.get(ref.call)
        if warm is not None and warm.token == ref.token and warm.target is not None:
            self.ring_failed(warm, f"{event.action} failed: {event.message}")

    def failed(self, warm: WarmTransfer, reason: str) -> None:
        """Nobody of the target took the caller: the configured fallback, in order. The
        caller is still with the first agent, so "transferrer" is always possible and
        means nothing moves: the transfer is cancelled."""
        state = self.state
        state.warm.pop(warm.call, None)
        call = state.calls.get(warm.call)
        if call is None:
            return
        agent = state.agents.get(warm.agent)
        for step in self.config.transfers.fallback:
            if step == "transferrer" or agent is None or call.agent != agent.id:
                break
            if step == "overflow" and not self.overflow.partner_available(warm.from_queue):
                continue
            # the caller leaves the first agent: to the head of the original queue, or
            # from there to a partner SAS (a Redirect out of the bridge either way)
            transfer = Transfer(from_queue=warm.from_queue, to_queue=warm.to_queue,
                                agent=warm.agent, at=warm.at)
            self.calls.detach(call, agent)
            self.calls.move_to_queue(call, warm.from_queue, ahead=True, head=True,
                                     dispatch=False)
            if step == "overflow" and self.overflow.overflow_now(call, reason):
                self.calls.fall_back(call, transfer, "fallback_overflow", reason)
                return
            self.calls.fall_back(call, transfer, "fallback_original_queue", reason)
            self.offering.dispatch_call(call)
            if call.state is CallState.WAITING:
                self.fx.command(to_holding(self.config, call))
            return
        attempts.closed(call, attempts.CANCELLED, state.now)
        self.fact(warm, "cancelled", reason, agent=warm.agent)

    def abort(self, call: Call, reason: str) -> None:
        """The call ends, or loses its first agent, during a warm transfer: the target
        agent being rung is free again."""
        warm = self.state.warm.pop(call.id, None)
        if warm is None:
            return
        attempts.closed(call, attempts.CALLER_GONE if reason == attempts.CALLER_HUNG_UP
                        else attempts.CANCELLED, self.state.now)
        agent = self.state.agents.get(warm.target or "")
        if agent is not None and self.roster.let_go(agent, call.id):
            self.roster.free(agent, f"warm transfer {reason}")
        self.fact(warm, "cancelled", reason, agent=warm.agent)

    def fact(self, warm: WarmTransfer, result: str, reason: str, *,
             agent: str | None) -> None:
        call = self.state.calls.get(warm.call)
        self.fx.fact(f.CallTransferred(at=self.state.now, call=warm.call,
                                       from_queue=warm.from_queue,
                                       to_queue=warm.to_queue, agent=agent,
                                       result=result, reason=reason,
                                       number=call.number if call else "",
                                       caller=f.mask_number(call.caller_num) if call else ""))
