"""Asterisk's view of the calls: dials, answers, hang-ups, music on hold, the native
queue. Asterisk's events are the truth: a call is answered when Asterisk reports the
agent's leg answered, whoever dialled it; an agent leg gone leaves the caller held,
back to its queue soon, never hung up.
"""

from __future__ import annotations

from acd.ami import events as ev
from acd.ami import userevents as ue
from acd.core import attempts, observed
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.calls import CallBook
from acd.core.constants import (
    BUSY_DIAL_STATUS,
    FINISHING_BACKSTOP_S,
    MISSED_DIAL_STATUSES,
)
from acd.core.context import Context
from acd.core.hours import period_at
from acd.core.model import (
    Agent,
    AgentState,
    Call,
    CallState,
    Leg,
    device_of,
    move_call,
    primary_skill,
)
from acd.core.offering import Offering
from acd.core.overflow import Overflow
from acd.core.roster import Roster
from acd.core.timerkind import TimerKind
from acd.core.warm import WarmTransfers


class PbxView:
    """Follows what Asterisk shows of the calls (see the module docstring)."""

    def __init__(self, context: Context, *, calls: CallBook, roster: Roster,
                 offering: Offering, overflow: Overflow, warm: WarmTransfers) -> None:
        self.state, self.fx, self.timers, self.config = context
        self.calls, self.roster, self.offering = calls, roster, offering
        self.overflow, self.warm = overflow, warm

    # ------------------------------------------------------------------ dials

    def on_dial_begin(self, event: ev.DialBegin) -> None:
        state = self.state
        call = state.by_channel.get(event.channel)
        if call is None or not event.dest_channel or self.overflow.partner_dial(call, event):
            return
        agent = self.calls.agent_for_leg(event.dest_channel, call)
        if agent is None:
            self.rung_elsewhere(call)
            return
        self.calls.follow_leg(event.dest_channel, call, agent)
        if call.state is CallState.OFFERED and agent.id in call.ringing_agents():
            return  # the offer we made is ringing
        if call.state in (CallState.OFFERED, CallState.HELD) and agent.id in call.superseded:
            return  # an earlier offer of ours, which the Redirect in flight cancels
        if call.state is CallState.OFFERED:  # someone else rang another phone
            self.roster.release_ring(call, "call taken elsewhere")
        elif call.state in (CallState.WAITING, CallState.HELD):
            self.calls.leave_queue(call, CallState.OFFERED)
            call.offer_id += 1
        else:
            return
        call.agent = agent.id
        other = state.calls.get(agent.call) if agent.call and agent.call != call.id else None
        if other is not None and other.state is CallState.CONNECTED:
            return  # the agent is talking: a ringing dial takes nothing from that call
        self.release_other_call(agent, call)
        if agent.state in (AgentState.AVAILABLE, AgentState.WRAP_UP):
            self.roster.ring(agent, call)

    def on_dial_end(self, event: ev.DialEnd) -> None:
        state = self.state
        call = state.by_channel.get(event.channel)
        if call is None or not event.dest_channel or self.overflow.partner_dial(call, event):
            return
        leg = state.agent_legs.get(event.dest_channel)
        agent = leg[1] if leg is not None else self.calls.agent_for_leg(event.dest_channel, call)
        if agent is None:
            return  # a phone the engine does not follow (refused at its DialBegin)
        if event.dial_status == "ANSWER":
            self.answered(call, agent)
            return
        state.agent_legs.pop(event.dest_channel, None)
        if call.state is CallState.OFFERED and agent.id in call.ringing_agents():
            status = event.dial_status or "UNKNOWN"
            if len(call.ringing_agents()) > 1:
                # one phone of a ring group: CANCEL when another answered (app_dial
                # tells the others before the answer) or the caller left, whose own
                # news follows; the other phones ring on
                self.roster.ring_ended(call, agent, f"dial {status.lower()}",
                                         missed=status in MISSED_DIAL_STATUSES,
                                         busy=status == BUSY_DIAL_STATUS)
                return
            # CANCEL: the caller's own channel left the Dial, most often because the
            # caller hung up (its Hangup follows): wait for the Hangup or the music of
            # holding rather than offer a dying channel again
            retry = self.config.routing.orphan_requeue_s if status == "CANCEL" else 0.0
            # BUSY: the phone is busy, the agent is not absent (no missed offer); the
            # caller goes to someone else at once
            self.offering.offer_failed(call, agent, f"dial {status.lower()}",
                                       missed=status in MISSED_DIAL_STATUSES,
                                       retry_after=retry,
                                       busy=status == BUSY_DIAL_STATUS)

    def rung_elsewhere(self, call: Call) -> None:
        """Asterisk rings, for ``call``, a phone the engine refuses to follow: a caller
        that was waiting for the router is left where Asterisk has it (followed, never
        offered) until Asterisk shows it back on hold or gone."""
        if call.state in (CallState.WAITING, CallState.HELD):
            self.calls.leave_queue(call, CallState.NATIVE)
            self.fx.fact(f.CallSetAside(at=self.state.now, call=call.id, queue=call.queue,
                                        reason="rung elsewhere"))

    def answered(self, call: Call, agent: Agent, *, observed: bool = True) -> None:
        """``agent`` talks with ``call``. Not ``observed``: found so at a resync, the
        pick-up itself unseen; its time is not invented (no answered_at, no wait)."""
        state = self.state
        now = state.now
        if call.state is CallState.CONNECTED and call.agent == agent.id:
            return  # the same pick-up reported twice (DialEnd, then AgentConnect)
        if call.state is CallState.WAITING:
            state.queue(call.queue).remove(call)
        if call.state is CallState.OFFERED:
            self.roster.release_ring(call, "call taken elsewhere", keep=agent)
        else:
            previous = state.agent_of(call)
            if previous is not None and previous is not agent \
                    and self.roster.let_go(previous, call.id):
                self.roster.free(previous, "call taken elsewhere")
        self.release_other_call(agent, call)
        move_call(call, CallState.CONNECTED)
        self.roster.talk(agent, call)
        first = call.answered_at is None and not call.answered_unobserved
        if first:
            call.answered_by = agent.id
            if observed:
                call.answered_at = now
            else:
                call.answered_unobserved = True
        if call.transfer is not None:
            transfer, call.transfer = call.transfer, None
            attempts.closed(call, attempts.CONNECTED, now)
            self.fx.fact(f.CallTransferred(at=now, call=call.id,
                                           from_queue=transfer.from_queue,
                                           to_queue=transfer.to_queue,
                                           agent=agent.id, result="connected",
                                           number=call.number,
                                           caller=f.mask_number(call.caller_num)))
        leg = call.legs[-1]
        if leg.answered_at is not None:  # answered again after the agent leg was lost
            leg = Leg(queue=call.queue, entered_at=leg.ended_at or now)
            call.legs.append(leg)
        leg.agent = agent.id
        leg.role = primary_skill(agent.skills)
        if not observed:
            return
        leg.answered_at = now
        wait = now - (call.arrived_at if first else leg.entered_at)
        self.fx.fact(f.CallAnswered(at=now, call=call.id, queue=call.queue,
                                    agent=agent.id, wait_s=wait, first=first,
                                    number=call.number, period=call.period,
                                    first_queue=call.queues[0], priority=call.priority,
                                    caller=f.mask_number(call.caller_num)))

    def release_other_call(self, agent: Agent, call: Call) -> None:
        """Asterisk shows ``agent`` busy with ``call``: whatever other call the engine
        had given the agent goes back to its queue (or loses its agent leg)."""
        calls = self.state.calls
        other = calls.get(agent.call) if agent.call and agent.call != call.id else None
        if other is None or agent.id not in other.ringing_agents():
            return
        if other.state is CallState.OFFERED and len(other.ringing_agents()) > 1:
            self.roster.leave_ring(other, agent)  # its other phones ring on
            return
        self.roster.let_go(agent, other.id)
        if other.state is CallState.OFFERED:
            self.calls.requeue(other, agent, "agent busy with another call")
        elif other.state is CallState.CONNECTED:
            self.hold_without_agent(other)

    # ------------------------------------------------------------------ hang-ups

    def on_hangup(self, event: ev.Hangup) -> None:
        state = self.state
        call = state.by_channel.get(event.channel)
        if call is not None:
            self.end_call(call)
            return
        leg = state.agent_legs.pop(event.channel, None)
        if leg is not None:
            call, agent = leg
            if call.state is CallState.CONNECTED and call.agent == agent.id:
                self.agent_left(call, agent)
        # else not ours (the caller's ;1 Local half, another PBX user…), or a leg whose
        # Dial ended: a phone observed from traffic is forgotten with its last channel
        observed.forget(state, event.channel)

    def end_call(self, call: Call, *, unobserved: bool = False) -> None:
        """The caller is gone (``unobserved``: found gone at a resync): a warm
        transfer of it is cancelled, then the call ends."""
        self.warm.abort(call, attempts.CALLER_HUNG_UP)
        self.calls.end_call(call, unobserved=unobserved)

    def on_handover_failed(self, event: i.ActionFailed, ref: i.WarmRef) -> None:
        """The Redirect that hands a warm transfer's caller over failed: the caller is
        still with the first agent in Asterisk; it has lost its agent (back to a
        queue). A refused ring of a warm transfer is the transfer's own
        (:meth:`acd.core.warm.WarmTransfers.on_action_failed`)."""
        state = self.state
        if event.action != "Redirect" or ref.call in state.warm:
            return
        call = state.calls.get(ref.call)
        if call is not None and call.state is CallState.CONNECTED:
            self.fx.ignore("ActionFailed", f"warm handover of call {call.id}: "
                           f"{event.message}")
            agent = state.agents.get(call.agent or "")
            if agent is not None:
                self.agent_left(call, agent)

    def agent_left(self, call: Call, agent: Agent) -> None:
        """The agent's leg is gone and the caller is still there."""
        self.warm.abort(call, "transferring agent hung up")
        self.hold_without_agent(call)
        self.roster.after_call(agent)

    def hold_without_agent(self, call: Call) -> None:
        """A connected caller lost its agent: back to the queue if the dialplan does
        not say what became of it (MusicOnHoldStart, a new dial) within a few seconds."""
        self.calls.close_leg(call)
        call.agent = None
        move_call(call, CallState.HELD)
        self.fx.fact(f.CallSetAside(at=self.state.now, call=call.id, queue=call.queue,
                                    reason="agent leg gone"))
        self.timers.arm(self.state.now + self.config.routing.orphan_requeue_s,
                        TimerKind.ORPHAN, call.id, call.offer_id)

    def on_dialplan_dial_end(self, event: ue.DialplanDialEnd) -> None:
        """The connect context's Dial() returned. After an answered call whose agent
        hung up, the dialplan hangs the caller up next: wait for that Hangup rather
        than offer the call again. After any other status the caller is going back to
        holding: return the call to its queue now."""
        call = self.state.by_channel.get(event.channel)
        if call is None or call.state is not CallState.HELD:
            return
        if event.dial_status == "ANSWER":
            call.offer_id += 1  # the short orphan timer no longer applies
            self.fx.fact(f.CallSetAside(at=self.state.now, call=call.id, queue=call.queue,
                                        reason="dial answered, caller finishing"))
            self.timers.arm(self.state.now + FINISHING_BACKSTOP_S, TimerKind.ORPHAN,
                            call.id, call.offer_id)
        else:
            self.calls.requeue(call, None, "dial ended, caller back on hold")

    def on_moh_start(self, event: ev.MusicOnHoldStart) -> None:
        call = self.state.by_channel.get(event.channel)
        if call is not None and (call.state is CallState.HELD or (
                call.state is CallState.NATIVE
                and event.context == self.config.dialplan.holding_context)):
            self.calls.requeue(call, None, "caller back on hold")

    # ------------------------------------------------------------------ native queue

    def on_native_join(self, event: ev.QueueCallerJoin) -> None:
        """A caller entered the fail-open queue (any other Asterisk queue is not the
        ACD's: not followed)."""
        if event.queue != self.config.dialplan.failopen_queue:
            return
        state = self.state
        call = state.by_channel.get(event.channel)
        if call is None:
            call = Call(id=event.uniqueid or event.channel, channel=event.channel,
                        linkedid=event.linkedid, number=event.exten,
                        caller_name=event.caller_id_name, caller_num=event.caller_id_num,
                        priority=self.config.routing.default_priority, arrived_at=state.now,
                        queue=event.queue, enqueued_at=state.now,
                        seq=state.next_seq(), state=CallState.NATIVE,
                        period=period_at(self.config, state.now)[0])
            self.calls.register(call)
            self.fx.fact(f.CallSetAside(at=state.now, call=call.id, queue=call.queue,
                                        reason="fail-open queue"))
            return
        self.calls.leave_queue(call, CallState.NATIVE)
        self.fx.fact(f.CallSetAside(at=state.now, call=call.id, queue=call.queue,
                                    reason="fail-open queue"))

    def on_native_connect(self, event: ev.AgentConnect) -> None:
        state = self.state
        call = state.by_channel.get(event.channel)
        if call is None:
            return
        device = event.interface.removesuffix("/n") or device_of(event.dest_channel)
        agent = state.by_device.get(device) or self.calls.agent_for_leg(device + "-", call)
        if agent is None:
            return  # a phone the engine does not follow: the call stays in the queue's hands
        if event.dest_channel:
            self.calls.follow_leg(event.dest_channel, call, agent)
        self.answered(call, agent)
