"""Transfers between filières: the layer of the engine that moves a call from one
skill queue to another without ever hanging it up.

What Asterisk 22 does, from the recordings: a Redirect of the bridged caller keeps the
caller (same Uniqueid and Linkedid) and hangs up the agent's legs. So a transfer is a
Redirect of the caller's channel: straight to the connect context when an agent of the
target is free, else to holding, where the call waits in the target queue ahead of new
arrivals. If the target has nobody logged in, or the call waits too long there, the
configured fallback applies: back to the transferring agent, the head of the original
queue, or a partner SAS.

Warm transfers are :mod:`acd.core.warm`'s.
"""

from __future__ import annotations

from acd.ami import userevents as ue
from acd.core import attempts
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.agents import Agents
from acd.core.calls import CallBook, to_holding
from acd.core.context import Context
from acd.core.model import AgentState, Call, CallState, Transfer
from acd.core.offering import Offering
from acd.core.overflow import Overflow
from acd.core.timerkind import TimerKind
from acd.core.warm import WarmTransfers


class Transfers:
    """Cold transfers and their fallback (see the module docstring)."""

    def __init__(self, context: Context, *, calls: CallBook, agents: Agents,
                 offering: Offering, overflow: Overflow, warm: WarmTransfers) -> None:
        self.state, self.fx, self.timers, self.config = context
        self.calls, self.agents, self.offering = calls, agents, offering
        self.overflow, self.warm = overflow, warm

    def on_feature_code(self, event: ue.TransferCode) -> None:
        """The transfer feature code, dialled from the agent's phone."""
        agent = self.agents.of_feature_code(event)
        if agent is not None:
            self.on_transfer(i.TransferRequest(event.target,
                                               agent=agent.id, by="feature code"))

    def on_transfer(self, request: i.TransferRequest) -> None:
        """Move a call to another filière without ever hanging it up.

        The caller's channel leaves the agent's bridge by a Redirect (Asterisk keeps the
        caller, same Uniqueid, and hangs up the agent's legs): straight to the connect
        context when an agent of the target is free, else to holding, where it waits in
        the target queue ahead of new arrivals. The transferring agent goes to wrap-up.
        A connected call whose kind is warm (``[transfers] mode``/``modes``) stays with
        its agent instead, until an agent of the target answers
        (:meth:`acd.core.warm.WarmTransfers.start`).
        """
        state = self.state
        target = request.target
        call = self.call_to_transfer(request)
        if call is None or target not in state.queues or target == call.queue:
            self.fx.ignore("TransferRequest", f"nothing to transfer to {target!r} "
                           f"(agent {request.agent}, call {request.call})")
            return
        if call.state not in (CallState.CONNECTED, CallState.WAITING, CallState.HELD,
                              CallState.OFFERED):
            self.fx.ignore("TransferRequest", f"call {call.id} is {call.state.value}")
            return
        if call.id in state.warm:
            self.fx.ignore("TransferRequest", f"call {call.id} is already being "
                           f"transferred to {state.warm[call.id].to_queue} (warm)")
            return
        from_queue = call.queue
        agent = state.agent_of(call)
        was_connected = call.state is CallState.CONNECTED
        if was_connected and agent is not None \
                and self.config.transfers.mode_of(from_queue, target) == "warm":
            self.warm.start(call, agent, target)
            return
        attempts.opened(call, to_queue=target, mode="cold",
                        agent=agent.id if agent else request.agent, at=state.now)
        self.calls.detach(call, agent)
        call.transfer = Transfer(from_queue=from_queue, to_queue=target,
                                 agent=agent.id if agent and was_connected else None,
                                 at=state.now)
        self.fx.fact(f.CallTransferred(at=state.now, call=call.id, from_queue=from_queue,
                                       to_queue=target, agent=call.transfer.agent,
                                       result="requested", number=call.number,
                                       caller=f.mask_number(call.caller_num)))
        self.calls.move_to_queue(call, target, ahead=self.config.transfers.ahead_of_new,
                                 dispatch=False)
        self.offering.dispatch_call(call)  # straight to a free agent, else to holding
        if call.state is CallState.WAITING and was_connected:
            self.fx.command(to_holding(self.config, call))
        if call.state is CallState.WAITING:
            if not state.skill_staffed(target):
                self.fallback(call, f"no agent logged in for {target}")
            else:
                self.timers.arm(state.now + self.config.transfers.max_wait_s,
                                TimerKind.XFER, call.id, call.offer_id)

    def call_to_transfer(self, request: i.TransferRequest) -> Call | None:
        state = self.state
        if request.call is not None:
            return state.calls.get(request.call)
        agent = state.agents.get(request.agent or "")
        return state.calls.get(agent.call or "") if agent is not None else None

    def on_timer(self, call: Call) -> None:
        if call.state is CallState.WAITING and call.transfer:
            self.fallback(call, "transfer waited too long")

    def fallback(self, call: Call, reason: str) -> None:
        """The target cannot take the call: apply the configured fallback, in order."""
        transfer = call.transfer
        if transfer is None:
            return
        state = self.state
        for step in self.config.transfers.fallback:
            if step == "transferrer" and transfer.agent:
                agent = state.agents.get(transfer.agent)
                if agent is not None and agent.state is AgentState.AVAILABLE \
                        and not agent.device_busy:
                    state.queue(call.queue).remove(call)
                    self.calls.fall_back(call, transfer, "fallback_transferrer", reason)
                    self.calls.move_to_queue(call, transfer.from_queue, ahead=True,
                                             head=True, dispatch=False)
                    self.offering.offer(call, agent)
                    return
            elif step == "original_queue":
                state.queue(call.queue).remove(call)
                self.calls.fall_back(call, transfer, "fallback_original_queue", reason)
                self.calls.move_to_queue(call, transfer.from_queue, ahead=True, head=True)
                return
            elif step == "overflow" and self.overflow.overflow_now(call, reason):
                self.calls.fall_back(call, transfer, "fallback_overflow", reason)
                return
        self.fx.fact(f.CallTransferred(at=state.now, call=call.id,
                                       from_queue=transfer.from_queue,
                                       to_queue=transfer.to_queue, agent=transfer.agent,
                                       result="no_fallback", reason=reason,
                                       number=call.number,
                                       caller=f.mask_number(call.caller_num)))
