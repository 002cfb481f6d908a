"""The routing engine: ``handle(event, now) → Output(commands, facts)``. Pure.

:class:`Engine` is a facade: it owns the state (:class:`~acd.core.room.RoomState`),
the effects buffer (:class:`~acd.core.effects.Effects`), the timers
(:mod:`acd.core.timers`) and the marks (:mod:`acd.core.attention`), builds its
collaborators in one direction, and the tables that send each input (the dialplan's
UserEvents typed by :mod:`acd.ami.userevents`) and each timer to the collaborator
that handles it. From the bottom up (the
layers contract of ``pyproject.toml`` keeps the direction):

* the ledger: :mod:`acd.core.roster` (agents' states, the pool of free agents, who
  rings for which call) and :mod:`acd.core.calls` (arrival, queueing, requeue, moves,
  agents' legs, end of calls). Every change that keeps an invariant (agent ↔ call,
  pool, queues) is made there; it never offers anything, it *marks* a call that
  starts waiting, an agent who becomes free, a queue that empties;
* the policies above it: :mod:`acd.core.offering` (offers and their failures),
  :mod:`acd.core.agents` (login, pause, ready, phones, re-skilling),
  :mod:`acd.core.arrivals` (callers in their announcement), :mod:`acd.core.overflow`
  (partner SAS, the bascule), :mod:`acd.core.warm` and :mod:`acd.core.transfers`
  (transfers between filières), :mod:`acd.core.pbxview` (Asterisk's dials, answers
  and hang-ups), :mod:`acd.core.restore` and :mod:`acd.core.resync` (a saved
  state, Asterisk's snapshot, the periodic reconciliation), :mod:`acd.core.pbxloss`
  (calls Asterisk itself cut). Each receives, in its constructor, what it uses; none
  calls one above it.

After each handler (an input, a due timer) the engine *settles* the marks, oldest
first (:meth:`Engine._settle`): a new call meets its overflow rule, then an offer; a
free agent a warm transfer waiting for its skill, then the queues. A policy that
needs an offer made before it goes on (a transfer that sends the caller to holding
only if nobody takes it at once) asks :mod:`acd.core.offering` itself.

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
from acd.core.attention import AgentFree, Attention, CallWaits
from acd.core.calls import CallBook
from acd.core.constants import CLOCK_JITTER_S
from acd.core.context import Context
from acd.core.demand import ArrivalRates
from acd.core.effects import Output
from acd.core.model import Agent, AgentState, Call, CallState, WarmTransfer
from acd.core.offering import Offering
from acd.core.overflow import Overflow
from acd.core.overflow_rules import Bascule
from acd.core.pbxloss import PbxLoss
from acd.core.pbxview import PbxView
from acd.core.records import CallRecord
from acd.core.restore import Restore
from acd.core.resync import Resync
from acd.core.room import RoomState
from acd.core.roster import Roster
from acd.core.routing import AgentPool, SkillQueue
from acd.core.selection import EngineSelection
from acd.core.spare import SpareRule
from acd.core.state import EngineMeta, EngineState, capture, capture_meta
from acd.core.timerkind import TimerKind
from acd.core.transfers import Transfers
from acd.core.warm import WarmTransfers
from acd.core.warmwait import WarmTargets
from acd.errors import IllegalTransition

__all__ = ["Engine", "Output"]

Handler = Callable[[Any], None]


class Engine:
    """Calls, agents, queues, transfers and partner overflow."""

    def __init__(self, config: Config, *, decide: bool = True) -> None:
        self.config = config
        self.zone = config.zone()
        state = self.state = _room(config, decide)
        self._build(state)
        #: the room's collections, read by the adapters (:class:`acd.core.ports.EngineView`)
        self.calls: dict[str, Call] = state.calls
        self.agents: dict[str, Agent] = state.agents
        self.queues: dict[str, SkillQueue] = state.queues
        self.pool: AgentPool = state.pool
        #: warm transfers in progress, by call id, oldest first
        self.warm: dict[str, WarmTransfer] = state.warm
        self.partners: list[PartnerConfig] = state.partners
        #: partner → engine time until which it is not tried
        self.partner_down_until: dict[str, float] = state.partner_down_until
        #: queue (or "*") → the supervisor's switch in force
        self.bascules: dict[str, Bascule] = state.bascules
        self._tables(config)
        self._roster.add_configured()
        self._settle()

    def _build(self, state: RoomState) -> None:
        """The ledger, then each policy with what it uses, lowest layer first."""
        ctx = Context.of(state)
        self._effects, self._timers = ctx.fx, ctx.timers
        attention = self._attention = Attention()
        roster = self._roster = Roster(ctx, attention)
        calls = self._calls = CallBook(ctx, attention, roster)
        targets = WarmTargets(state, roster)
        offering = self._offering = Offering(ctx, calls=calls, roster=roster, targets=targets)
        overflow = self._overflow = Overflow(ctx, calls=calls, offering=offering)
        warm = self._warm = WarmTransfers(ctx, calls=calls, roster=roster, targets=targets,
                                          offering=offering, overflow=overflow)
        agents = self._agents = Agents(ctx, roster)
        self._transfers = Transfers(ctx, calls=calls, agents=agents, offering=offering,
                                    overflow=overflow, warm=warm)
        pbx = self._pbx = PbxView(ctx, calls=calls, roster=roster, offering=offering,
                                  overflow=overflow, warm=warm)
        restore = self._restore = Restore(ctx, overflow=overflow)
        self._resync = Resync(ctx, calls=calls, roster=roster, offering=offering, pbx=pbx,
                              restore=restore)
        self._loss = PbxLoss(state)
        self._arrivals = Arrivals(ctx, calls)

    def _tables(self, config: Config) -> None:
        """Which collaborator handles each input, UserEvent and timer."""
        #: input type → handler: every input the engine knows
        self.handlers: dict[type, Handler] = {**self._dialplan_handlers(),
                                              **self._input_handlers()}
        warm, overflow, offering = self._warm, self._overflow, self._offering
        #: timer kind → handler of a due call timer whose token is still valid
        self.call_timers: dict[TimerKind, Callable[[Call], None]] = {
            TimerKind.RING: offering.on_ring_timer,
            TimerKind.ORPHAN: offering.on_orphan_timer,
            TimerKind.EXPAND: offering.on_expand_timer,
            TimerKind.XFER: self._transfers.on_timer,
            TimerKind.WARM: warm.on_deadline_timer,
            TimerKind.WARM_RING: warm.on_ring_timer,
            TimerKind.WARM_EXPAND: warm.on_expand_timer,
            TimerKind.OVERFLOW: overflow.on_wait_timer,
            TimerKind.OVERFLOW_RING: overflow.on_ring_timer,
        }
        #: timer kind → handler of a due agent timer (keyed by agent) still valid
        self.agent_timers: dict[TimerKind, Callable[[Agent], None]] = {
            TimerKind.WRAP: self._agents.on_wrap_timer,
            TimerKind.BUSY: self._agents.on_busy_timer,
        }

    def _input_handlers(self) -> dict[type, Handler]:
        pbx, agents, resync = self._pbx, self._agents, self._resync
        return {
            ev.DialBegin: pbx.on_dial_begin,
            ev.DialEnd: pbx.on_dial_end,
            ev.Hangup: self._on_hangup,
            ev.MusicOnHoldStart: pbx.on_moh_start,
            ev.DeviceStateChange: agents.on_device_state,
            ev.QueueCallerJoin: pbx.on_native_join,
            ev.AgentConnect: pbx.on_native_connect,
            ev.OriginateResponse: self._warm.on_originate_response,
            ev.Shutdown: self._on_shutdown,
            ev.SoftHangupRequest: self._loss.on_soft_hangup,
            ev.FullyBooted: self._loss.on_fully_booted,
            i.LinkDown: resync.on_link_down,
            i.LeadershipChanged: self._on_leadership,
            i.ChannelsSnapshot: self._on_snapshot,
            i.Reconcile: resync.on_reconcile,
            i.StateRestored: self._restore.on_restored,
            i.ActionFailed: self._on_action_failed,
            i.AgentLogin: agents.on_login,
            i.AgentLogout: agents.on_logout,
            i.AgentPause: agents.on_pause,
            i.AgentReady: agents.on_ready,
            i.AgentReskill: agents.on_reskill,
            i.TransferRequest: self._transfers.on_transfer,
            i.BasculeRequest: self._overflow.on_bascule,
        }

    def _dialplan_handlers(self) -> dict[type, Handler]:
        arrivals, agents = self._arrivals, self._agents
        return {
            ue.CallWaiting: arrivals.on_call_waiting,
            ue.CallArrived: arrivals.on_arrived,
            ue.Connecting: self._calls.on_connecting,
            ue.DialplanDialEnd: self._pbx.on_dialplan_dial_end,
            ue.LoginCode: agents.on_feature_code,
            ue.LogoutCode: agents.on_feature_code,
            ue.PauseCode: agents.on_feature_code,
            ue.ReadyCode: agents.on_feature_code,
            ue.WarmAnswered: self._warm.on_answered,
            ue.TransferCode: self._transfers.on_feature_code,
            ue.OverflowEnd: self._overflow.on_end_event,
            ue.OverflowTrying: _nothing,
        }

    # ------------------------------------------------------------------ entry points

    def handle(self, event: object, now: float) -> Output:
        """Apply one input at time ``now``; return the actions to send and the facts."""
        output = self._effects.begin()
        self._attention.clear()
        state = self.state
        if now > state.now or state.now - now > CLOCK_JITTER_S:
            state.now = now  # a large step back is a new clock source, not jitter
        if self._timers.any_due():
            self._run_due_timers()
        handler = self.handlers.get(type(event))
        if handler is not None:
            try:
                handler(event)
            except IllegalTransition as exc:
                # a typed UserEvent is named as Asterisk sent it
                name = "UserEvent" if isinstance(event, ev.UserEvent) else type(event).__name__
                self._effects.ignore(name, str(exc))
            self._settle()
        return output

    def next_deadline(self) -> float | None:
        """When the next timer that still applies is due (the adapter sends a Tick
        then), or None: a timer made stale since it was armed wakes nobody."""
        return self._timers.next_deadline()

    def _run_due_timers(self) -> None:
        calls, agents = self.state.calls, self.state.agents
        for kind, key in self._timers.due():
            agent_timer = self.agent_timers.get(kind)
            if agent_timer is not None:
                agent_timer(agents[key])
            else:
                self.call_timers[kind](calls[key])
            self._settle()

    def _settle(self) -> None:
        """Hand what the handler marked to the policy that decides, oldest first
        (:mod:`acd.core.attention`); settling may mark more."""
        attention, state = self._attention, self.state
        while (mark := attention.next()) is not None:
            if isinstance(mark, CallWaits):
                call = mark.call
                if call.state is not CallState.WAITING or state.calls.get(call.id) is not call:
                    continue  # offered, moved or gone since
                if not (mark.new and self._overflow.divert(call)):
                    self._offering.dispatch_call(call)
            elif isinstance(mark, AgentFree):
                agent = mark.agent
                if agent.state is AgentState.AVAILABLE and self._roster.selectable(agent) \
                        and not self._warm.offer_to(agent):
                    self._offering.dispatch_agent(agent)
            else:
                self._offering.lend_backups()

    def _on_hangup(self, event: ev.Hangup) -> None:
        if not self._arrivals.on_hangup(event):
            self._pbx.on_hangup(event)

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
        """A refused action goes to whoever its ref names: a warm transfer's ring or
        handover, an offer or an overflow attempt still in progress."""
        ref = event.ref
        if isinstance(ref, i.WarmRef):
            self._pbx.on_handover_failed(event, ref)  # none in progress any more
            self._warm.on_action_failed(event, ref)
        elif isinstance(ref, i.OfferRef):
            call = self._calls.named_by(ref)
            if call is not None and call.state is CallState.OFFERED:
                self._offering.on_action_failed(event, call)
            elif call is not None:
                self._overflow.on_action_failed(event, call)

    # ------------------------------------------------------------------ read side

    def snapshot(self) -> EngineState:
        """The whole durable state now (see :mod:`acd.core.state`)."""
        return capture(self.state)

    def meta(self) -> EngineMeta:
        """The engine-wide part of the durable state now (bascules, partners held
        down, counters)."""
        return capture_meta(self.state)

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


def _room(config: Config, decide: bool) -> RoomState:
    """The room as the config starts it: its queues, expansion delays and backups
    rule (agents come from :meth:`acd.core.roster.Roster.add_configured`)."""
    state = RoomState(config=config, zone=config.zone(), decide=decide, link_up=not decide)
    state.demand = ArrivalRates(config.routing.demand_window_s)
    if config.routing.backups == "spare":
        state.selection = EngineSelection(SpareRule(state, config.routing.spare_risk))
    state.queues = {s: SkillQueue(s) for s in config.skill_names()}
    state.expansion = {s: list(config.skill(s).expansion_s) for s in state.queues}
    return state


def _nothing(event: ue.DialplanEvent) -> None:
    """A UserEvent the engine knows and has nothing to do with."""
