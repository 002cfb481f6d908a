"""Transfers between filières: the layer of the engine that moves a call from one
skill queue to another without ever hanging it up.

What Asterisk 22 does, from the recordings: a Redirect of the bridged caller keeps the
caller (same Uniqueid and Linkedid) and hangs up the agent's legs. So a transfer is a
Redirect of the caller's channel: straight to the connect context when an agent of the
target is free, else to holding, where the call waits in the target queue ahead of new
arrivals. If the target has nobody logged in, or the call waits too long there, the
configured fallback applies: back to the transferring agent, the head of the original
queue, or a partner SAS.
"""

from __future__ import annotations

from acd.ami import events as ev
from acd.config import Config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.base import EngineBase
from acd.core.model import Agent, AgentState, Call, CallState, Leg, Transfer, move_call
from acd.core.reskill import apply_reskill


class TransferEngine(EngineBase):
    """The engine with transfers (see the module docstring)."""

    def __init__(self, config: Config, *, decide: bool = True) -> None:
        super().__init__(config, decide=decide)
        self._handlers[i.TransferRequest] = self._on_transfer
        # run-time re-skilling (acd.core.reskill) moves agents between filières too
        self._handlers[i.AgentReskill] = lambda request: apply_reskill(self, request)

    def _on_other_user_event(self, event: ev.UserEvent) -> None:
        if event.name == self.config.dialplan.transfer_event:
            agent = self._agent_of_feature_code(event)
            if agent is not None:
                self._on_transfer(i.TransferRequest(event.headers.get("Target", ""),
                                                    agent=agent.id, by="feature code"))
        else:
            super()._on_other_user_event(event)

    def _on_call_timer(self, kind: str, call: Call) -> None:
        if kind == "xfer" and call.state is CallState.WAITING and call.transfer:
            self._transfer_fallback(call, "transfer waited too long")
        else:
            super()._on_call_timer(kind, call)

    def _on_transfer(self, request: i.TransferRequest) -> None:
        """Move a call to another filière without ever hanging it up.

        The caller's channel leaves the agent's bridge by a Redirect (Asterisk keeps the
        caller, same Uniqueid, and hangs up the agent's legs): straight to the connect
        context when an agent of the target is free, else to holding, where it waits in
        the target queue ahead of new arrivals. The transferring agent goes to wrap-up.
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
        from_queue = call.queue
        agent = self.agents.get(call.agent) if call.agent else None
        was_connected = call.state is CallState.CONNECTED
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
