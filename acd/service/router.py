"""The router driver: every input reaches :meth:`Router.submit`; its actions are
gated (only a router that may act sends them: alone, or the leader) and sent, its facts
fanned out to the listeners and logged (:mod:`acd.service.factlog`); one timer is kept
armed for the engine's next deadline. The leader election's glue lives here too.

One event loop, one writer. AMI events, timer ticks, action failures and HTTP intents
all reach :meth:`Router.submit`, which runs ``engine.handle`` synchronously (it never
awaits), so inputs are applied one at a time in arrival order, exactly as through a
queue, without a queue's latency. Outputs are applied at once: actions are written
to the AMI socket, facts are logged and counted (:mod:`acd.metrics`) and,
later, journaled.

No single input stops routing: an exception while applying one input (an event, a
tick, an intent), sending one of its actions or publishing one of its facts is logged
once (``input_failed``, with the input's kind and where it was raised, no value),
counted (``acd_input_errors_total{kind}``), and the router goes on with the next; a
resync's other actions are all sent.

The composition of the whole service is :mod:`acd.service.main`.
"""

from __future__ import annotations

import asyncio
import functools
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from acd.ami.client import AmiConnection
from acd.ami.events import AmiEvent, Reload, StatusEntry
from acd.config import Config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.engine import Engine, Output
from acd.core.ports import (
    CLOCK_KINDS,
    AuditListener,
    FactListener,
    HealthSource,
    MetricSource,
)
from acd.logs import get_logger, where
from acd.service.clock import EngineClock, OwnClock, PbxTime, SimulatorClock
from acd.service.factlog import log_fact
from acd.service.health import health_of
from acd.service.heartbeat import send_heartbeat
from acd.store.leader import Election

log = get_logger("acd.router")
#: a clock's disagreements are logged at most once in this many seconds (all counted)
CLOCK_SKEW_LOG_S = 60.0


class Router:
    """The engine and what drives it. ``clock`` gives engine time (epoch seconds): the
    router's own (:class:`~acd.service.clock.OwnClock`) unless it is told that its PBX
    is a simulator, by ``speed`` (other than 1) or by a clock of its own (the simulator's,
    or a test's), see :mod:`acd.service.clock`."""

    def __init__(self, config: Config, *,
                 clock: EngineClock | Callable[[], float] | None = None,
                 speed: float = 1.0) -> None:
        self.config = config
        self.engine = Engine(config)
        self.engine_clock: EngineClock = _engine_clock(clock, speed)
        self.clock: Callable[[], float] = self.engine_clock
        #: how much faster than real time engine time runs (timers are scaled by it)
        self.speed = speed
        #: Asterisk's timestamps dated on the engine's clock, after a sanity check
        self.pbx_time = PbxTime(self.engine_clock, on_skew=self._pbx_skew)
        #: disagreements between the clocks, each counted once: ``asterisk`` (Asterisk's
        #: timestamps against the router's clock), ``router`` (the host's wall clock
        #: stepped): acd_clock_skew_events_total{kind}
        self.clock_skews: dict[str, int] = dict.fromkeys(CLOCK_KINDS, 0)
        #: kind → (monotonic time of its last clock_skew line, episodes since)
        self._skew_logged: dict[str, tuple[float, int]] = {}
        self.ami: AmiConnection | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_deadline: float | None = None
        self._fact_listeners: list[FactListener] = []
        self._audit_listeners: list[AuditListener] = []
        #: extra parts of /healthz (``"store"`` → the durable state's health)
        self.health_sources: dict[str, HealthSource] = {}
        #: given each input's decision time in seconds (acd_routing_decision_seconds)
        self.decision_observer: Callable[[float], None] | None = None
        names = config.dialplan
        #: channel variables read back from Asterisk at resync
        self.resync_variables = (names.number_var, names.arrived_var, names.priority_var)
        self.started_at = time.time()
        #: set while the AMI session is up and resynchronised (readiness)
        self.link_ready = asyncio.Event()
        #: told ``(True, detail)`` when the link is up and resynchronised, ``(False,
        #: reason)`` when it drops (systemd status, :func:`acd.service.main.serve`)
        self._link_listeners: list[Callable[[bool, str], None]] = []
        #: the leader election of an active/standby pair; None: alone, always deciding
        self.election: Election | None = None
        #: actions dropped because this router is not (or no longer) the leader
        self.actions_fenced = 0
        #: monotonic time of the last election won, until the resync that follows
        self._elected_at: float | None = None
        #: more metric families for /metrics (the HTTP server's connection guard)
        self.metric_sources: list[MetricSource] = []
        #: whether every background task runs (a heartbeat down: degraded, 503)
        self.tasks_ok: Callable[[], bool] = lambda: True
        #: inputs (events, ticks, intents, actions, fact listeners) whose handling
        #: raised, by kind: acd_input_errors_total{kind}
        self.input_errors: dict[str, int] = {}
        _warm_calendar(config)

    # -------------------------------------------------------------- leadership

    def may_act(self) -> bool:
        """Whether this router may send AMI actions now: alone, or the leader whose
        lease has not run out (checked on the monotonic clock at every action)."""
        return self.election is None or self.election.check()

    @property
    def role(self) -> str:
        if self.election is None:
            return "alone"
        return "leader" if self.election.leading else "standby"

    def fence_token(self) -> int | None:
        """The fencing token for writes (None: do not write); 0 when alone."""
        if self.election is None:
            return 0
        return self.election.lock.fence_token()

    def standby(self) -> None:
        """Follow Asterisk's events without deciding (the start of a pair member)."""
        self.engine.decide = False

    def become_leader(self, token: int) -> None:
        """Won the lock: decide again, after a fresh view of Asterisk's channels."""
        self._elected_at = time.monotonic()
        self.engine.decide = True
        self.engine.link_up = False  # no offer before the resync below has landed
        log.warning("router_leading", token=token)
        if self.ami is not None and self.ami.connected:
            self.ami.resync("elected")

    def become_standby(self, reason: str) -> None:
        """Lost the lock (or stopping): stop deciding at once; keep following."""
        self.engine.decide = False
        self._elected_at = None
        log.warning("router_standby", reason=reason)

    def send_heartbeat(self) -> None:
        """Refresh the dialplan's fail-open heartbeat (:mod:`acd.service.heartbeat`);
        notice a step of the host's clock (every heartbeat: once a second)."""
        step = self.engine_clock.host_step()
        if step is not None:
            self._clock_skew("router", step)
        send_heartbeat(self)

    def _pbx_skew(self, step: float) -> None:
        self._clock_skew("asterisk", step)

    def _clock_skew(self, kind: str, step: float) -> None:
        """Count every episode; log the first, then at most one line a minute per
        clock with the episodes since (a drifting clock would otherwise write one line
        each time its offset is measured again)."""
        self.clock_skews[kind] += 1
        now = time.monotonic()
        last, since = self._skew_logged.get(kind, (-math.inf, 0))
        if now - last < CLOCK_SKEW_LOG_S:
            self._skew_logged[kind] = (last, since + 1)
            return
        self._skew_logged[kind] = (now, 0)
        log.warning("clock_skew", clock=kind, step_s=round(step, 3),
                    detail="not followed: no timer, wait or record moves",
                    **({"episodes_not_logged": since} if since else {}))

    # -------------------------------------------------------------- inputs

    def submit(self, item: object, *, at: float | None = None) -> Output:
        """Apply one input now (or at engine time ``at``: when an event happened); send
        its actions; publish its facts."""
        now = self.clock() if at is None else at
        started = time.perf_counter()
        try:
            out = self.engine.handle(item, now)
        except Exception as exc:  # one input must not stop routing for everybody
            self.input_failed(_kind_of(item), exc, type(item).__name__)
            out = Output([], [])
        if self.decision_observer is not None:
            self.decision_observer(time.perf_counter() - started)
        for command in out.commands:
            try:
                self._send(command)
            except Exception as exc:  # the other actions are still sent
                self.input_failed("action", exc, command.name)
        for fact in out.facts:
            self._publish(fact)
        self._schedule_tick()
        return out

    def input_failed(self, kind: str, exc: BaseException | None = None,
                     name: str = "") -> None:
        """Count one input that failed (``kind``: one of INPUT_KINDS) and log it, with
        its type and where it raised, no value (a caller's number could be in it)."""
        self.input_errors[kind] = self.input_errors.get(kind, 0) + 1
        if exc is not None:
            log.error("input_failed", kind=kind, input=name or kind,
                      error=type(exc).__name__, where=where(exc))

    def on_event(self, event: AmiEvent) -> None:
        at = None if event.timestamp is None else self.pbx_time.date(event.timestamp)
        if isinstance(event, Reload):
            # a reload may have set the heartbeat global back (a site's [globals] that
            # still lists it, or clearglobalvars = yes): refresh it now, not in a second
            self.send_heartbeat()
        self.submit(event, at=at)

    def on_link_up(self, channels: list[StatusEntry], taken_at: float) -> None:
        """``taken_at`` is Asterisk's time when the list was asked for."""
        self.submit(self._listed(i.ChannelsSnapshot, channels, taken_at))
        self.send_heartbeat()  # at once: callers in [holding] check it
        self.link_ready.set()
        if self._elected_at is not None and self.engine.decide:
            log.warning("takeover_done", channels=len(channels),
                        after_s=round(time.monotonic() - self._elected_at, 3))
            self._elected_at = None
        for listener in self._link_listeners:
            listener(True, f"{len(channels)} channels resynchronised")

    def on_channels(self, channels: list[StatusEntry], taken_at: float) -> None:
        """The periodic reconciler's list (:mod:`acd.service.reconciler`), asked for at
        Asterisk's time ``taken_at``."""
        self.submit(self._listed(i.Reconcile, channels, taken_at))

    def _listed(self, kind: type[_Listed], channels: list[StatusEntry],
                taken_at: float) -> _Listed:
        """A ``Status`` list on the engine's clock: when it was asked for, and the
        arrival times the dialplan wrote on the callers (``ACD_ARRIVED``)."""
        at = self.pbx_time.date(taken_at)
        arrived_var = self.config.dialplan.arrived_var
        return kind([self.pbx_time.arrival(entry, arrived_var, at) for entry in channels],
                    taken_at=at)

    def on_link_down(self, reason: str) -> None:
        self.link_ready.clear()
        self.submit(i.LinkDown(reason))
        for listener in self._link_listeners:
            listener(False, reason)

    def add_link_listener(self, listener: Callable[[bool, str], None]) -> None:
        self._link_listeners.append(listener)

    def add_fact_listener(self, listener: FactListener) -> None:
        self._fact_listeners.append(listener)

    def add_audit_listener(self, listener: AuditListener) -> None:
        """``listener`` gets each audited API write (the durable audit in Redis)."""
        self._audit_listeners.append(listener)

    def publish_audit(self, entry: dict[str, Any]) -> None:
        for listener in self._audit_listeners:
            listener(entry)

    # -------------------------------------------------------------- outputs

    def _send(self, command: Any) -> None:
        if self.ami is None:
            return
        if not self.may_act():
            self.actions_fenced += 1
            log.warning("action_fenced", action=command.name, role=self.role)
            return
        future = self.ami.send(command)
        future.add_done_callback(functools.partial(self._action_done, command))

    def _action_done(self, command: Any, future: asyncio.Future[Any]) -> None:
        from acd.ami.replies import check_response
        from acd.errors import AmiError

        try:
            check_response(command, future.result())
            return
        except AmiError as exc:
            message = str(exc)
        except asyncio.CancelledError:
            message = "cancelled"
        log.warning("ami_action_failed", action=command.name, error=message)
        self.submit(i.ActionFailed(command.ref, command.name, message))

    def _publish(self, fact: f.Fact) -> None:
        for listener in self._fact_listeners:
            try:
                listener(fact)
            except Exception as exc:  # the other listeners still hear of it
                self.input_failed("fact_listener", exc, type(fact).__name__)
        log_fact(fact)

    def _schedule_tick(self) -> None:
        """Keep one timer armed for the engine's next deadline (re-armed only when the
        deadline changes, which most inputs do not do)."""
        deadline = self.engine.next_deadline()
        if deadline == self._timer_deadline and (deadline is None or self._timer is not None):
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_deadline = deadline
        if deadline is None:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, deadline - self.clock()) / self.speed
        self._timer = loop.call_later(delay, self._tick)

    def cancel_timer(self) -> None:
        """Disarm the engine's timer (a router dropped without its event loop ending)."""
        if self._timer is not None:
            self._timer.cancel()

    def _tick(self) -> None:
        self._timer = None
        self._timer_deadline = None
        self.submit(i.Tick())

    def health(self) -> dict[str, Any]:
        """What ``/healthz`` answers (:mod:`acd.service.health`)."""
        return health_of(self)


_Listed = TypeVar("_Listed", i.ChannelsSnapshot, i.Reconcile)


def _engine_clock(clock: EngineClock | Callable[[], float] | None,
                  speed: float) -> EngineClock:
    """The router's own clock; against a simulator (a ``speed`` other than 1), the
    simulator's time from its first timestamp on; a clock given: the simulator's (or a
    test's), read as is."""
    if isinstance(clock, (OwnClock, SimulatorClock)):
        return clock
    if clock is not None:
        return SimulatorClock(speed, read=clock)
    return OwnClock() if speed == 1.0 else SimulatorClock(speed)


def _kind_of(item: object) -> str:
    """The ``kind`` label of an input (see :data:`acd.core.ports.INPUT_KINDS`)."""
    if isinstance(item, AmiEvent):
        return "ami_event"
    if isinstance(item, i.Tick):
        return "tick"
    if isinstance(item, (i.ChannelsSnapshot, i.Reconcile, i.LinkDown)):
        return "resync"
    if isinstance(item, i.ActionFailed):
        return "action"
    return "intent"


def _warm_calendar(config: Config) -> None:
    """Load the holiday calendar now (this year and the next): the library imports its
    country data on first use, about 0.1 s that would otherwise stall the first call."""
    from datetime import date

    from acd.core.hours import public_holiday

    today = date.today()
    for year in (today.year, today.year + 1):
        public_holiday(config.site.departement, today.replace(year=year, day=1))
