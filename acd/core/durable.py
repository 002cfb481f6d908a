"""Restart and drift: taking back a saved state, and the periodic reconciliation. Pure.

Restore (:class:`~acd.core.inputs.StateRestored`), at start, before the AMI session:
the calls of the previous run come back with their queue positions (each queue's
saved service order), legs, first pick-up, transfers and partner attempts; agents
with their states, pause reasons, missed offers and wrap-up ends; the sequence
counter goes past every restored call. Nothing is routed yet (the link is down).
The :class:`~acd.core.inputs.ChannelsSnapshot` of the first login then reconciles
it with Asterisk, as after any reconnect: a call whose channel is gone is closed
(``ended_unobserved``, outcome from what it went through: answered if it was picked
up, else abandoned), Asterisk's view of each surviving call wins over the saved one
(a call saved as waiting that Asterisk shows in the fail-open ``Queue()``, talking or
ringing is followed there; only callers in ``[holding]`` wait again, in their saved
order), callers that arrived meanwhile are picked up in arrival order (ACD callers
only, by the rule of :mod:`acd.core.evidence`), an agent "on call" with no channel is
freed, and every phone is busy exactly when it has a channel. Only then are the
timers of the surviving calls armed again (in Asterisk's time, which the engine has
by then).

Reconcile (:class:`~acd.core.inputs.Reconcile`), every ``ami.reconcile_s`` while the
link is up: the same comparison (phones' busy state included), but a disagreement is
repaired only when two lists
in a row show it, so an event in flight while a list was built is never mistaken for
drift. Each repair is a :class:`~acd.core.facts.StateRepaired` fact (logged and
counted in ``acd_state_repairs_total{kind}``).
"""

from __future__ import annotations

from collections import deque

from acd.config import Config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.base import HANDLE_WINDOW, SNAPSHOT_MARGIN_S, EngineBase
from acd.core.model import Agent, AgentState, Call, CallState, device_of
from acd.core.state import EngineMeta


class DurableEngine(EngineBase):
    """Restore from an :class:`~acd.core.state.EngineState`; periodic reconciliation."""

    def __init__(self, config: Config, *, decide: bool = True) -> None:
        super().__init__(config, decide=decide)
        #: disagreements seen by the last Reconcile: (kind, subject)
        self._suspects: set[tuple[str, str]] = set()
        #: a restore happened and the resync that follows it has not come yet
        self._rearm = False
        #: ids of the calls restored (known before the link came up)
        self._restored: set[str] = set()
        self._handlers[i.StateRestored] = self._on_restored
        self._handlers[i.Reconcile] = self._on_reconcile

    # ------------------------------------------------------------------ restore

    def _on_restored(self, event: i.StateRestored) -> None:
        state = event.state
        if self.calls:
            self._ignore_text("StateRestored", "the engine already follows calls")
            return
        for call in state.calls:
            if call.state is CallState.ENDED or call.channel in self._by_channel:
                continue
            self.calls[call.id] = call
            self._by_channel[call.channel] = call
        placed: set[str] = set()
        for name, ids in state.queues.items():
            for call_id in ids:
                waiting = self.calls.get(call_id)
                if waiting is not None and waiting.state is CallState.WAITING \
                        and waiting.queue == name and call_id not in placed:
                    self._queue(name).push(waiting)
                    placed.add(call_id)
        for call in sorted(self.calls.values(), key=lambda c: c.seq):
            if call.state is CallState.WAITING and call.id not in placed:
                self._queue(call.queue).insert_in_order(call)  # not in a saved order
        for saved in state.agents:
            self._restore_agent(saved)
        for call in self.calls.values():
            agent = self.agents.get(call.agent) if call.agent else None
            for channel in call.agent_channels:
                leg_agent = self._by_device.get(device_of(channel)) or agent
                if leg_agent is not None:
                    self._agent_legs[channel] = (call, leg_agent)
        self._seq = max(self._seq, state.meta.seq, *(c.seq for c in self.calls.values()))
        for name, times in state.meta.handled.items():
            self._handled[name] = deque(times, maxlen=HANDLE_WINDOW)
        self._restore_meta(state.meta)
        self._rearm = True
        self._restored = set(self.calls)
        queued = sum(len(q) for q in self.queues.values())
        self._facts.append(f.StateRestored(at=self.now, calls=len(self.calls), waiting=queued,
                                           agents=len(state.agents), saved_at=state.meta.at))

    def _restore_agent(self, saved: Agent) -> None:
        agent = self.agents.get(saved.id)
        if agent is None:
            if not saved.observed:
                return  # no longer in the config
            agent = saved
            self.agents[agent.id] = agent
            self._by_device.setdefault(agent.device, agent)
        old = agent.state
        self.pool.discard(agent)
        agent.state = saved.state
        agent.pause_reason = saved.pause_reason
        agent.idle_since = saved.idle_since
        agent.call = saved.call if saved.call in self.calls else None
        agent.missed_offers = saved.missed_offers
        agent.wrap_up_until = saved.wrap_up_until
        agent.pending, agent.pending_reason = saved.pending, saved.pending_reason
        agent.device_busy = saved.device_busy
        if agent.state is AgentState.AVAILABLE and not agent.device_busy \
                and not agent.observed:
            self.pool.add(agent)
        if agent.state is not old:
            self._facts.append(f.AgentStateChanged(
                at=self.now, agent=agent.id, old=old.value, new=agent.state.value,
                reason=agent.pause_reason if agent.state is AgentState.PAUSED
                else "restored"))

    def _restore_meta(self, meta: EngineMeta) -> None:
        """Hook: engine-wide state of the upper layers (bascules, partners)."""

    def _resynced(self, devices_in_use: set[str]) -> None:
        """After the first resync following a restore: arm the timers of what is left,
        in Asterisk's time (the restore itself ran before any event gave it). (Every
        resync rebuilds the phones' busy state from the channels.)"""
        if not self._rearm:
            return
        self._rearm = False
        self._restored = set()
        routing = self.config.routing
        for call in list(self.calls.values()):
            if call.state is CallState.WAITING:
                for delay in self._expansion.get(call.queue, ()):
                    if call.enqueued_at + delay > self.now:
                        self._timer(call.enqueued_at + delay, "expand", call.id, call.offer_id)
            elif call.state is CallState.OFFERED:
                self._timer(self.now + routing.ring_timeout_s + routing.ring_grace_s, "ring",
                            call.id, call.offer_id)
            elif call.state is CallState.HELD:
                self._timer(self.now + routing.orphan_requeue_s, "orphan", call.id,
                            call.offer_id)
            self._rearm_call(call)
        for agent in self.agents.values():
            if agent.state is AgentState.WRAP_UP:
                self._timer(agent.wrap_up_until, "wrap", agent.id,
                            int(agent.wrap_up_until * 1000))

    def _known_before_link(self, call: Call) -> bool:
        return call.id in self._restored

    def _rearm_call(self, call: Call) -> None:
        """Hook: timers of the upper layers for a restored call (overflow)."""

    # ------------------------------------------------------------------ reconcile

    def _on_reconcile(self, event: i.Reconcile) -> None:
        if not self.link_up:
            return  # the resync at the next login does the whole comparison
        previous, seen = self._suspects, set[tuple[str, str]]()

        def confirmed(kind: str, subject: str) -> bool:
            seen.add((kind, subject))
            return (kind, subject) in previous

        live = {entry.channel for entry in event.channels}
        devices = {device_of(entry.channel) for entry in event.channels}
        for call in list(self.calls.values()):
            if call.channel in live or call.arrived_at >= event.taken_at - SNAPSHOT_MARGIN_S:
                continue
            if confirmed("call_gone", call.id):
                self._repair("call_gone", call.id, f"channel {call.channel} is gone")
                self._end_call(call, unobserved=True)
        for agent in list(self.agents.values()):
            if agent.observed or agent.device in devices:
                continue
            talking = self.calls.get(agent.call) if agent.call else None
            if agent.state in (AgentState.ON_CALL, AgentState.RINGING) and talking is None:
                if confirmed("agent_idle", agent.id):
                    self._repair("agent_idle", agent.id,
                                 f"{agent.state.value} with no channel")
                    agent.call = None
                    self._agent_free(agent, "reconciled")
            elif agent.state is AgentState.ON_CALL and talking is not None \
                    and talking.state is CallState.CONNECTED and talking.agent == agent.id \
                    and confirmed("agent_gone", talking.id):
                self._repair("agent_gone", talking.id,
                             f"agent {agent.id} on call with no channel")
                self._agent_left(talking, agent)
        for agent in self.agents.values():
            busy = agent.device in devices
            if not agent.observed and busy != agent.device_busy \
                    and confirmed("device_busy" if busy else "device_free", agent.id):
                self._repair("device_busy" if busy else "device_free", agent.id,
                             "phone has a channel" if busy else "phone has no channel")
                self._set_device_busy(agent, busy)
        holding = self.config.dialplan.holding_context
        found = [e for e in event.channels if self._is_unknown_caller(e)
                 and not e.bridge_id and e.context == holding
                 and confirmed("call_found", e.uniqueid or e.channel)]
        for entry in sorted(found, key=self._arrival_of):
            self._repair("call_found", entry.uniqueid, "waiting call found by the reconciler")
            self._enqueue(self._found_call(entry), head=False, new=True)
        self._suspects = seen
        self._dispatch_all()
