"""The calls' side of the room's ledger: arrival, queueing, requeue, moves between
queues, the agents' legs, the end of a call and what it teaches.

A call arrives (the dialplan's ``AcdCallWaiting``), gets its entry queue from the number
plan and the hours, and waits; every failure puts it back at the head of its queue
(:meth:`CallBook.requeue`); its end closes its record. The handling times of its legs
feed the estimated wait. A call that starts waiting is marked
(:class:`~acd.core.attention.Attention`), never offered here: the engine settles the
mark (an overflow rule for a new call, then an offer).
"""

from __future__ import annotations

import math
from collections import deque

from acd.ami import userevents as ue
from acd.ami.actions import Redirect
from acd.config import FRONT_OFFICE, Config
from acd.core import attempts, observed
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.attention import Attention
from acd.core.constants import (
    FORWARD_PARTNER,
    HANDLE_WINDOW,
    RECENTLY_ENDED_MAX,
    WORKING_OR_WRAPPING,
)
from acd.core.context import Context
from acd.core.hours import route_number
from acd.core.indicators import handling_time, mean_handling_time
from acd.core.model import (
    Agent,
    Call,
    CallState,
    Leg,
    Outcome,
    Transfer,
    device_of,
    move_call,
)
from acd.core.records import CallRecord, record_of
from acd.core.roster import Roster
from acd.core.timerkind import TimerKind


def to_holding(config: Config, call: Call) -> Redirect:
    """The Redirect that sends ``call``'s caller back to the holding context."""
    names = config.dialplan
    return Redirect(channel=call.channel, context=names.holding_context,
                    exten=names.holding_exten, ref=None)


class CallBook:
    """Registers, queues, requeues, moves and ends calls."""

    def __init__(self, context: Context, attention: Attention, roster: Roster) -> None:
        self.state, self.fx, self.timers, self.config = context
        self.attention, self.roster = attention, roster

    # ------------------------------------------------------------------ arrival

    def on_call_waiting(self, event: ue.CallWaiting) -> None:
        state = self.state
        if event.channel in state.by_channel:
            return  # announced again (e.g. dialplan loop): one call, one record
        number = event.number or event.exten
        queue, period, forward = self.entry(number, event.queue, state.now)
        call = Call(
            id=event.call_id,
            channel=event.channel,
            linkedid=event.linkedid,
            number=number,
            caller_name=event.caller_name or event.caller_id_name,
            caller_num=event.caller_id_num,
            priority=self.priority(event.priority),
            arrived_at=state.now,
            queue=queue,
            enqueued_at=state.now,
            seq=state.next_seq(),
            period=period,
            forward_to=forward,
        )
        self.register(call)
        self.enqueue(call, head=False, new=True)

    def on_connecting(self, event: ue.Connecting) -> None:
        call = self.state.by_channel.get(event.channel)
        if call is not None:
            call.connecting_hint = event.agent or None
            self.fx.fact(f.CallConnecting(at=self.state.now, call=call.id,
                                          agent=call.connecting_hint))

    def entry(self, number: str, explicit: str | None,
              arrived: float) -> tuple[str, str, str | None]:
        """Entry queue, period ("sas" | "pdsa") and external destination of a call.

        The number plan and the hours decide (:func:`acd.core.hours.route_number`); an
        explicit ``Queue`` header from the dialplan wins. A call sent to an external
        destination (PDSA regulation reached by a dial string) waits in the front office
        queue while it is forwarded, so it is never left without a queue.
        """
        queues = self.state.queues
        route = route_number(self.config, number, arrived)
        if explicit and explicit in queues:
            return explicit, route.period, None
        if route.external:
            return FRONT_OFFICE, route.period, route.destination
        if route.destination not in queues:
            self.fx.ignore("number plan", route.reason)
            return FRONT_OFFICE, route.period, None
        return route.destination, route.period, None

    def priority(self, given: int | None) -> int:
        """The dialplan's priority (:func:`acd.ami.userevents.call_priority`), else the
        site's default."""
        return self.config.routing.default_priority if given is None else given

    def register(self, call: Call) -> None:
        state = self.state
        state.calls[call.id] = call
        state.by_channel[call.channel] = call
        call.queues.append(call.queue)
        call.legs.append(Leg(queue=call.queue, entered_at=state.now))
        state.demand.arrived(call.queue, state.now)

    # ------------------------------------------------------------------ queueing

    def enqueue(self, call: Call, *, head: bool, new: bool, dispatch: bool = True) -> None:
        """Into its queue (at the head: given back). ``dispatch``: marked for the
        policies (a policy that offers it itself says False)."""
        state = self.state
        queue = state.queue(call.queue)
        if head:
            queue.push_head(call)
        else:
            queue.push(call)
        self.fx.fact(f.CallQueued(at=state.now, call=call.id, queue=call.queue,
                                  number=call.number, priority=call.priority, new=new,
                                  period=call.period, arrived_at=call.arrived_at,
                                  caller=f.mask_number(call.caller_num)))
        if not state.decide:
            return
        for delay in state.expansion.get(call.queue, ()):
            due = call.enqueued_at + delay
            if due > state.now:
                self.timers.arm(due, TimerKind.EXPAND, call.id, call.offer_id)
        if dispatch:
            self.attention.call_waits(call, new=new)

    def named_by(self, ref: i.OfferRef) -> Call | None:
        """The call an action's ref names, while it is still that offer (or overflow
        attempt): None for an older one, or a call that has ended."""
        call = self.state.calls.get(ref.call)
        return call if call is not None and call.offer_id == ref.offer else None

    def leave_queue(self, call: Call, new: CallState) -> None:
        """``call`` moves to ``new`` and out of its queue (if it waited there). The
        move is checked first: a refused one (:class:`~acd.errors.IllegalTransition`)
        leaves the call and the queue as they were."""
        move_call(call, new)
        self.state.queue(call.queue).remove(call)

    def requeue(self, call: Call, agent: Agent | None, reason: str, *,
                dispatch: bool = True) -> None:
        """Back to the head of its queue, keeping arrival time and priority."""
        move_call(call, CallState.WAITING)
        call.agent = None
        call.also_ringing = []
        self.fx.fact(f.CallReturned(at=self.state.now, call=call.id, queue=call.queue,
                                    agent=agent.id if agent else None, reason=reason))
        self.enqueue(call, head=True, new=False, dispatch=dispatch)

    def detach(self, call: Call, agent: Agent | None) -> None:
        """Take the call away from its agent (or its queue) before it moves on."""
        if call.state is CallState.WAITING:
            self.state.queue(call.queue).remove(call)
        elif call.state is CallState.CONNECTED and agent is not None:
            self.close_leg(call)
            self.roster.after_call(agent)
        elif call.state is CallState.OFFERED:
            self.roster.release_ring(call, "call moved to another queue")
        call.agent = None
        call.offer_id += 1  # older timers and late action failures no longer apply
        move_call(call, CallState.WAITING)

    def fall_back(self, call: Call, transfer: Transfer, result: str, reason: str) -> None:
        """A transfer's fallback applies: its attempt closes with ``result``."""
        call.transfer = None
        attempts.closed(call, result, self.state.now)
        self.fx.fact(f.CallTransferred(at=self.state.now, call=call.id,
                                       from_queue=transfer.from_queue,
                                       to_queue=transfer.to_queue, agent=transfer.agent,
                                       result=result, reason=reason, number=call.number,
                                       caller=f.mask_number(call.caller_num)))

    def move_to_queue(self, call: Call, queue: str, *, ahead: bool,
                      head: bool = False, dispatch: bool = True) -> None:
        """A new leg of ``call`` in ``queue`` (a transfer, or its fallback)."""
        call.queue = queue
        call.queues.append(queue)
        call.legs.append(Leg(queue=queue, entered_at=self.state.now))
        self.state.demand.arrived(queue, self.state.now)
        call.enqueued_at = self.state.now
        call.tier = 0 if ahead else 1
        self.enqueue(call, head=head, new=False, dispatch=dispatch)

    # ------------------------------------------------------------------ agents' legs

    def agent_for_leg(self, channel: str, call: Call) -> Agent | None:
        """The agent whose phone ``channel`` is: the config's, or one observed from
        traffic; None for a phone the engine refuses to follow (:mod:`acd.core.observed`,
        counted as an ignored input)."""
        state = self.state
        device = device_of(channel)
        agent = state.by_device.get(device)
        if agent is not None:
            return agent
        # a phone that is not in the config (replay, or a call routed by someone else)
        problem = observed.refusal(state, device)
        if problem is not None:
            self.fx.ignore(observed.REFUSED_INPUT, problem)
            return None
        hint = call.connecting_hint
        agent = state.agents.get(observed.agent_id(hint, device)) \
            or observed.new_agent(state, device, hint, call.queue)
        state.by_device[device] = agent
        return agent

    def follow_leg(self, channel: str, call: Call, agent: Agent) -> None:
        """``channel`` is ``agent``'s leg of ``call``."""
        self.state.agent_legs[channel] = (call, agent)
        call.agent_channels.append(channel)
        self.fx.fact(f.AgentLegSeen(at=self.state.now, call=call.id, agent=agent.id))

    # ------------------------------------------------------------------ end

    def end_call(self, call: Call, *, unobserved: bool = False) -> None:
        """The caller is gone: its queue, its agents and its record are settled (a
        warm transfer of it is the caller's to cancel first)."""
        state = self.state
        now = state.now
        old = call.state
        emptied = False
        if old is CallState.WAITING:
            queue = state.queue(call.queue)
            queue.remove(call)
            emptied = not len(queue)
        agent = state.agent_of(call)
        if old is CallState.OFFERED:
            self.roster.release_ring(call, "caller hung up while ringing")
        elif agent is not None and agent.call == call.id and old is CallState.CONNECTED:
            self.roster.after_call(agent)
        if old is CallState.CONNECTED and call.legs:
            self.close_leg(call)
        partner = self.partner_outcome(call)
        move_call(call, CallState.ENDED)
        attempts.closed(call, attempts.CALLER_GONE, now)
        call.ended_at = now
        call.ended_unobserved = unobserved
        call.outcome = self.outcome(call, partner)
        del state.calls[call.id]
        state.by_channel.pop(call.channel, None)
        state.recently_ended[call.channel] = None
        if len(state.recently_ended) > RECENTLY_ENDED_MAX:
            del state.recently_ended[next(iter(state.recently_ended))]
        for channel in call.agent_channels:
            state.agent_legs.pop(channel, None)
        self.fx.fact(f.CallEnded(at=now, call=call.id, queue=call.queue,
                                 outcome=call.outcome, duration_s=now - call.arrived_at,
                                 record=record_of(call, state.zone),
                                 caller=f.mask_number(call.caller_num)))
        if emptied:
            self.attention.backups_lendable()  # its filière may spare its backups now

    def partner_outcome(self, call: Call) -> Outcome | None:
        """How an ending call ended if a partner was involved, else None; a caller
        who hangs up while a partner rings leaves that attempt "abandoned"."""
        if call.overflowed_to == FORWARD_PARTNER:
            return Outcome.FORWARDED
        if call.overflowed_to is not None:
            return Outcome.OVERFLOWED
        if call.state is CallState.OVERFLOWING and call.overflow_partner:
            call.overflows.append((call.overflow_partner, self.state.now, "abandoned"))
        return None

    def outcome(self, call: Call, partner: Outcome | None) -> Outcome:
        """How a call that is ending ended (Asterisk's own cut first, whatever came
        before it: :mod:`acd.core.pbxloss`)."""
        if call.lost_reason is not None:
            return Outcome.LOST
        if partner is not None:
            return partner
        return Outcome.ANSWERED if call.answered_at is not None or call.answered_unobserved \
            else Outcome.ABANDONED

    def close_leg(self, call: Call) -> None:
        """The current leg's conversation is over: note its end and learn from it."""
        state = self.state
        leg = call.legs[-1]
        leg.ended_at = state.now
        if leg.answered_at is not None:
            window = state.handled.get(leg.queue)
            if window is None:
                window = state.handled[leg.queue] = deque(maxlen=HANDLE_WINDOW)
            window.append(handling_time(state.now - leg.answered_at,
                                        self.config.skill(leg.queue).wrap_up_s))

    # ------------------------------------------------------------------ read side

    def estimated_wait(self, queue: str) -> float:
        """Wait a call entering ``queue`` now can expect, in seconds.

        ``waiting calls × mean handling time / working agents``: the mean handling time
        (talk + the skill's wrap-up) of the queue's last ``HANDLE_WINDOW`` handled legs
        (``DEFAULT_HANDLE_S`` before any), over the agents holding the skill who are
        working now (available, ringing, on call or in wrap-up), at level 1, or at any
        level if no level-1 agent is working. 0 with no call waiting; +inf with calls
        waiting and nobody working. The overflow rules and the metrics both use it.
        """
        state = self.state
        waiting = len(state.queues[queue]) if queue in state.queues else 0
        if waiting == 0:
            return 0.0
        level_one = any_level = 0
        for agent in state.agents.values():
            level = agent.skills.get(queue)
            if level is None or agent.state not in WORKING_OR_WRAPPING or agent.observed:
                continue
            any_level += 1
            level_one += level == 1
        working = level_one or any_level
        if working == 0:
            return math.inf
        handle = mean_handling_time(state.handled.get(queue) or ())
        return waiting * handle / working

    def record(self, call: Call) -> CallRecord:
        """The JSON-ready record of a call (see :mod:`acd.core.records`)."""
        return record_of(call, self.state.zone)
