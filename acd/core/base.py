"""The routing engine's core: calls, agents, offers, Asterisk's view. Pure.

:class:`EngineBase` holds the state machine; the SAS flows build on it in layers
(:mod:`acd.core.transfers`, then :mod:`acd.core.engine` for partner overflow), each
adding its handlers and overriding the few hooks marked "hook" below.

Theory of operation
-------------------
The engine holds every call, agent and queue, and is the only code that changes them.
It does no I/O and reads no clock: each input comes with ``now`` (epoch seconds), and
timers (ring time-outs, wrap-up ends, skill-expansion thresholds, orphan calls) are
kept in a heap that :meth:`Engine.handle` runs up to ``now`` before the input itself.
The adapter asks :meth:`Engine.next_deadline` when to send a :class:`Tick`.

Asterisk's events are the truth. The engine *decides* (offers a waiting call to an
agent by returning a Setvar + Redirect) but only *believes* what the events show: a
call is answered when Asterisk reports the agent's leg answered, whoever dialled it.
So the same code follows a recorded stream (``decide=False``: ``acd replay``), runs
live, and rebuilds its view after a reconnect from a ``Status`` snapshot.

The call is sacred: no path here emits a Hangup. Every failure (no answer, busy
phone, refused action, agent leg gone, lost link) puts the caller back at the head of
its queue.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

from acd.ami import events as ev
from acd.ami.actions import Action, Redirect, Setvar
from acd.config import STANDARD_SKILLS, Config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.evidence import Place, is_acd_caller, place_of
from acd.core.hours import period_at, route_number
from acd.core.model import (
    Agent,
    AgentState,
    Call,
    CallState,
    Leg,
    device_of,
    move_agent,
    move_call,
)
from acd.core.records import CallRecord, record_of
from acd.core.routing import AgentPool, SkillQueue, pick_agent, pick_call
from acd.errors import IllegalTransition

#: Device states that mean the phone cannot take a call now.
BUSY_DEVICE_STATES = frozenset({"INUSE", "BUSY", "RINGING", "RINGINUSE", "ONHOLD",
                                "UNAVAILABLE", "INVALID"})
#: Dial statuses that count against the agent (a missed offer).
MISSED_DIAL_STATUSES = frozenset({"NOANSWER", "BUSY", "CHANUNAVAIL", "CONGESTION"})
#: Pause before a call whose action failed is offered again.
ACTION_RETRY_S = 1.0
NO_ANSWER_REASON = "no answer"
#: A caller the dialplan is about to hang up (its agent ended the call) goes back to a
#: queue only if its Hangup has still not come after this long.
FINISHING_BACKSTOP_S = 60.0
#: Handled legs per queue the estimated wait averages over, and the handling time it
#: assumes before any.
HANDLE_WINDOW = 50
DEFAULT_HANDLE_S = 120.0
#: Agent states that count as working for the estimated wait.
WORKING_STATES = frozenset({AgentState.AVAILABLE, AgentState.RINGING, AgentState.ON_CALL,
                            AgentState.WRAP_UP})
#: Event timestamps may step back this much (Asterisk's threads): time never does.
CLOCK_JITTER_S = 1.0
#: A snapshot does not end calls that arrived this close to the moment it was asked for.
SNAPSHOT_MARGIN_S = 1.0
#: Channels of calls ended lately, so a snapshot taken before their Hangup cannot
#: resurrect them.
RECENTLY_ENDED_MAX = 10_000


class Output(NamedTuple):
    commands: list[Action]
    facts: list[f.Fact]


class EngineBase:
    """State machine of calls, agents and queues. See the module docstring."""

    def __init__(self, config: Config, *, decide: bool = True) -> None:
        self.config = config
        self.zone = config.zone()
        #: False in replay: follow the stream, send nothing
        self.decide = decide
        #: the AMI link is up and resynchronised: actions can be sent
        self.link_up = not decide
        self.calls: dict[str, Call] = {}
        self._by_channel: dict[str, Call] = {}
        self._recently_ended: dict[str, None] = {}
        #: agent leg channel → (call, agent)
        self._agent_legs: dict[str, tuple[Call, Agent]] = {}
        self.agents: dict[str, Agent] = {}
        self._by_device: dict[str, Agent] = {}
        self.queues: dict[str, SkillQueue] = {s: SkillQueue(s) for s in config.skill_names()}
        self.pool = AgentPool()
        self._expansion = {s: list(config.skill(s).expansion_s) for s in self.queues}
        #: queue → handling times (talk + wrap-up) of its last HANDLE_WINDOW legs
        self._handled: dict[str, deque[float]] = {}
        self._timers: list[tuple[float, int, str, str, int]] = []
        self._seq = 0
        self._commands: list[Action] = []
        self._facts: list[f.Fact] = []
        self.now = 0.0
        self._handlers: dict[type, Callable[[Any], None]] = {
            ev.UserEvent: self._on_user_event,
            ev.DialBegin: self._on_dial_begin,
            ev.DialEnd: self._on_dial_end,
            ev.Hangup: self._on_hangup,
            ev.MusicOnHoldStart: self._on_moh_start,
            ev.DeviceStateChange: self._on_device_state,
            ev.QueueCallerJoin: self._on_native_join,
            ev.AgentConnect: self._on_native_connect,
            ev.Shutdown: self._on_link_down,
            i.LinkDown: self._on_link_down,
            i.ChannelsSnapshot: self._on_snapshot,
            i.ActionFailed: self._on_action_failed,
            i.AgentLogin: self._on_agent_login,
            i.AgentLogout: self._on_agent_logout,
            i.AgentPause: self._on_agent_pause,
            i.AgentReady: self._on_agent_ready,
        }
        for cfg in config.agents:
            agent = Agent(id=cfg.id, device=cfg.device, skills=dict(cfg.skills), name=cfg.name)
            self.agents[agent.id] = agent
            self._by_device[agent.device] = agent
            if cfg.logged_in:
                self._set_agent(agent, AgentState.AVAILABLE, "configured logged in")

    # ------------------------------------------------------------------ entry points

    def handle(self, event: object, now: float) -> Output:
        """Apply one input at time ``now``; return the actions to send and the facts."""
        commands: list[Action] = []
        facts: list[f.Fact] = []
        self._commands = commands
        self._facts = facts
        if now > self.now or self.now - now > CLOCK_JITTER_S:
            self.now = now  # a large step back is a new clock source, not jitter
        self._run_due_timers()
        handler = self._handlers.get(type(event))
        if handler is not None:
            try:
                handler(event)
            except IllegalTransition as exc:
                self._ignore(event, str(exc))
        return Output(commands, facts)

    def next_deadline(self) -> float | None:
        """When the next timer is due (the adapter sends a Tick then), or None."""
        return self._timers[0][0] if self._timers else None

    def waiting_calls(self, queue: str) -> list[Call]:
        q = self.queues.get(queue)
        return list(q) if q is not None else []

    # ------------------------------------------------------------------ timers

    def _timer(self, when: float, kind: str, key: str, token: int) -> None:
        self._seq += 1
        heapq.heappush(self._timers, (when, self._seq, kind, key, token))

    def _run_due_timers(self) -> None:
        timers = self._timers
        while timers and timers[0][0] <= self.now:
            _, _, kind, key, token = heapq.heappop(timers)
            if kind == "wrap":
                agent = self.agents.get(key)
                if agent is not None and agent.state is AgentState.WRAP_UP \
                        and int(agent.wrap_up_until * 1000) == token:
                    self._set_agent(agent, AgentState.AVAILABLE, "wrap-up over")
                continue
            call = self.calls.get(key)
            if call is None or call.offer_id != token:
                continue
            if kind == "ring" and call.state is CallState.OFFERED:
                self._ring_timeout(call)
            elif kind == "orphan" and call.state is CallState.HELD:
                self._requeue(call, None, "caller left without an agent")
            elif kind == "expand" and call.state is CallState.WAITING:
                self._dispatch_queue(call.queue)
            else:
                self._on_call_timer(kind, call)

    def _on_call_timer(self, kind: str, call: Call) -> None:
        """Hook: a timer of another layer is due for ``call`` (token still valid)."""

    # ------------------------------------------------------------------ calls

    def _on_user_event(self, event: ev.UserEvent) -> None:
        names = self.config.dialplan
        name = event.name
        if name == names.call_waiting_event:
            self._call_arrived(event)
        elif name == names.connecting_event:
            call = self._by_channel.get(event.channel)
            if call is not None:
                call.connecting_hint = event.headers.get("Agent") or None
        elif name == names.dial_end_event:
            self._dialplan_dial_end(event)
        elif name in (names.agent_login_event, names.agent_logout_event,
                      names.agent_pause_event, names.agent_ready_event):
            agent = self._agent_of_feature_code(event)
            if agent is None:
                return
            if name == names.agent_login_event:
                self._on_agent_login(i.AgentLogin(agent.id, by="feature code"))
            elif name == names.agent_logout_event:
                self._on_agent_logout(i.AgentLogout(agent.id, by="feature code"))
            elif name == names.agent_pause_event:
                reason = event.headers.get("Reason") or "break"
                self._on_agent_pause(i.AgentPause(agent.id, reason, by="feature code"))
            else:
                self._on_agent_ready(i.AgentReady(agent.id, by="feature code"))
        else:
            self._on_other_user_event(event)

    def _on_other_user_event(self, event: ev.UserEvent) -> None:
        """Hook: a UserEvent this layer does not know (transfer and overflow signals)."""

    def _call_arrived(self, event: ev.UserEvent) -> None:
        if event.channel in self._by_channel:
            return  # announced again (e.g. dialplan loop): one call, one record
        headers = event.headers
        number = headers.get("Number") or event.exten
        queue, period, forward = self._entry(number, headers.get("Queue"), self.now)
        call = Call(
            id=event.uniqueid or headers.get("Uniqueid", event.channel),
            channel=event.channel,
            linkedid=event.linkedid,
            number=number,
            caller_name=headers.get("CallerName") or event.caller_id_name,
            caller_num=event.caller_id_num,
            priority=self._priority(headers.get("Priority")),
            arrived_at=self.now,
            queue=queue,
            enqueued_at=self.now,
            seq=self._next_seq(),
            period=period,
            forward_to=forward,
        )
        self._register(call)
        self._enqueue(call, head=False, new=True)

    def _entry(self, number: str, explicit: str | None,
               arrived: float) -> tuple[str, str, str | None]:
        """Entry queue, period ("sas" | "pdsa") and external destination of a call.

        The number plan and the hours decide (:func:`acd.core.hours.route_number`); an
        explicit ``Queue`` header from the dialplan wins. A call sent to an external
        destination (PDSA regulation reached by a dial string) waits in the front office
        queue while it is forwarded, so it is never left without a queue.
        """
        route = route_number(self.config, number, arrived)
        if explicit and explicit in self.queues:
            return explicit, route.period, None
        if route.external:
            return STANDARD_SKILLS[0], route.period, route.destination
        if route.destination not in self.queues:
            self._ignore_text("number plan", route.reason)
            return STANDARD_SKILLS[0], route.period, None
        return route.destination, route.period, None

    def _priority(self, raw: str | None) -> int:
        if raw is not None and raw.isdigit() and int(raw) <= 9:
            return int(raw)
        return self.config.routing.default_priority

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _register(self, call: Call) -> None:
        self.calls[call.id] = call
        self._by_channel[call.channel] = call
        call.queues.append(call.queue)
        call.legs.append(Leg(queue=call.queue, entered_at=self.now))

    def _queue(self, name: str) -> SkillQueue:
        queue = self.queues.get(name)
        if queue is None:  # a queue seen only in traffic (replay, native queue)
            queue = self.queues[name] = SkillQueue(name)
            self._expansion[name] = []
        return queue

    def _enqueue(self, call: Call, *, head: bool, new: bool, dispatch: bool = True) -> None:
        queue = self._queue(call.queue)
        if head:
            queue.push_head(call)
        else:
            queue.push(call)
        self._facts.append(f.CallQueued(at=self.now, call=call.id, queue=call.queue,
                                        number=call.number, priority=call.priority, new=new))
        if not self.decide:
            return
        for delay in self._expansion.get(call.queue, ()):
            due = call.enqueued_at + delay
            if due > self.now:
                self._timer(due, "expand", call.id, call.offer_id)
        if new and self._divert(call):
            return
        if dispatch:
            self._dispatch_call(call)

    def _divert(self, call: Call) -> bool:
        """Hook: send a new call elsewhere instead of queueing it (partner overflow)."""
        return False

    def _requeue(self, call: Call, agent: Agent | None, reason: str) -> None:
        """Back to the head of its queue, keeping arrival time and priority."""
        move_call(call, CallState.WAITING)
        call.agent = None
        self._facts.append(f.CallReturned(at=self.now, call=call.id, queue=call.queue,
                                          agent=agent.id if agent else None, reason=reason))
        self._enqueue(call, head=True, new=False)

    def _end_call(self, call: Call, *, unobserved: bool = False) -> None:
        state = call.state
        if state is CallState.WAITING:
            self._queue(call.queue).remove(call)
        agent = self.agents.get(call.agent) if call.agent else None
        if agent is not None and agent.call == call.id:
            if state is CallState.OFFERED:
                agent.call = None
                self._agent_free(agent, "caller hung up while ringing")
            elif state is CallState.CONNECTED:
                self._agent_after_call(agent)
        if state is CallState.CONNECTED and call.legs:
            self._close_leg(call)
        move_call(call, CallState.ENDED)
        call.ended_at = self.now
        call.ended_unobserved = unobserved
        call.outcome = self._outcome(call)
        del self.calls[call.id]
        self._by_channel.pop(call.channel, None)
        self._recently_ended[call.channel] = None
        if len(self._recently_ended) > RECENTLY_ENDED_MAX:
            del self._recently_ended[next(iter(self._recently_ended))]
        for channel in call.agent_channels:
            self._agent_legs.pop(channel, None)
        self._facts.append(f.CallEnded(at=self.now, call=call.id, queue=call.queue,
                                       outcome=call.outcome,
                                       duration_s=self.now - call.arrived_at,
                                       record=record_of(call, self.zone)))

    def _close_leg(self, call: Call) -> None:
        """The current leg's conversation is over: note its end and learn from it."""
        leg = call.legs[-1]
        leg.ended_at = self.now
        if leg.answered_at is not None:
            window = self._handled.get(leg.queue)
            if window is None:
                window = self._handled[leg.queue] = deque(maxlen=HANDLE_WINDOW)
            window.append(self.now - leg.answered_at + self.config.skill(leg.queue).wrap_up_s)

    def estimated_wait(self, queue: str) -> float:
        """Wait a call entering ``queue`` now can expect, in seconds.

        ``waiting calls × mean handling time / working agents``: the mean handling time
        (talk + the skill's wrap-up) of the queue's last ``HANDLE_WINDOW`` handled legs
        (``DEFAULT_HANDLE_S`` before any), over the agents holding the skill who are
        working now (available, ringing, on call or in wrap-up), at level 1, or at any
        level if no level-1 agent is working. 0 with no call waiting; +inf with calls
        waiting and nobody working. The overflow rules and the metrics both use it.
        """
        waiting = len(self.queues[queue]) if queue in self.queues else 0
        if waiting == 0:
            return 0.0
        level_one = any_level = 0
        for agent in self.agents.values():
            level = agent.skills.get(queue)
            if level is None or agent.state not in WORKING_STATES or agent.observed:
                continue
            any_level += 1
            level_one += level == 1
        working = level_one or any_level
        if working == 0:
            return math.inf
        window = self._handled.get(queue)
        handle = sum(window) / len(window) if window else DEFAULT_HANDLE_S
        return waiting * handle / working

    def _outcome(self, call: Call) -> str:
        """Hook: how a call that is ending ended."""
        return "answered" if call.answered_at is not None or call.answered_unobserved \
            else "abandoned"

    def record(self, call: Call) -> CallRecord:
        """The JSON-ready record of a call (see :mod:`acd.core.records`)."""
        return record_of(call, self.zone)

    def _to_holding(self, call: Call) -> Redirect:
        names = self.config.dialplan
        return Redirect(channel=call.channel, context=names.holding_context,
                        exten=names.holding_exten, ref=None)

    def _skill_staffed(self, skill: str) -> bool:
        return any(skill in a.skills and a.state is not AgentState.LOGGED_OUT
                   and not a.observed for a in self.agents.values())

    # ------------------------------------------------------------------ offering

    def _dispatch_call(self, call: Call) -> None:
        if not self.link_up or not self.decide:
            return
        agent = pick_agent(call, self.pool, self._expansion.get(call.queue, []), self.now)
        if agent is not None:
            self._offer(call, agent)

    def _dispatch_agent(self, agent: Agent) -> None:
        if not self.link_up or not self.decide:
            return
        call = pick_call(agent, self.queues, self._expansion, self.now)
        if call is not None:
            self._offer(call, agent)

    def _dispatch_queue(self, name: str) -> None:
        if not self.link_up or not self.decide:
            return
        queue = self._queue(name)
        expansion = self._expansion.get(name, [])
        while True:
            for head in queue.heads():
                agent = pick_agent(head, self.pool, expansion, self.now)
                if agent is not None:
                    self._offer(head, agent)
                    break
            else:
                return

    def _dispatch_all(self) -> None:
        for name in list(self.queues):
            self._dispatch_queue(name)

    def _offer(self, call: Call, agent: Agent) -> None:
        self._queue(call.queue).remove(call)
        move_call(call, CallState.OFFERED)
        call.offer_id += 1
        call.agent = agent.id
        agent.call = call.id
        self._set_agent(agent, AgentState.RINGING, None)
        names = self.config.dialplan
        ref = (call.id, call.offer_id)
        self._commands.append(Setvar(channel=call.channel, variable=names.dial_var,
                                     value=agent.device, ref=ref))
        self._commands.append(Redirect(channel=call.channel, context=names.connect_context,
                                       exten=agent.id, ref=ref))
        self._facts.append(f.CallOffered(at=self.now, call=call.id, queue=call.queue,
                                         agent=agent.id))
        routing = self.config.routing
        self._timer(self.now + routing.ring_timeout_s + routing.ring_grace_s, "ring",
                    call.id, call.offer_id)

    def _offer_failed(self, call: Call, agent: Agent | None, reason: str, *,
                      missed: bool, retry_after: float = 0.0) -> None:
        if agent is not None:
            # its dial may still show up (our Redirect crossed it): not news any more
            call.superseded.add(agent.id)
        if agent is not None and agent.call == call.id:
            agent.call = None
            if missed:
                agent.missed_offers += 1
            if missed and agent.missed_offers >= self.config.routing.max_missed_offers:
                agent.missed_offers = 0
                self._set_agent(agent, AgentState.PAUSED, NO_ANSWER_REASON)
        if retry_after > 0:
            move_call(call, CallState.HELD)
            call.agent = None
            self._facts.append(f.CallReturned(at=self.now, call=call.id, queue=call.queue,
                                              agent=agent.id if agent else None, reason=reason))
            self._timer(self.now + retry_after, "orphan", call.id, call.offer_id)
        else:
            self._requeue(call, agent, reason)
        if agent is not None and agent.state is AgentState.RINGING:
            self._agent_free(agent, reason)

    def _ring_timeout(self, call: Call) -> None:
        agent = self.agents.get(call.agent) if call.agent else None
        # the dialplan's Dial should have given up already: make sure the caller is
        # back on hold rather than still ringing a phone nobody answers. One action in
        # flight per caller: Asterisk refuses a second Redirect while the first one's
        # goto is pending ("Redirect failed, channel not up.", recording live 04), so
        # the next offer waits until the caller shows up in [holding] (MusicOnHoldStart)
        # or, failing that, for the orphan back-stop.
        self._commands.append(self._to_holding(call))
        self._offer_failed(call, agent, "ring time-out", missed=True,
                           retry_after=max(self.config.routing.orphan_requeue_s,
                                           ACTION_RETRY_S))

    def _on_action_failed(self, event: i.ActionFailed) -> None:
        ref = event.ref
        if not isinstance(ref, tuple) or len(ref) != 2:
            return
        call = self.calls.get(ref[0])
        if call is None or call.offer_id != ref[1]:
            return  # an older offer, or already ended
        if call.state is not CallState.OFFERED:
            self._other_action_failed(call, event)
            return
        agent = self.agents.get(call.agent) if call.agent else None
        self._offer_failed(call, agent, f"{event.action} failed: {event.message}",
                           missed=False, retry_after=ACTION_RETRY_S)

    def _other_action_failed(self, call: Call, event: i.ActionFailed) -> None:
        """Hook: an action of another layer failed for ``call`` (token still valid)."""

    # ------------------------------------------------------------------ Asterisk's view

    def _agent_for_leg(self, channel: str, call: Call) -> Agent:
        device = device_of(channel)
        agent = self._by_device.get(device)
        if agent is not None:
            return agent
        # a phone that is not in the config (replay, or a call routed by someone else)
        agent_id = call.connecting_hint or device
        agent = self.agents.get(agent_id)
        if agent is None:
            agent = Agent(id=agent_id, device=device, skills={call.queue: 1}, observed=True,
                          state=AgentState.AVAILABLE)
            self.agents[agent.id] = agent
        self._by_device.setdefault(device, agent)
        return agent

    def _on_dial_begin(self, event: ev.DialBegin) -> None:
        call = self._by_channel.get(event.channel)
        if call is None or not event.dest_channel or self._not_an_agent_dial(call, event):
            return
        agent = self._agent_for_leg(event.dest_channel, call)
        self._agent_legs[event.dest_channel] = (call, agent)
        call.agent_channels.append(event.dest_channel)
        if call.state is CallState.OFFERED and call.agent == agent.id:
            return  # the offer we made is ringing
        if call.state in (CallState.OFFERED, CallState.HELD) and agent.id in call.superseded:
            return  # an earlier offer of ours, which the Redirect in flight cancels
        if call.state is CallState.OFFERED:  # someone else rang another phone
            previous = self.agents.get(call.agent) if call.agent else None
            if previous is not None and previous.call == call.id:
                previous.call = None
                self._agent_free(previous, "call taken elsewhere")
        elif call.state in (CallState.WAITING, CallState.HELD):
            if call.state is CallState.WAITING:
                self._queue(call.queue).remove(call)
            move_call(call, CallState.OFFERED)
            call.offer_id += 1
        else:
            return
        call.agent = agent.id
        other = self.calls.get(agent.call) if agent.call and agent.call != call.id else None
        if other is not None and other.state is CallState.CONNECTED:
            return  # the agent is talking: a ringing dial takes nothing from that call
        self._release_other_call(agent, call)
        if agent.state in (AgentState.AVAILABLE, AgentState.WRAP_UP):
            agent.call = call.id
            self._set_agent(agent, AgentState.RINGING, None)

    def _on_dial_end(self, event: ev.DialEnd) -> None:
        call = self._by_channel.get(event.channel)
        if call is None or not event.dest_channel or self._not_an_agent_dial(call, event):
            return
        leg = self._agent_legs.get(event.dest_channel)
        agent = leg[1] if leg is not None else self._agent_for_leg(event.dest_channel, call)
        if event.dial_status == "ANSWER":
            self._answered(call, agent)
            return
        self._agent_legs.pop(event.dest_channel, None)
        if call.state is CallState.OFFERED and call.agent == agent.id:
            status = event.dial_status or "UNKNOWN"
            # CANCEL: the caller's own channel left the Dial, most often because the
            # caller hung up (its Hangup follows): wait for the Hangup or the music of
            # holding rather than offer a dying channel again
            retry = self.config.routing.orphan_requeue_s if status == "CANCEL" else 0.0
            self._offer_failed(call, agent, f"dial {status.lower()}",
                               missed=status in MISSED_DIAL_STATUSES, retry_after=retry)

    def _not_an_agent_dial(self, call: Call, event: ev.DialBegin | ev.DialEnd) -> bool:
        """Hook: the dial is to something other than an agent (a partner SAS)."""
        return False

    def _answered(self, call: Call, agent: Agent, *, observed: bool = True) -> None:
        """``agent`` talks with ``call``. Not ``observed``: found so at a resync, the
        pick-up itself unseen; its time is not invented (no answered_at, no wait)."""
        if call.state is CallState.CONNECTED and call.agent == agent.id:
            return  # the same pick-up reported twice (DialEnd, then AgentConnect)
        if call.state is CallState.WAITING:
            self._queue(call.queue).remove(call)
        previous = self.agents.get(call.agent) if call.agent else None
        if previous is not None and previous is not agent and previous.call == call.id:
            previous.call = None
            self._agent_free(previous, "call taken elsewhere")
        self._release_other_call(agent, call)
        move_call(call, CallState.CONNECTED)
        call.agent = agent.id
        agent.call = call.id
        agent.missed_offers = 0
        if agent.state in (AgentState.PAUSED, AgentState.LOGGED_OUT) and agent.pending is None:
            # Asterisk put a caller through to a phone the router holds back (the
            # fail-open queue rang it): back to that state when the call ends
            agent.pending, agent.pending_reason = agent.state, agent.pause_reason
        self._set_agent(agent, AgentState.ON_CALL, None)
        first = call.answered_at is None and not call.answered_unobserved
        if first:
            call.answered_by = agent.id
            if observed:
                call.answered_at = self.now
            else:
                call.answered_unobserved = True
        if call.transfer is not None:
            transfer, call.transfer = call.transfer, None
            self._facts.append(f.CallTransferred(at=self.now, call=call.id,
                                                 from_queue=transfer.from_queue,
                                                 to_queue=transfer.to_queue,
                                                 agent=agent.id, result="connected"))
        leg = call.legs[-1]
        if leg.answered_at is not None:  # answered again after the agent leg was lost
            leg = Leg(queue=call.queue, entered_at=leg.ended_at or self.now)
            call.legs.append(leg)
        leg.agent = agent.id
        if not observed:
            return
        leg.answered_at = self.now
        wait = self.now - (call.arrived_at if first else leg.entered_at)
        self._facts.append(f.CallAnswered(at=self.now, call=call.id, queue=call.queue,
                                          agent=agent.id, wait_s=wait, first=first,
                                          number=call.number, period=call.period,
                                          first_queue=call.queues[0]))

    def _release_other_call(self, agent: Agent, call: Call) -> None:
        """Asterisk shows ``agent`` busy with ``call``: whatever other call the engine
        had given the agent goes back to its queue (or loses its agent leg)."""
        other = self.calls.get(agent.call) if agent.call and agent.call != call.id else None
        if other is None or other.agent != agent.id:
            return
        agent.call = None
        if other.state is CallState.OFFERED:
            self._requeue(other, agent, "agent busy with another call")
        elif other.state is CallState.CONNECTED:
            self._hold_without_agent(other)

    def _on_hangup(self, event: ev.Hangup) -> None:
        call = self._by_channel.get(event.channel)
        if call is not None:
            self._end_call(call)
            return
        leg = self._agent_legs.pop(event.channel, None)
        if leg is None:
            return  # not ours (the caller's ;1 Local half, another PBX user…)
        call, agent = leg
        if call.state is CallState.CONNECTED and call.agent == agent.id:
            self._agent_left(call, agent)

    def _agent_left(self, call: Call, agent: Agent) -> None:
        """The agent's leg is gone and the caller is still there."""
        self._hold_without_agent(call)
        self._agent_after_call(agent)

    def _hold_without_agent(self, call: Call) -> None:
        """A connected caller lost its agent: back to the queue if the dialplan does
        not say what became of it (MusicOnHoldStart, a new dial) within a few seconds."""
        self._close_leg(call)
        call.agent = None
        move_call(call, CallState.HELD)
        self._timer(self.now + self.config.routing.orphan_requeue_s, "orphan", call.id,
                    call.offer_id)

    def _dialplan_dial_end(self, event: ev.UserEvent) -> None:
        """The connect context's Dial() returned. After an answered call whose agent
        hung up, the dialplan hangs the caller up next: wait for that Hangup rather
        than offer the call again. After any other status the caller is going back to
        holding: return the call to its queue now."""
        call = self._by_channel.get(event.channel)
        if call is None or call.state is not CallState.HELD:
            return
        if event.headers.get("DialStatus") == "ANSWER":
            call.offer_id += 1  # the short orphan timer no longer applies
            self._timer(self.now + FINISHING_BACKSTOP_S, "orphan", call.id, call.offer_id)
        else:
            self._requeue(call, None, "dial ended, caller back on hold")

    def _on_moh_start(self, event: ev.MusicOnHoldStart) -> None:
        call = self._by_channel.get(event.channel)
        if call is not None and (call.state is CallState.HELD or (
                call.state is CallState.NATIVE
                and event.context == self.config.dialplan.holding_context)):
            self._requeue(call, None, "caller back on hold")

    def _on_native_join(self, event: ev.QueueCallerJoin) -> None:
        """A caller entered the fail-open queue (any other Asterisk queue is not the
        ACD's: not followed)."""
        if event.queue != self.config.dialplan.failopen_queue:
            return
        call = self._by_channel.get(event.channel)
        if call is None:
            call = Call(id=event.uniqueid or event.channel, channel=event.channel,
                        linkedid=event.linkedid, number=event.exten,
                        caller_name=event.caller_id_name, caller_num=event.caller_id_num,
                        priority=self.config.routing.default_priority, arrived_at=self.now,
                        queue=event.queue, enqueued_at=self.now,
                        seq=self._next_seq(), state=CallState.NATIVE,
                        period=period_at(self.config, self.now)[0])
            self._register(call)
            return
        if call.state is CallState.WAITING:
            self._queue(call.queue).remove(call)
        move_call(call, CallState.NATIVE)

    def _on_native_connect(self, event: ev.AgentConnect) -> None:
        call = self._by_channel.get(event.channel)
        if call is None:
            return
        device = event.interface.removesuffix("/n") or device_of(event.dest_channel)
        agent = self._by_device.get(device) or self._agent_for_leg(device + "-", call)
        if event.dest_channel:
            self._agent_legs[event.dest_channel] = (call, agent)
            call.agent_channels.append(event.dest_channel)
        self._answered(call, agent)

    def _on_device_state(self, event: ev.DeviceStateChange) -> None:
        agent = self._by_device.get(event.device)
        if agent is None or agent.observed:
            return
        busy = event.state in BUSY_DEVICE_STATES
        if busy != agent.device_busy:
            self._set_device_busy(agent, busy)

    def _set_device_busy(self, agent: Agent, busy: bool) -> None:
        agent.device_busy = busy
        if agent.state is AgentState.AVAILABLE:
            if busy:
                self.pool.discard(agent)
            else:
                self.pool.add(agent)
                self._dispatch_agent(agent)

    # ------------------------------------------------------------------ link and resync

    def _on_link_down(self, event: object) -> None:
        self.link_up = False

    def _on_snapshot(self, event: i.ChannelsSnapshot) -> None:
        """Reconcile with Asterisk's list of live channels, then route again.

        Asterisk's view wins over the engine's (and over a restored one): every call
        is followed where ``Status`` shows it, and only callers in the holding context
        wait for the router (:mod:`acd.core.evidence`). Channels that are not ACD
        callers are never taken over."""
        live = {entry.channel: entry for entry in event.channels}
        for call in list(self.calls.values()):
            entry = live.get(call.channel)
            if entry is None and call.arrived_at >= event.taken_at - SNAPSHOT_MARGIN_S \
                    and not self._known_before_link(call):
                continue  # arrived while the list was being built: not in it, not gone
            if entry is None:
                self._repair("call_gone", call.id, f"channel {call.channel} is gone")
                self._end_call(call, unobserved=True)
            else:
                _caller_from_pbx(call, entry)
                self._reconcile_call(call, entry, event.channels)
        unknown = [e for e in event.channels if self._is_unknown_caller(e)]
        for entry in sorted(unknown, key=self._arrival_of):
            self._adopt(entry, event.channels)
        devices_in_use = {device_of(e.channel) for e in event.channels}
        for agent in self.agents.values():
            if agent.state in (AgentState.ON_CALL, AgentState.RINGING) \
                    and agent.call not in self.calls and agent.device not in devices_in_use:
                self._repair("agent_idle", agent.id, f"{agent.state.value} with no channel")
                agent.call = None
                self._agent_free(agent, "resync")
        self._rebuild_devices(devices_in_use)
        self._resynced(devices_in_use)
        self.link_up = True
        self._dispatch_all()

    def _rebuild_devices(self, devices_in_use: set[str]) -> None:
        """An agent's phone is busy exactly while Asterisk shows a channel of it."""
        for agent in self.agents.values():
            busy = agent.device in devices_in_use
            if not agent.observed and busy != agent.device_busy:
                self._set_device_busy(agent, busy)

    def _is_unknown_caller(self, entry: ev.StatusEntry) -> bool:
        """A listed ACD caller (:func:`~acd.core.evidence.is_acd_caller`) the engine
        does not follow (and did not just see end)."""
        return (is_acd_caller(entry, self.config.dialplan)
                and entry.channel not in self._by_channel
                and entry.channel not in self._recently_ended
                # an agent's leg inherits the caller's __ variables: never a caller
                and device_of(entry.channel) not in self._by_device)

    def _adopt(self, entry: ev.StatusEntry, channels: list[ev.StatusEntry]) -> None:
        """A caller Asterisk has and the engine did not know (the router was away):
        followed where it is. Only a caller in the holding context waits for the
        router; one in the fail-open queue, talking or ringing is followed, never
        moved; one with a partner SAS or between two steps is left alone."""
        place = place_of(entry, self.config.dialplan)
        if place is Place.HOLDING:
            self._repair("call_found", entry.uniqueid, "waiting call found at resync")
            self._enqueue(self._found_call(entry), head=False, new=True)
        elif place is Place.NATIVE_QUEUE:
            call = self._found_call(entry, state=CallState.NATIVE)
            self._repair("call_found_native", call.id, "call found in the native queue "
                                                       "at resync")
        elif place is Place.BRIDGED:
            peer = self._bridge_peer(entry, channels)
            if peer is not None:
                call = self._found_call(entry, state=CallState.NATIVE)
                self._follow_talking(call, peer)
        elif place is Place.RINGING:
            leg = self._ringing_leg(entry, channels)
            if leg is not None:
                self._follow_ringing(self._found_call(entry, state=CallState.NATIVE), leg)

    @staticmethod
    def _bridge_peer(entry: ev.StatusEntry, channels: list[ev.StatusEntry]) -> str | None:
        return next((e.channel for e in channels if e.bridge_id == entry.bridge_id
                     and e.channel != entry.channel), None)

    def _ringing_leg(self, entry: ev.StatusEntry,
                     channels: list[ev.StatusEntry]) -> str | None:
        """The channel of an agent's phone that a caller's Dial rings (same Linkedid)."""
        return next((e.channel for e in channels if e.linkedid == entry.linkedid
                     and e.channel != entry.channel and not e.bridge_id
                     and device_of(e.channel) in self._by_device), None)

    def _follow_talking(self, call: Call, peer: str) -> None:
        """Asterisk shows ``call`` bridged with ``peer``: the call is answered by that
        agent, at a time the engine did not see."""
        agent = self._agent_for_leg(peer, call)
        self._agent_legs[peer] = (call, agent)
        call.agent_channels.append(peer)
        self._repair("call_found_talking", call.id,
                     f"call found talking with {agent.id} at resync")
        self._answered(call, agent, observed=False)

    def _follow_ringing(self, call: Call, leg: str) -> None:
        """Asterisk shows ``call``'s Dial ringing ``leg``: an offer the engine did not
        make (or no longer knew), followed with the usual ring time-out."""
        agent = self._agent_for_leg(leg, call)
        self._agent_legs[leg] = (call, agent)
        call.agent_channels.append(leg)
        if call.state is CallState.WAITING:
            self._queue(call.queue).remove(call)
        move_call(call, CallState.OFFERED)
        call.offer_id += 1
        call.agent = agent.id
        self._repair("call_found_ringing", call.id, f"call found ringing {agent.id}")
        if agent.call is None and agent.state in (AgentState.AVAILABLE, AgentState.WRAP_UP):
            agent.call = call.id
            self._set_agent(agent, AgentState.RINGING, None)
        routing = self.config.routing
        self._timer(self.now + routing.ring_timeout_s + routing.ring_grace_s, "ring",
                    call.id, call.offer_id)

    def _found_call(self, entry: ev.StatusEntry, *,
                    state: CallState = CallState.WAITING) -> Call:
        """A caller Asterisk has and the engine did not know, registered with the
        arrival time and priority the dialplan stored on its channel (the caller
        enqueues a waiting one)."""
        names = self.config.dialplan
        arrived = _arrival(entry, names.arrived_var, self.now)
        number = entry.variables.get(names.number_var, "")
        queue, period, forward = self._entry(number, None, arrived)
        call = Call(id=entry.uniqueid or entry.channel, channel=entry.channel,
                    linkedid=entry.linkedid, number=number,
                    caller_name=entry.caller_id_name, caller_num=entry.caller_id_num,
                    priority=self._priority(entry.variables.get(names.priority_var)),
                    arrived_at=arrived, queue=queue, enqueued_at=arrived,
                    seq=self._next_seq(), period=period, forward_to=forward, state=state)
        self._register(call)
        call.legs[-1].entered_at = arrived
        return call

    def _arrival_of(self, entry: ev.StatusEntry) -> float:
        return _arrival(entry, self.config.dialplan.arrived_var, self.now)

    def _known_before_link(self, call: Call) -> bool:
        """Hook: ``call`` was known before the link came up (restored), so a list taken
        since cannot have missed it."""
        return False

    def _resynced(self, devices_in_use: set[str]) -> None:
        """Hook: the view has just been reconciled with a snapshot (whose channels
        belong to ``devices_in_use``); routing resumes next."""

    def _reconcile_call(self, call: Call, entry: ev.StatusEntry,
                        channels: list[ev.StatusEntry]) -> None:
        """A call the engine follows (or restored) is followed where Asterisk shows
        it: only one in the holding context waits for the router."""
        agent = self.agents.get(call.agent) if call.agent else None
        place = place_of(entry, self.config.dialplan)
        bridged = bool(entry.bridge_id)
        if call.state in (CallState.WAITING, CallState.NATIVE, CallState.HELD):
            self._follow_unrouted(call, entry, place, channels)
        elif call.state is CallState.OFFERED and place is Place.NATIVE_QUEUE:
            self._repair("call_native", call.id, "offered call found in the native queue")
            self._offer_failed(call, agent, "failed open", missed=False,
                               retry_after=ACTION_RETRY_S)
            move_call(call, CallState.NATIVE)
        elif call.state is CallState.OFFERED and agent is not None and bridged:
            self._repair("answer_missed", call.id, "offered call found talking")
            peer = self._bridge_peer(entry, channels)
            self._answered(call, self._agent_for_leg(peer, call) if peer else agent,
                           observed=False)
        elif call.state is CallState.OFFERED and entry.application != "Dial":
            self._repair("offer_lost", call.id, "offer not ringing after reconnect")
            self._offer_failed(call, agent, "lost at reconnect", missed=False)
        elif call.state is CallState.CONNECTED and agent is not None and not bridged:
            self._repair("agent_gone", call.id, "connected call found without its agent")
            self._agent_left(call, agent)
            if place is Place.NATIVE_QUEUE:
                move_call(call, CallState.NATIVE)

    def _follow_unrouted(self, call: Call, entry: ev.StatusEntry, place: Place,
                         channels: list[ev.StatusEntry]) -> None:
        """A call waiting, held or in the native queue in the engine's view."""
        if place is Place.HOLDING:
            if call.state is CallState.NATIVE:
                self._repair("call_waiting", call.id, "call found back in holding")
                self._requeue(call, None, "found back in holding at resync")
            return
        if place is Place.BRIDGED:
            peer = self._bridge_peer(entry, channels)
            if peer is not None:
                self._follow_talking(call, peer)
                return
        if place is Place.RINGING:
            leg = self._ringing_leg(entry, channels)
            if leg is not None:
                self._follow_ringing(call, leg)
                return
        if call.state is CallState.WAITING:
            self._queue(call.queue).remove(call)
        if call.state is not CallState.NATIVE:
            self._repair("call_native", call.id,
                         f"{call.state.value} call found in {place.value}")
            move_call(call, CallState.NATIVE)

    def _repair(self, kind: str, subject: str, detail: str) -> None:
        self._facts.append(f.StateRepaired(at=self.now, kind=kind, subject=subject,
                                           detail=detail))

    # ------------------------------------------------------------------ agents

    def _agent_of_feature_code(self, event: ev.UserEvent) -> Agent | None:
        agent_id = event.headers.get("Agent")
        agent = self.agents.get(agent_id) if agent_id else self._by_device.get(
            device_of(event.channel))
        if agent is None or agent.observed:
            self._ignore_text(event.name, f"unknown agent (channel {event.channel})")
            return None
        return agent

    def _set_agent(self, agent: Agent, new: AgentState, reason: str | None) -> None:
        old = move_agent(agent, new)
        if new is AgentState.AVAILABLE:
            agent.idle_since = self.now
            agent.pause_reason = None
            if not agent.device_busy and not agent.observed:
                self.pool.add(agent)
        elif old is AgentState.AVAILABLE:
            self.pool.discard(agent)
        if new is AgentState.PAUSED:
            agent.pause_reason = reason
        if old is not new:
            self._facts.append(f.AgentStateChanged(at=self.now, agent=agent.id, old=old.value,
                                                   new=new.value, reason=reason))
        if new is AgentState.AVAILABLE:
            self._dispatch_agent(agent)

    def _agent_free(self, agent: Agent, reason: str) -> None:
        """End of a ring or call with no wrap-up: apply a pending change or go idle."""
        if agent.pending is not None:
            pending, pending_reason = agent.pending, agent.pending_reason
            agent.pending = agent.pending_reason = None
            self._set_agent(agent, pending, pending_reason)
        elif agent.state in (AgentState.RINGING, AgentState.ON_CALL):
            self._set_agent(agent, AgentState.AVAILABLE, reason)

    def _agent_after_call(self, agent: Agent) -> None:
        queue = None
        call = self.calls.get(agent.call) if agent.call else None
        if call is not None:
            queue = call.queue
        agent.call = None
        if agent.pending is not None or agent.observed:
            self._agent_free(agent, "call ended")
            return
        wrap = self.config.skill(queue).wrap_up_s if queue else 0.0
        if wrap <= 0:
            self._set_agent(agent, AgentState.AVAILABLE, "call ended")
            return
        agent.wrap_up_until = self.now + wrap
        self._set_agent(agent, AgentState.WRAP_UP, None)
        self._timer(agent.wrap_up_until, "wrap", agent.id, int(agent.wrap_up_until * 1000))

    def _on_agent_login(self, intent: i.AgentLogin) -> None:
        agent = self.agents.get(intent.agent)
        if agent is not None and agent.state is AgentState.LOGGED_OUT:
            self._set_agent(agent, AgentState.AVAILABLE, f"login by {intent.by}")

    def _on_agent_logout(self, intent: i.AgentLogout) -> None:
        agent = self.agents.get(intent.agent)
        if agent is None:
            return
        if agent.state in (AgentState.RINGING, AgentState.ON_CALL):
            agent.pending, agent.pending_reason = AgentState.LOGGED_OUT, f"logout by {intent.by}"
        else:
            self._set_agent(agent, AgentState.LOGGED_OUT, f"logout by {intent.by}")

    def _on_agent_pause(self, intent: i.AgentPause) -> None:
        agent = self.agents.get(intent.agent)
        if agent is None or agent.state is AgentState.LOGGED_OUT:
            return
        if agent.state in (AgentState.RINGING, AgentState.ON_CALL):
            agent.pending, agent.pending_reason = AgentState.PAUSED, intent.reason
        else:
            self._set_agent(agent, AgentState.PAUSED, intent.reason)

    def _on_agent_ready(self, intent: i.AgentReady) -> None:
        agent = self.agents.get(intent.agent)
        if agent is None:
            return
        if agent.state in (AgentState.RINGING, AgentState.ON_CALL):
            agent.pending = agent.pending_reason = None
        elif agent.state is not AgentState.AVAILABLE:
            agent.missed_offers = 0
            self._set_agent(agent, AgentState.AVAILABLE, f"ready by {intent.by}")

    # ------------------------------------------------------------------ misc

    def _ignore(self, event: object, detail: str) -> None:
        self._ignore_text(type(event).__name__, detail)

    def _ignore_text(self, what: str, detail: str) -> None:
        self._facts.append(f.InputIgnored(at=self.now, input=what, detail=detail))


def _arrival(entry: ev.StatusEntry, arrived_var: str, now: float) -> float:
    raw = entry.variables.get(arrived_var, "")
    try:
        return float(raw)
    except ValueError:
        return now - entry.seconds


def _caller_from_pbx(call: Call, entry: ev.StatusEntry) -> None:
    """A restored call has no caller number nor name (never saved at rest): Asterisk's
    ``Status`` gives them back."""
    if not call.caller_num:
        call.caller_num = entry.caller_id_num
    if not call.caller_name:
        call.caller_name = entry.caller_id_name
