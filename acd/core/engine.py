"""The routing engine: ``handle(event, now) → Output(commands, facts)``. Pure.

:class:`Engine` is a facade: it owns the state (:class:`~acd.core.room.RoomState`),
the effects buffer (:class:`~acd.core.effects.Effects`) and the timers
(:mod:`acd.core.timers`), and builds, in one place, the tables that send each input
(the dialplan's UserEvents typed by :mod:`acd.ami.userevents`) and each timer to the
collaborator that handles it:

* :mod:`acd.core.calls`: arrival, queueing, requeue, end of calls;
* :mod:`acd.core.arrivals`: callers in their announcement, recorded if they hang up
  there (never acted on);
* :mod:`acd.core.offering`: offers and their failures;
* :mod:`acd.core.pbxview`: Asterisk's dials, answers and hang-ups;
* :mod:`acd.core.agents`: login, pause, ready, wrap-up, phones, re-skilling;
* :mod:`acd.core.resync` and :mod:`acd.core.restore`: Asterisk's snapshot, the
  periodic reconciliation, the restart from a saved state;
* :mod:`acd.core.transfers` and :mod:`acd.core.warm`: transfers between filières;
* :mod:`acd.core.overflow`: overflow to partner SAS and the bascule;
* :mod:`acd.core.pbxloss`: calls Asterisk itself cut (a restart, a crash).

The collaborators do not inherit from one another: each receives the state, the
effects and the timers, and the others it calls by name (``connect``).

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

from collections.abc import Callable
from typing import Any

from acd.ami import events as ev
from acd.ami import userevents as ue
from acd.config import Config, PartnerConfig
from acd.core import inputs as i
from acd.core.agents import Agents
from acd.core.arrivals import Arrivals
from acd.core.calls import CallBook
from acd.core.constants import CLOCK_JITTER_S
from acd.core.demand import ArrivalRates
from acd.core.effects import Effects, Output
from acd.core.model import Agent, Call
from acd.core.offering import Offering
from acd.core.overflow import Overflow
from acd.core.overflow_rules import Bascule
from acd.core.pbxloss import PbxLoss
from acd.core.pbxview import PbxView
from acd.core.records import CallRecord
from acd.core.restore import Restore
from acd.core.resync import Resync
from acd.core.room import RoomState
from acd.core.routing import AgentPool, SkillQueue
from acd.core.selection import EngineSelection
from acd.core.spare import SpareRule
from acd.core.state import EngineState, capture
from acd.core.timers import TimerKind, Timers
from acd.core.transfers import Transfers
from acd.core.warm import WarmTransfer, WarmTransfers
from acd.errors import IllegalTransition

__all__ = ["Engine", "Output"]

Handler = Callable[[Any], None]


class Engine:
    """Calls, agents, queues, transfers and partner overflow."""

    def __init__(self, config: Config, *, decide: bool = True) -> None:
        self.config = config
        self.zone = config.zone()
        state = self.state = RoomState(config=config, zone=self.zone, decide=decide,
                                       link_up=not decide)
        state.demand = ArrivalRates(config.routing.demand_window_s)
        if config.routing.backups == "spare":
            state.selection = EngineSelection(SpareRule(state, config.routing.spare_risk))
        state.queues = {s: SkillQueue(s) for s in config.skill_names()}
        state.expansion = {s: list(config.skill(s).expansion_s) for s in state.queues}
        fx = self._effects = Effects(state)
        timers = self._timers = Timers(state)
        calls = self._calls = CallBook(state, fx, timers)
        offering = self._offering = Offering(state, fx, timers)
        pbx = self._pbx = PbxView(state, fx, timers)
        agents = self._agents = Agents(state, fx, timers)
        resync = self._resync = Resync(state, fx, timers)
        restore = self._restore = Restore(state, fx, timers)
        transfers = self._transfers = Transfers(state, fx, timers)
        warm = self._warm = WarmTransfers(state, fx, timers)
        overflow = self._overflow = Overflow(state, fx, timers)
        loss = self._loss = PbxLoss(state)
        arrivals = self._arrivals = Arrivals(state, fx)
        arrivals.connect(calls=calls)
        calls.connect(offering=offering, agents=agents, overflow=overflow, warm=warm)
        offering.connect(calls=calls, agents=agents, overflow=overflow, warm=warm)
        pbx.connect(calls=calls, agents=agents, offering=offering, overflow=overflow,
                    warm=warm)
        agents.connect(offering=offering, warm=warm)
        resync.connect(calls=calls, agents=agents, offering=offering, pbx=pbx,
                       restore=restore)
        restore.connect(overflow=overflow)
        transfers.connect(calls=calls, agents=agents, offering=offering, overflow=overflow,
                          warm=warm)
        warm.connect(calls=calls, agents=agents, offering=offering, overflow=overflow,
                     pbx=pbx, transfers=transfers)
        overflow.connect(calls=calls, offering=offering)
        #: input type → handler: every input the engine knows
        self.handlers: dict[type, Handler] = {
            ue.CallWaiting: arrivals.on_call_waiting,
            ue.CallArrived: arrivals.on_arrived,
            ue.Connecting: calls.on_connecting,
            ue.DialplanDialEnd: pbx.on_dialplan_dial_end,
            ue.LoginCode: agents.on_feature_code,
            ue.LogoutCode: agents.on_feature_code,
            ue.PauseCode: agents.on_feature_code,
            ue.ReadyCode: agents.on_feature_code,
            ue.WarmAnswered: warm.on_answered,
            ue.TransferCode: transfers.on_feature_code,
            ue.OverflowEnd: overflow.on_end_event,
            ue.OverflowTrying: _nothing,
            ev.DialBegin: pbx.on_dial_begin,
            ev.DialEnd: pbx.on_dial_end,
            ev.Hangup: self._on_hangup,
            ev.MusicOnHoldStart: pbx.on_moh_start,
            ev.DeviceStateChange: agents.on_device_state,
            ev.QueueCallerJoin: pbx.on_native_join,
            ev.AgentConnect: pbx.on_native_connect,
            ev.OriginateResponse: warm.on_originate_response,
            ev.Shutdown: self._on_shutdown,
            ev.SoftHangupRequest: self._on_soft_hangup,
            ev.FullyBooted: loss.on_fully_booted,
            i.LinkDown: resync.on_link_down,
            i.LeadershipChanged: self._on_leadership,
            i.ChannelsSnapshot: self._on_snapshot,
            i.Reconcile: resync.on_reconcile,
            i.StateRestored: restore.on_restored,
            i.ActionFailed: self._on_action_failed,
            i.AgentLogin: agents.on_login,
            i.AgentLogout: agents.on_logout,
            i.AgentPause: agents.on_pause,
            i.AgentReady: agents.on_ready,
            i.AgentReskill: agents.on_reskill,
            i.TransferRequest: transfers.on_transfer,
            i.BasculeRequest: overflow.on_bascule,
        }
        #: timer kind → handler of a due call timer whose token is still valid
        self.call_timers: dict[TimerKind, Callable[[Call], None]] = {
            TimerKind.RING: offering.on_ring_timer,
            TimerKind.ORPHAN: offering.on_orphan_timer,
            TimerKind.EXPAND: offering.on_expand_timer,
            TimerKind.XFER: transfers.on_timer,
            TimerKind.WARM: warm.on_deadline_timer,
            TimerKind.WARM_RING: warm.on_ring_timer,
            TimerKind.WARM_EXPAND: warm.on_expand_timer,
            TimerKind.OVERFLOW: overflow.on_wait_timer,
            TimerKind.OVERFLOW_RING: overflow.on_ring_timer,
        }
        #: timer kind → handler of a due agent timer (keyed by agent; the handler checks
        #: the token)
        self.agent_timers: dict[TimerKind, Callable[[str, int], None]] = {
            TimerKind.WRAP: agents.on_wrap_timer,
            TimerKind.BUSY: agents.on_busy_timer,
        }
        agents.add_configured()

    # ------------------------------------------------------------------ entry points

    def handle(self, event: object, now: float) -> Output:
        """Apply one input at time ``now``; return the actions to send and the facts."""
        output = self._effects.begin()
        state = self.state
        if now > state.now or state.now - now > CLOCK_JITTER_S:
            state.now = now  # a large step back is a new clock source, not jitter
        self._run_due_timers()
        handler = self.handlers.get(type(event))
        if handler is not None:
            try:
                handler(event)
            except IllegalTransition as exc:
                # a typed UserEvent is named as Asterisk sent it
                name = "UserEvent" if isinstance(event, ev.UserEvent) else type(event).__name__
                self._effects.ignore(name, str(exc))
        return output

    def next_deadline(self) -> float | None:
        """When the next timer is due (the adapter sends a Tick then), or None."""
        return self._timers.next_deadline()

    def _run_due_timers(self) -> None:
        calls = self.state.calls
        for kind, key, token in self._timers.due():
            agent_timer = self.agent_timers.get(kind)
            if agent_timer is not None:
                agent_timer(key, token)
                continue
            call = calls.get(key)
            if call is not None and call.offer_id == token:
                self.call_timers[kind](call)

    def _on_hangup(self, event: ev.Hangup) -> None:
        if not self._arrivals.on_hangup(event):
            self._pbx.on_hangup(event)

    def _on_soft_hangup(self, event: ev.SoftHangupRequest) -> None:
        self._loss.on_soft_hangup(event)
        self._arrivals.on_soft_hangup(event)

    def _on_snapshot(self, event: i.ChannelsSnapshot) -> None:
        self._resync.on_snapshot(event)
        self._arrivals.on_snapshot(event)

    def _on_shutdown(self, event: ev.Shutdown) -> None:
        self._loss.on_shutdown(event)
        self._resync.on_link_down(event)

    def _on_leadership(self, event: i.LeadershipChanged) -> None:
        state = self.state
        state.decide = event.leading
        if event.leading:
            state.link_up = False  # no offer before the resync that follows has landed

    def _on_action_failed(self, event: i.ActionFailed) -> None:
        ref = event.ref
        if isinstance(ref, i.WarmRef):
            self._warm.on_action_failed(event, ref)
        elif isinstance(ref, i.OfferRef):
            self._offering.on_action_failed(event, ref)

    # ------------------------------------------------------------------ read side

    def snapshot(self) -> EngineState:
        """The whole durable state now (see :mod:`acd.core.state`)."""
        return capture(self)

    def waiting_calls(self, queue: str) -> list[Call]:
        q = self.state.queues.get(queue)
        return list(q) if q is not None else []

    def estimated_wait(self, queue: str) -> float:
        """See :meth:`acd.core.calls.CallBook.estimated_wait`."""
        return self._calls.estimated_wait(queue)

    def record(self, call: Call) -> CallRecord:
        """The JSON-ready record of a call (see :mod:`acd.core.records`)."""
        return self._calls.record(call)

    def partner_up(self, name: str, now: float | None = None) -> bool:
        """Whether ``name`` may be tried (at ``now``, default the engine's time)."""
        return self._overflow.partner_up(name, now)

    @property
    def decide(self) -> bool:
        """False in replay and on a standby (:class:`~acd.core.inputs.LeadershipChanged`):
        follow the stream, send nothing."""
        return self.state.decide

    @property
    def link_up(self) -> bool:
        """The AMI link is up and resynchronised: actions can be sent."""
        return self.state.link_up

    @property
    def now(self) -> float:
        return self.state.now

    @property
    def calls(self) -> dict[str, Call]:
        return self.state.calls

    @property
    def agents(self) -> dict[str, Agent]:
        return self.state.agents

    @property
    def queues(self) -> dict[str, SkillQueue]:
        return self.state.queues

    @property
    def pool(self) -> AgentPool:
        return self.state.pool

    @property
    def warm(self) -> dict[str, WarmTransfer]:
        """Warm transfers in progress, by call id, oldest first."""
        return self.state.warm

    @property
    def partners(self) -> list[PartnerConfig]:
        return self.state.partners

    @property
    def partner_down_until(self) -> dict[str, float]:
        """Partner → engine time until which it is not tried."""
        return self.state.partner_down_until

    @property
    def bascules(self) -> dict[str, Bascule]:
        """Queue (or "*") → the supervisor's switch in force."""
        return self.state.bascules


def _nothing(event: ue.DialplanEvent) -> None:
    """A UserEvent the engine knows and has nothing to do with."""
