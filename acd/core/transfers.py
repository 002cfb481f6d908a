"""Transfers between filières: the layer of the engine that moves a call from one
skill queue to another without ever hanging it up.

What Asterisk 22 does, from the recordings: a Redirect of the bridged caller keeps the
caller (same Uniqueid and Linkedid) and hangs up the agent's legs. So a transfer is a
Redirect of the caller's channel: straight to the connect context when an agent of the
target is free, else to holding, where the call waits in the target queue ahead of new
arrivals. If the target has nobody logged in, or the call waits too long there, the
configured fallback applies: back to the transferring agent, the head of the original
queue, or a partner SAS.

Warm transfers (``[transfers] mode``/``modes`` say "warm" for the kind): the caller
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

from dataclasses import dataclass, field

from acd.ami import events as ev
from acd.ami.actions import Originate, Redirect, Setvar
from acd.config import Config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.base import EngineBase
from acd.core.model import (
    Agent,
    AgentState,
    Call,
    CallState,
    Leg,
    Transfer,
    device_of,
    move_call,
)
from acd.core.reskill import apply_reskill
from acd.core.routing import expansion_delay

#: ``ref`` tag of the actions of a warm transfer (a 3-tuple: the base layer's offer
#: refs are 2-tuples)
WARM_REF = "warm"


@dataclass(slots=True)
class WarmTransfer:
    """A warm transfer in progress: the caller is still with the transferring agent."""

    call: str
    from_queue: str
    to_queue: str
    #: the transferring agent, who keeps the caller until the target answers
    agent: str
    at: float
    #: changes with every ring so late outcomes of an older one are recognised
    token: int = 0
    #: the target agent being rung now
    target: str | None = None
    #: target agents already rung (not rung again for this transfer)
    tried: set[str] = field(default_factory=set)
    #: warm_max_wait_s is over: no new agent is rung
    expired: bool = False
    #: when the transfer gives up looking for an agent, and when the ring in progress
    #: is over (timers of older rings and transfers are recognised by these)
    deadline: float = 0.0
    ring_deadline: float = 0.0


class TransferEngine(EngineBase):
    """The engine with transfers (see the module docstring)."""

    def __init__(self, config: Config, *, decide: bool = True) -> None:
        #: warm transfers in progress, by call id, oldest first (set before the base
        #: logs configured agents in, which dispatches them)
        self.warm: dict[str, WarmTransfer] = {}
        self._warm_seq = 0
        super().__init__(config, decide=decide)
        self._handlers[i.TransferRequest] = self._on_transfer
        # run-time re-skilling (acd.core.reskill) moves agents between filières too
        self._handlers[i.AgentReskill] = lambda request: apply_reskill(self, request)
        self._handlers[i.ActionFailed] = self._on_any_action_failed
        self._handlers[ev.OriginateResponse] = self._on_originate_response

    def _on_other_user_event(self, event: ev.UserEvent) -> None:
        if event.name == self.config.dialplan.warm_answered_event:
            self._warm_answered(event)
        elif event.name == self.config.dialplan.transfer_event:
            agent = self._agent_of_feature_code(event)
            if agent is not None:
                self._on_transfer(i.TransferRequest(event.headers.get("Target", ""),
                                                    agent=agent.id, by="feature code"))
        else:
            super()._on_other_user_event(event)

    def _on_call_timer(self, kind: str, call: Call) -> None:
        if kind == "xfer" and call.state is CallState.WAITING and call.transfer:
            self._transfer_fallback(call, "transfer waited too long")
        elif kind in ("warm", "warmring", "warmexpand"):
            self._on_warm_timer(kind, call)
        else:
            super()._on_call_timer(kind, call)

    def _on_transfer(self, request: i.TransferRequest) -> None:
        """Move a call to another filière without ever hanging it up.

        The caller's channel leaves the agent's bridge by a Redirect (Asterisk keeps the
        caller, same Uniqueid, and hangs up the agent's legs): straight to the connect
        context when an agent of the target is free, else to holding, where it waits in
        the target queue ahead of new arrivals. The transferring agent goes to wrap-up.
        A connected call whose kind is warm (``[transfers] mode``/``modes``) stays with
        its agent instead, until an agent of the target answers (:meth:`_start_warm`).
        """
        target = request.target
        call = self._call_to_transfer(request)
        if call is None or target not in self.queues or target == call.queue:
            self._ignore_text("TransferRequest", f"nothing to transfer to {target!r} "
                              f"(agent {request.agent}, call {request.call})")
            return
        if call.state not in (CallState.CONNECTED, CallState.WAITING, CallState.HELD,
                              CallState.OFFERED):
            self._ignore_text("TransferRequest", f"call {call.id} is {call.state.value}")
            return
        if call.id in self.warm:
            self._ignore_text("TransferRequest", f"call {call.id} is already being "
                              f"transferred to {self.warm[call.id].to_queue} (warm)")
            return
        from_queue = call.queue
        agent = self.agents.get(call.agent) if call.agent else None
        was_connected = call.state is CallState.CONNECTED
        if was_connected and agent is not None \
                and self.config.transfers.mode_of(from_queue, target) == "warm":
            self._start_warm(call, agent, target)
            return
        self._detach(call, agent)
        call.transfer = Transfer(from_queue=from_queue, to_queue=target,
                                 agent=agent.id if agent and was_connected else None,
                                 at=self.now)
        self._facts.append(f.CallTransferred(at=self.now, call=call.id, from_queue=from_queue,
                                             to_queue=target, agent=call.transfer.agent,
                                             result="requested"))
        self._move_to_queue(call, target, ahead=self.config.transfers.ahead_of_new)
        if call.state is CallState.WAITING and was_connected:
            self._commands.append(self._to_holding(call))
        if call.state is CallState.WAITING:
            if not self._skill_staffed(target):
                self._transfer_fallback(call, f"no agent logged in for {target}")
            else:
                self._timer(self.now + self.config.transfers.max_wait_s, "xfer", call.id,
                            call.offer_id)

    def _call_to_transfer(self, request: i.TransferRequest) -> Call | None:
        if request.call is not None:
            return self.calls.get(request.call)
        agent = self.agents.get(request.agent or "")
        return self.calls.get(agent.call or "") if agent is not None else None

    def _detach(self, call: Call, agent: Agent | None) -> None:
        """Take the call away from its agent (or its queue) before it moves on."""
        if call.state is CallState.WAITING:
            self._queue(call.queue).remove(call)
        elif call.state is CallState.CONNECTED and agent is not None:
            self._close_leg(call)
            self._agent_after_call(agent)
        elif call.state is CallState.OFFERED and agent is not None and agent.call == call.id:
            agent.call = None
            self._agent_free(agent, "call moved to another queue")
        call.agent = None
        call.offer_id += 1  # older timers and late action failures no longer apply
        move_call(call, CallState.WAITING)

    def _move_to_queue(self, call: Call, queue: str, *, ahead: bool,
                       head: bool = False, dispatch: bool = True) -> None:
        call.queue = queue
        call.queues.append(queue)
        call.legs.append(Leg(queue=queue, entered_at=self.now))
        call.enqueued_at = self.now
        call.tier = 0 if ahead else 1
        self._enqueue(call, head=head, new=False, dispatch=dispatch)

    def _transfer_fallback(self, call: Call, reason: str) -> None:
        """The target cannot take the call: apply the configured fallback, in order."""
        transfer = call.transfer
        if transfer is None:
            return
        for step in self.config.transfers.fallback:
            if step == "transferrer" and transfer.agent:
                agent = self.agents.get(transfer.agent)
                if agent is not None and agent.state is AgentState.AVAILABLE \
                        and not agent.device_busy:
                    self._queue(call.queue).remove(call)
                    self._fallback_fact(call, transfer, "fallback_transferrer", reason)
                    self._move_to_queue(call, transfer.from_queue, ahead=True, head=True,
                                        dispatch=False)
                    self._offer(call, agent)
                    return
            elif step == "original_queue":
                self._queue(call.queue).remove(call)
                self._fallback_fact(call, transfer, "fallback_original_queue", reason)
                self._move_to_queue(call, transfer.from_queue, ahead=True, head=True)
                return
            elif step == "overflow" and self._overflow_now(call, reason):
                self._fallback_fact(call, transfer, "fallback_overflow", reason)
                return
        self._facts.append(f.CallTransferred(at=self.now, call=call.id,
                                             from_queue=transfer.from_queue,
                                             to_queue=transfer.to_queue, agent=transfer.agent,
                                             result="no_fallback", reason=reason))

    def _fallback_fact(self, call: Call, transfer: Transfer, result: str, reason: str) -> None:
        call.transfer = None
        self._facts.append(f.CallTransferred(at=self.now, call=call.id,
                                             from_queue=transfer.from_queue,
                                             to_queue=transfer.to_queue, agent=transfer.agent,
                                             result=result, reason=reason))

    def _overflow_now(self, call: Call, reason: str) -> bool:
        """Hook: send a waiting call to a partner SAS now; False when none can be tried
        (this layer knows no partners)."""
        return False

    # ------------------------------------------------------------------ warm transfers

    def _start_warm(self, call: Call, agent: Agent, target: str) -> None:
        """The first agent keeps the caller while a target agent is found and rung."""
        self._warm_seq += 1
        warm = WarmTransfer(call=call.id, from_queue=call.queue, to_queue=target,
                            agent=agent.id, at=self.now, token=self._warm_seq)
        self.warm[call.id] = warm
        self._warm_fact(warm, "requested", "warm", agent=agent.id)
        if not self.decide:
            return  # replay: the recorded AcdWarmAnswered (or nothing) tells the rest
        if not self._skill_staffed(target):
            self._warm_failed(warm, f"no agent logged in for {target}")
            return
        warm.deadline = self.now + self.config.transfers.warm_max_wait_s
        self._timer(warm.deadline, "warm", call.id, call.offer_id)
        for delay in self._expansion.get(target, []):  # backup levels become eligible
            if 0 < delay < self.config.transfers.warm_max_wait_s:
                self._timer(self.now + delay, "warmexpand", call.id, call.offer_id)
        free = self._warm_candidate(warm)
        if free is not None:
            self._warm_ring(warm, free)

    def _warm_candidate(self, warm: WarmTransfer) -> Agent | None:
        """The free agent of the target queue to ring: best level the skill's expansion
        delays allow by now, longest idle first; none already rung for this transfer."""
        if not self.link_up or self._warm_yields(warm):
            return None
        best: Agent | None = None
        for agent in self.agents.values():
            if self._warm_eligible(warm, agent) and agent.state is AgentState.AVAILABLE \
                    and not agent.device_busy and not agent.observed and (
                        best is None or (agent.skills[warm.to_queue], agent.idle_since)
                        < (best.skills[warm.to_queue], best.idle_since)):
                best = agent
        return best

    def _warm_eligible(self, warm: WarmTransfer, agent: Agent) -> bool:
        level = agent.skills.get(warm.to_queue)
        if level is None or agent.id in warm.tried or agent.id == warm.agent:
            return False
        delay = expansion_delay(level, self._expansion.get(warm.to_queue, []))
        return delay is not None and self.now - warm.at >= delay

    def _dispatch_agent(self, agent: Agent) -> None:
        """An agent is free: a warm transfer waiting for its skill comes first (a
        transferred call goes ahead of new arrivals), then the queues."""
        if self.warm and self.link_up and self.decide:
            for warm in self.warm.values():
                if warm.target is None and not warm.expired \
                        and self._warm_eligible(warm, agent) and not self._warm_yields(warm):
                    self._warm_ring(warm, agent)
                    return
        super()._dispatch_agent(agent)

    def _warm_yields(self, warm: WarmTransfer) -> bool:
        """Whether a caller waiting on music in the target queue goes first: one of a
        more urgent priority, or of the same priority unless transferred calls go
        ahead of those (``ahead_of_new``). The warm caller is not alone meanwhile."""
        call = self.calls.get(warm.call)
        queue = self.queues.get(warm.to_queue)
        if call is None or queue is None:
            return False
        ahead = self.config.transfers.ahead_of_new
        return any(head.priority < call.priority
                   or (head.priority == call.priority and not (ahead and head.tier > 0))
                   for head in queue.heads())

    def _warm_ring(self, warm: WarmTransfer, agent: Agent) -> None:
        call = self.calls[warm.call]
        self._warm_seq += 1
        warm.token = self._warm_seq
        warm.target = agent.id
        warm.tried.add(agent.id)
        agent.call = call.id
        self._set_agent(agent, AgentState.RINGING, None)
        names = self.config.dialplan
        ring = self.config.routing.ring_timeout_s
        # the caller's number, as the target's phone shows for any offered call (not
        # the number dialled: live 06b showed "Xfer 06b" <15>)
        name = call.caller_name.replace(chr(34), "")
        number = "".join(c for c in call.caller_num if c not in "<>\r\n")
        caller_id = f'"{name}" <{number}>' if number else f'"{name}"'
        self._commands.append(Originate(
            channel=agent.device, context=names.warm_context, exten=agent.id,
            caller_id=caller_id, timeout_ms=int(ring * 1000),
            variables=(f"{names.warm_call_var}={call.id}",),
            ref=(WARM_REF, call.id, warm.token)))
        self._warm_fact(warm, "ringing", f"warm: ringing {agent.id}", agent=warm.agent)
        # the target's desktop is told, as for any offer (the CTI stream)
        self._facts.append(f.CallOffered(at=self.now, call=call.id, queue=warm.to_queue,
                                         agent=agent.id))
        warm.ring_deadline = self.now + ring + self.config.routing.ring_grace_s
        self._timer(warm.ring_deadline, "warmring", call.id, call.offer_id)

    def _warm_answered(self, event: ev.UserEvent) -> None:
        """The target agent answered ``[acd-warm]``: hand the caller over to it."""
        call_id = event.headers.get("Call", "")
        warm = self.warm.get(call_id)
        agent_id = event.headers.get("Agent") or ""
        agent = self.agents.get(agent_id) or self._by_device.get(device_of(event.channel))
        call = self.calls.get(call_id)
        if warm is None or call is None or agent is None \
                or call.state is not CallState.CONNECTED \
                or (self.decide and warm.target != agent.id):
            self._ignore_text(event.name, f"no warm transfer of call {call_id!r} is ringing "
                              f"{agent_id or event.channel}: the agent's channel is left "
                              "to [acd-warm]'s time limit")
            return
        del self.warm[call_id]
        first = self.agents.get(warm.agent)
        self._close_leg(call)
        if first is not None and first.call == call.id:
            self._agent_after_call(first)
        call.offer_id += 1  # the warm timers no longer apply
        call.queue = warm.to_queue
        call.queues.append(warm.to_queue)
        call.legs.append(Leg(queue=warm.to_queue, entered_at=warm.at, agent=agent.id,
                             answered_at=self.now))
        call.agent = agent.id
        agent.call = call.id
        agent.missed_offers = 0
        self._set_agent(agent, AgentState.ON_CALL, None)
        self._agent_legs[event.channel] = (call, agent)
        call.agent_channels.append(event.channel)
        names = self.config.dialplan
        ref = (WARM_REF, call.id, warm.token)
        if self.decide:  # in replay the recording already shows the caller moving
            self._commands += [
                Setvar(channel=call.channel, variable=names.warm_peer_var,
                       value=event.channel, ref=ref),
                Redirect(channel=call.channel, context=names.warm_bridge_context,
                         exten=agent.id, ref=ref),
            ]
        self._facts.append(f.CallTransferred(at=self.now, call=call.id,
                                             from_queue=warm.from_queue,
                                             to_queue=warm.to_queue, agent=agent.id,
                                             result="connected", reason="warm"))
        self._facts.append(f.CallAnswered(at=self.now, call=call.id, queue=call.queue,
                                          agent=agent.id, wait_s=self.now - warm.at,
                                          first=False, number=call.number,
                                          period=call.period, first_queue=call.queues[0]))

    def _warm_ring_failed(self, warm: WarmTransfer, reason: str, *,
                          missed: bool = True) -> None:
        """The target agent did not answer: try another one, or give up. ``missed``:
        counts towards ``max_missed_offers`` (not for a busy phone: live 06f)."""
        agent = self.agents.get(warm.target or "")
        warm.target = None
        if agent is not None and agent.call == warm.call:
            agent.call = None
            if missed:
                agent.missed_offers += 1
            if missed and agent.missed_offers >= self.config.routing.max_missed_offers:
                agent.missed_offers = 0
                self._set_agent(agent, AgentState.PAUSED, "no answer")
            else:
                self._agent_free(agent, f"warm transfer {reason}")
        if warm.call not in self.warm or warm.target is not None:
            return  # ended, or already ringing someone else, while the agent was freed
        if warm.expired:
            self._warm_failed(warm, f"no agent of {warm.to_queue} answered in time")
            return
        free = self._warm_candidate(warm)
        if free is not None:
            self._warm_ring(warm, free)

    def _on_warm_timer(self, kind: str, call: Call) -> None:
        warm = self.warm.get(call.id)
        if warm is None:
            return
        if kind == "warmring" and warm.target is not None \
                and self.now >= warm.ring_deadline:
            self._warm_ring_failed(warm, "ring time-out")
        elif kind == "warmexpand" and warm.target is None and not warm.expired:
            free = self._warm_candidate(warm)
            if free is not None:
                self._warm_ring(warm, free)
        elif kind == "warm" and self.now >= warm.deadline:
            warm.expired = True
            if warm.target is None:
                self._warm_failed(warm, f"no agent of {warm.to_queue} free within "
                                        f"{self.config.transfers.warm_max_wait_s:g} s")

    def _on_originate_response(self, event: ev.OriginateResponse) -> None:
        """A failed Originate of a target agent (busy, no answer, unreachable)."""
        if event.response == "Success":
            return  # the answer itself comes as AcdWarmAnswered
        agent = self._by_device.get(event.channel) or self._by_device.get(
            device_of(event.channel))
        if agent is None:
            return
        for warm in self.warm.values():
            if warm.target == agent.id:
                why = {"3": "no answer", "5": "busy", "8": "congestion", "1": "hung up"}
                # busy (5): the phone is in another call, not a phone nobody answers
                self._warm_ring_failed(warm, why.get(event.reason, "originate failed"),
                                       missed=event.reason != "5")
                return

    def _on_any_action_failed(self, event: i.ActionFailed) -> None:
        ref = event.ref
        if isinstance(ref, tuple) and len(ref) == 3 and ref[0] == WARM_REF:
            warm = self.warm.get(ref[1])
            if warm is not None and warm.token == ref[2] and warm.target is not None:
                self._warm_ring_failed(warm, f"{event.action} failed: {event.message}")
            elif warm is None and event.action == "Redirect":
                # the handover's Redirect failed: the caller is still with the first
                # agent in Asterisk; treat it as having lost its agent (back to a queue)
                call = self.calls.get(ref[1])
                if call is not None and call.state is CallState.CONNECTED:
                    self._ignore_text("ActionFailed", f"warm handover of call {call.id}: "
                                      f"{event.message}")
                    agent = self.agents.get(call.agent or "")
                    if agent is not None:
                        self._agent_left(call, agent)
            return
        self._on_action_failed(event)

    def _warm_failed(self, warm: WarmTransfer, reason: str) -> None:
        """Nobody of the target took the caller: the configured fallback, in order. The
        caller is still with the first agent, so "transferrer" is always possible and
        means nothing moves: the transfer is cancelled."""
        self.warm.pop(warm.call, None)
        call = self.calls.get(warm.call)
        if call is None:
            return
        agent = self.agents.get(warm.agent)
        for step in self.config.transfers.fallback:
            if step == "transferrer" or agent is None or call.agent != agent.id:
                break
            if step == "overflow" and not self._partner_available(warm.from_queue):
                continue
            # the caller leaves the first agent: to the head of the original queue, or
            # from there to a partner SAS (a Redirect out of the bridge either way)
            transfer = Transfer(from_queue=warm.from_queue, to_queue=warm.to_queue,
                                agent=warm.agent, at=warm.at)
            self._detach(call, agent)
            self._move_to_queue(call, warm.from_queue, ahead=True, head=True,
                                dispatch=False)
            if step == "overflow" and self._overflow_now(call, reason):
                self._fallback_fact(call, transfer, "fallback_overflow", reason)
                return
            self._fallback_fact(call, transfer, "fallback_original_queue", reason)
            self._dispatch_call(call)
            if call.state is CallState.WAITING:
                self._commands.append(self._to_holding(call))
            return
        self._warm_fact(warm, "cancelled", reason, agent=warm.agent)

    def _partner_available(self, queue: str) -> bool:
        """Hook: whether a partner SAS may be tried now for a call of ``queue`` (this
        layer knows no partners)."""
        return False

    def _warm_abort(self, call: Call, reason: str) -> None:
        """The call ends, or loses its first agent, during a warm transfer: the target
        agent being rung is free again."""
        warm = self.warm.pop(call.id, None)
        if warm is None:
            return
        agent = self.agents.get(warm.target or "")
        if agent is not None and agent.call == call.id:
            agent.call = None
            self._agent_free(agent, f"warm transfer {reason}")
        self._warm_fact(warm, "cancelled", reason, agent=warm.agent)

    def _end_call(self, call: Call, *, unobserved: bool = False) -> None:
        self._warm_abort(call, "caller hung up")
        super()._end_call(call, unobserved=unobserved)

    def _agent_left(self, call: Call, agent: Agent) -> None:
        self._warm_abort(call, "transferring agent hung up")
        super()._agent_left(call, agent)

    def _warm_fact(self, warm: WarmTransfer, result: str, reason: str, *,
                   agent: str | None) -> None:
        self._facts.append(f.CallTransferred(at=self.now, call=warm.call,
                                             from_queue=warm.from_queue,
                                             to_queue=warm.to_queue, agent=agent,
                                             result=result, reason=reason))
