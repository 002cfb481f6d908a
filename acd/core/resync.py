"""Resynchronisation with Asterisk: the snapshot after every login, and the periodic
reconciliation.

Snapshot (:class:`~acd.core.inputs.ChannelsSnapshot`): Asterisk's view wins over the
engine's (and over a restored one): every call is followed where ``Status`` shows it,
and only callers in the holding context wait for the router (:mod:`acd.core.evidence`).
Channels that are not ACD callers are never taken over.

Reconcile (:class:`~acd.core.inputs.Reconcile`), every ``ami.reconcile_s`` while the
link is up: the same comparison (phones' busy state included), but a disagreement is
repaired only when two lists in a row show it, so an event in flight while a list was
built is never mistaken for drift. Each repair is a
:class:`~acd.core.facts.StateRepaired` fact.
"""

from __future__ import annotations

from acd.ami import events as ev
from acd.ami.userevents import call_priority
from acd.core import inputs as i
from acd.core import observed
from acd.core.calls import CallBook
from acd.core.constants import ACTION_RETRY_S, SNAPSHOT_MARGIN_S
from acd.core.context import Context
from acd.core.evidence import Place, is_acd_caller, place_of
from acd.core.model import Agent, AgentState, Call, CallState, device_of, move_call
from acd.core.offering import Offering
from acd.core.pbxloss import resync_reason
from acd.core.pbxview import PbxView
from acd.core.restore import Restore
from acd.core.roster import Roster
from acd.core.timerkind import TimerKind


class Resync:
    """Asterisk's snapshot and the periodic reconciliation (see the module docstring)."""

    def __init__(self, context: Context, *, calls: CallBook, roster: Roster,
                 offering: Offering, pbx: PbxView, restore: Restore) -> None:
        self.state, self.fx, self.timers, self.config = context
        self.calls, self.roster, self.offering = calls, roster, offering
        self.pbx, self.restore = pbx, restore

    def on_link_down(self, event: object) -> None:
        self.state.link_up = False

    # ------------------------------------------------------------------ snapshot

    def on_snapshot(self, event: i.ChannelsSnapshot) -> None:
        """Reconcile with Asterisk's list of live channels, then route again."""
        state = self.state
        live = {entry.channel: entry for entry in event.channels}
        lost = resync_reason(state, event.taken_at)  # Asterisk started again: cut by it
        for call in list(state.calls.values()):
            entry = live.get(call.channel)
            if entry is None and call.arrived_at >= event.taken_at - SNAPSHOT_MARGIN_S \
                    and not self.restore.known_before_link(call):
                continue  # arrived while the list was being built: not in it, not gone
            if entry is None:
                self.fx.repair("call_gone", call.id, f"channel {call.channel} is gone"
                               + (f" ({lost})" if lost else ""))
                call.lost_reason = call.lost_reason or lost
                self.pbx.end_call(call, unobserved=True)
            else:
                _caller_from_pbx(call, entry)
                self.reconcile_call(call, entry, event.channels)
        unknown = [e for e in event.channels if self.is_unknown_caller(e)]
        for entry in sorted(unknown, key=self.arrival_of):
            self.adopt(entry, event.channels)
        devices_in_use = {device_of(e.channel) for e in event.channels}
        observed.forget_idle(state, devices_in_use)
        for agent in state.agents.values():
            if agent.state in (AgentState.ON_CALL, AgentState.RINGING) \
                    and agent.call not in state.calls and agent.device not in devices_in_use:
                self.fx.repair("agent_idle", agent.id, f"{agent.state.value} with no channel")
                self.roster.let_go(agent, agent.call)
                self.roster.free(agent, "resync")
        self.rebuild_devices(devices_in_use)
        self.restore.resynced()
        state.link_up = True
        self.offering.dispatch_all()

    def rebuild_devices(self, devices_in_use: set[str]) -> None:
        """An agent's phone is busy exactly while Asterisk shows a channel of it."""
        for agent in self.state.agents.values():
            busy = agent.device in devices_in_use
            if not agent.observed and busy != agent.device_busy:
                self.roster.set_device_busy(agent, busy)

    def is_unknown_caller(self, entry: ev.StatusEntry) -> bool:
        """A listed ACD caller (:func:`~acd.core.evidence.is_acd_caller`) the engine
        does not follow (and did not just see end)."""
        state = self.state
        return (is_acd_caller(entry, self.config.dialplan)
                and entry.channel not in state.by_channel
                and entry.channel not in state.recently_ended
                # an agent's leg inherits the caller's __ variables: never a caller
                and device_of(entry.channel) not in state.by_device)

    def adopt(self, entry: ev.StatusEntry, channels: list[ev.StatusEntry]) -> None:
        """A caller Asterisk has and the engine did not know (the router was away):
        followed where it is. Only a caller in the holding context waits for the
        router; one in the fail-open queue, talking or ringing is followed, never
        moved; one with a partner SAS or between two steps is left alone."""
        place = place_of(entry, self.config.dialplan)
        if place is Place.HOLDING:
            self.fx.repair("call_found", entry.uniqueid, "waiting call found at resync")
            self.calls.enqueue(self.found_call(entry), head=False, new=True)
        elif place is Place.NATIVE_QUEUE:
            call = self.found_call(entry, state=CallState.NATIVE)
            self.fx.repair("call_found_native", call.id, "call found in the native queue "
                                                         "at resync")
        elif place is Place.BRIDGED:
            peer = _bridge_peer(entry, channels)
            if peer is not None:
                call = self.found_call(entry, state=CallState.NATIVE)
                self.follow_talking(call, peer)
        elif place is Place.RINGING:
            leg = self.ringing_leg(entry, channels)
            if leg is not None:
                self.follow_ringing(self.found_call(entry, state=CallState.NATIVE), leg)

    def ringing_leg(self, entry: ev.StatusEntry,
                    channels: list[ev.StatusEntry]) -> str | None:
        """The channel of an agent's phone that a caller's Dial rings (same Linkedid)."""
        by_device = self.state.by_device
        return next((e.channel for e in channels if e.linkedid == entry.linkedid
                     and e.channel != entry.channel and not e.bridge_id
                     and device_of(e.channel) in by_device), None)

    def follow_talking(self, call: Call, peer: str) -> None:
        """Asterisk shows ``call`` bridged with ``peer``: the call is answered by that
        agent, at a time the engine did not see."""
        agent = self.calls.agent_for_leg(peer, call)
        if agent is None:
            return  # a phone the engine does not follow: the call stays where it is
        self.calls.follow_leg(peer, call, agent)
        self.fx.repair("call_found_talking", call.id,
                       f"call found talking with {agent.id} at resync")
        self.pbx.answered(call, agent, observed=False)

    def follow_ringing(self, call: Call, leg: str) -> None:
        """Asterisk shows ``call``'s Dial ringing ``leg``: an offer the engine did not
        make (or no longer knew), followed with the usual ring time-out."""
        state = self.state
        agent = self.calls.agent_for_leg(leg, call)
        if agent is None:
            return
        self.calls.follow_leg(leg, call, agent)
        self.calls.leave_queue(call, CallState.OFFERED)
        call.offer_id += 1
        call.agent = agent.id
        self.fx.repair("call_found_ringing", call.id, f"call found ringing {agent.id}")
        if agent.call is None and agent.state in (AgentState.AVAILABLE, AgentState.WRAP_UP):
            self.roster.ring(agent, call)
        routing = self.config.routing
        self.timers.arm(state.now + routing.ring_timeout_s + routing.ring_grace_s,
                        TimerKind.RING, call.id, call.offer_id)

    def found_call(self, entry: ev.StatusEntry, *,
                   state: CallState = CallState.WAITING) -> Call:
        """A caller Asterisk has and the engine did not know, registered with the
        arrival time and priority the dialplan stored on its channel (the caller
        enqueues a waiting one)."""
        names = self.config.dialplan
        arrived = _arrival(entry, names.arrived_var, self.state.now)
        number = entry.variables.get(names.number_var, "")
        queue, period, forward = self.calls.entry(number, None, arrived)
        call = Call(id=entry.uniqueid or entry.channel, channel=entry.channel,
                    linkedid=entry.linkedid, number=number,
                    caller_name=entry.caller_id_name, caller_num=entry.caller_id_num,
                    priority=self.calls.priority(
                        call_priority(entry.variables.get(names.priority_var))),
                    arrived_at=arrived, queue=queue, enqueued_at=arrived,
                    seq=self.state.next_seq(), period=period, forward_to=forward,
                    state=state)
        self.calls.register(call)
        call.legs[-1].entered_at = arrived
        return call

    def arrival_of(self, entry: ev.StatusEntry) -> float:
        return _arrival(entry, self.config.dialplan.arrived_var, self.state.now)

    def reconcile_call(self, call: Call, entry: ev.StatusEntry,
                       channels: list[ev.StatusEntry]) -> None:
        """A call the engine follows (or restored) is followed where Asterisk shows
        it: only one in the holding context waits for the router."""
        agent = self.state.agent_of(call)
        place = place_of(entry, self.config.dialplan)
        bridged = bool(entry.bridge_id)
        offering = self.offering
        if call.state in (CallState.WAITING, CallState.NATIVE, CallState.HELD):
            self.follow_unrouted(call, entry, place, channels)
        elif call.state is CallState.OFFERED and place is Place.NATIVE_QUEUE:
            self.fx.repair("call_native", call.id, "offered call found in the native queue")
            offering.offer_failed(call, agent, "failed open", missed=False,
                                  retry_after=ACTION_RETRY_S)
            move_call(call, CallState.NATIVE)
        elif call.state is CallState.OFFERED and agent is not None and bridged:
            self.fx.repair("answer_missed", call.id, "offered call found talking")
            peer = _bridge_peer(entry, channels)
            found = self.calls.agent_for_leg(peer, call) if peer else None
            self.pbx.answered(call, found or agent, observed=False)
        elif call.state is CallState.OFFERED and entry.application != "Dial":
            self.fx.repair("offer_lost", call.id, "offer not ringing after reconnect")
            offering.offer_failed(call, agent, "lost at reconnect", missed=False)
        elif call.state is CallState.CONNECTED and agent is not None and not bridged:
            self.fx.repair("agent_gone", call.id, "connected call found without its agent")
            self.pbx.agent_left(call, agent)
            if place is Place.NATIVE_QUEUE:
                move_call(call, CallState.NATIVE)

    def follow_unrouted(self, call: Call, entry: ev.StatusEntry, place: Place,
                        channels: list[ev.StatusEntry]) -> None:
        """A call waiting, held or in the native queue in the engine's view."""
        if place is Place.HOLDING:
            if call.state is CallState.NATIVE:
                self.fx.repair("call_waiting", call.id, "call found back in holding")
                self.calls.requeue(call, None, "found back in holding at resync")
            return
        if place is Place.BRIDGED:
            peer = _bridge_peer(entry, channels)
            if peer is not None:
                self.follow_talking(call, peer)
                return
        if place is Place.RINGING:
            leg = self.ringing_leg(entry, channels)
            if leg is not None:
                self.follow_ringing(call, leg)
                return
        if call.state is CallState.WAITING:
            self.state.queue(call.queue).remove(call)
        if call.state is not CallState.NATIVE:
            self.fx.repair("call_native", call.id,
                           f"{call.state.value} call found in {place.value}")
            move_call(call, CallState.NATIVE)

    # ------------------------------------------------------------------ reconcile

    def on_reconcile(self, event: i.Reconcile) -> None:
        state = self.state
        if not state.link_up:
            return  # the resync at the next login does the whole comparison
        suspects = _Suspects(state.suspects)
        devices = {device_of(entry.channel) for entry in event.channels}
        observed.forget_idle(state, devices)
        self._reconcile_calls(event, suspects)
        for agent in list(state.agents.values()):
            if not agent.observed and agent.device not in devices:
                self._reconcile_agent(agent, suspects)
        self._reconcile_devices(devices, suspects)
        self._reconcile_found(event, suspects)
        state.suspects = suspects.seen
        self.offering.dispatch_all()

    def _reconcile_calls(self, event: i.Reconcile, suspects: _Suspects) -> None:
        """A call whose channel is gone from two lists in a row has ended."""
        live = {entry.channel for entry in event.channels}
        for call in list(self.state.calls.values()):
            if call.channel in live or call.arrived_at >= event.taken_at - SNAPSHOT_MARGIN_S:
                continue
            if suspects.confirmed("call_gone", call.id):
                self.fx.repair("call_gone", call.id, f"channel {call.channel} is gone")
                self.pbx.end_call(call, unobserved=True)

    def _reconcile_agent(self, agent: Agent, suspects: _Suspects) -> None:
        """An agent (not observed) whose phone has no channel: ringing or on a call that
        does not exist, it is free; on a call that does, the agent has left it."""
        talking = self.state.calls.get(agent.call) if agent.call else None
        if agent.state in (AgentState.ON_CALL, AgentState.RINGING) and talking is None:
            if suspects.confirmed("agent_idle", agent.id):
                self.fx.repair("agent_idle", agent.id, f"{agent.state.value} with no channel")
                self.roster.let_go(agent, agent.call)
                self.roster.free(agent, "reconciled")
        elif agent.state is AgentState.ON_CALL and talking is not None \
                and talking.state is CallState.CONNECTED and talking.agent == agent.id \
                and suspects.confirmed("agent_gone", talking.id):
            self.fx.repair("agent_gone", talking.id,
                           f"agent {agent.id} on call with no channel")
            self.pbx.agent_left(talking, agent)

    def _reconcile_devices(self, devices: set[str], suspects: _Suspects) -> None:
        """Phones' busy state follows whether they have a channel."""
        for agent in self.state.agents.values():
            busy = agent.device in devices
            kind = "device_busy" if busy else "device_free"
            if not agent.observed and busy != agent.device_busy \
                    and suspects.confirmed(kind, agent.id):
                self.fx.repair(kind, agent.id,
                               "phone has a channel" if busy else "phone has no channel")
                self.roster.set_device_busy(agent, busy)

    def _reconcile_found(self, event: i.Reconcile, suspects: _Suspects) -> None:
        """ACD callers in the holding context the engine does not know wait again."""
        holding = self.config.dialplan.holding_context
        found = [e for e in event.channels if self.is_unknown_caller(e)
                 and not e.bridge_id and e.context == holding
                 and suspects.confirmed("call_found", e.uniqueid or e.channel)]
        for entry in sorted(found, key=self.arrival_of):
            self.fx.repair("call_found", entry.uniqueid, "waiting call found by the reconciler")
            self.calls.enqueue(self.found_call(entry), head=False, new=True)


class _Suspects:
    """The disagreements seen by one reconcile; one is repaired only when the previous
    reconcile saw it too."""

    def __init__(self, previous: set[tuple[str, str]]) -> None:
        self.previous = previous
        self.seen: set[tuple[str, str]] = set()

    def confirmed(self, kind: str, subject: str) -> bool:
        self.seen.add((kind, subject))
        return (kind, subject) in self.previous


def _bridge_peer(entry: ev.StatusEntry, channels: list[ev.StatusEntry]) -> str | None:
    return next((e.channel for e in channels if e.bridge_id == entry.bridge_id
                 and e.channel != entry.channel), None)


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
