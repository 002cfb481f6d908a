"""The router driver: every input reaches :meth:`Router.submit`; the engine's actions go
to the outbox (:mod:`acd.service.outbox`, which sends them only while this router may
act), its facts are fanned out to the listeners and logged (:mod:`acd.service.factlog`);
one timer is kept armed for the engine's next deadline.

One event loop, one writer. AMI events, timer ticks, action failures, changes of leader
and HTTP intents all reach :meth:`Router.submit`, which runs ``engine.handle``
synchronously (it never awaits), so inputs are applied one at a time in arrival order,
exactly as through a queue, without a queue's latency. Outputs are applied at once:
actions are written to the AMI socket, facts are logged and counted (:mod:`acd.metrics`)
and, later, journaled.

No single input stops routing: an exception while applying one input (an event, a
tick, an intent), sending one of its actions or publishing one of its facts is logged
once (``input_failed``, with the input's kind and where it was raised, no value),
counted (``acd_input_errors_total{kind}``), and the router goes on with the next; a
resync's other actions are all sent.

The router is given what it drives (the engine, the outbox, the clocks); the whole
service is composed once, by :func:`acd.service.build.build`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from time import perf_counter
from typing import TypeVar

from acd.ami.client import AmiConnection
from acd.ami.events import AmiEvent, Reload, StatusEntry
from acd.config import DialplanNames
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.engine import Engine, Output
from acd.core.ports import FactListener
from acd.logs import get_logger, where
from acd.service.clock import EngineClock, PbxTime
from acd.service.factlog import log_fact
from acd.service.kinds import kind_of
from acd.service.link import LinkChange, LinkListener
from acd.service.outbox import Outbox

log = get_logger("acd.router")


class Router:
    """Drives ``engine`` with every input, in arrival order (see the module docstring).
    ``clock`` gives engine time (epoch seconds), ``pbx_time`` dates Asterisk's
    timestamps on it (:mod:`acd.service.clock`)."""

    def __init__(self, engine: Engine, outbox: Outbox, *, clock: EngineClock,
                 pbx_time: PbxTime, dialplan: DialplanNames) -> None:
        self.engine = engine
        self.outbox = outbox
        self.clock: Callable[[], float] = clock
        #: how much faster than real time engine time runs (timers are scaled by it)
        self.speed = clock.speed
        #: Asterisk's timestamps dated on the engine's clock, after a sanity check
        self.pbx_time = pbx_time
        self._arrived_var = dialplan.arrived_var
        #: channel variables read back from Asterisk at resync
        self.resync_variables = (dialplan.number_var, dialplan.arrived_var,
                                 dialplan.priority_var)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_deadline: float | None = None
        self._fact_listeners: list[FactListener] = []
        self._link_listeners: list[LinkListener] = []
        self._reload_listeners: list[Callable[[], None]] = []
        #: given each input's decision time in seconds (acd_routing_decision_seconds)
        self._decision_observer: Callable[[float], None] | None = None
        #: set while the AMI session is up and resynchronised (readiness)
        self.link_ready = asyncio.Event()
        #: inputs (events, ticks, intents, actions, fact listeners) whose handling
        #: raised, by kind: acd_input_errors_total{kind}
        self.input_errors: dict[str, int] = {}

    @property
    def ami(self) -> AmiConnection | None:
        """The AMI connection its actions go to (None: a router fed by hand)."""
        return self.outbox.link

    # -------------------------------------------------------------- listeners

    def add_fact_listener(self, listener: FactListener) -> None:
        self._fact_listeners.append(listener)

    def add_link_listener(self, listener: LinkListener) -> None:
        """``listener`` is told when the link is up and resynchronised, and when it
        drops (in the order the listeners were added)."""
        self._link_listeners.append(listener)

    def add_reload_listener(self, listener: Callable[[], None]) -> None:
        """``listener`` is told of an Asterisk reload, before the engine is."""
        self._reload_listeners.append(listener)

    def observe_decisions(self, observer: Callable[[float], None]) -> None:
        """``observer`` gets each input's decision time in seconds (after any other)."""
        earlier = self._decision_observer
        if earlier is None:
            self._decision_observer = observer
            return

        def both(seconds: float) -> None:
            earlier(seconds)
            observer(seconds)

        self._decision_observer = both

    # -------------------------------------------------------------- inputs

    def submit(self, item: object, *, at: float | None = None) -> Output:
        """Apply one input now (or at engine time ``at``: when an event happened); send
        its actions; publish its facts."""
        now = self.clock() if at is None else at
        started = perf_counter()
        try:
            out = self.engine.handle(item, now)
        except Exception as exc:  # one input must not stop routing for everybody
            self.input_failed(kind_of(item), exc, type(item).__name__)
            out = Output([], [])
        if self._decision_observer is not None:
            self._decision_observer(perf_counter() - started)
        for command in out.commands:
            try:
                self.outbox.send(command, self.submit)
            except Exception as exc:  # the other actions are still sent
                self.input_failed("action", exc, command.name)
        for fact in out.facts:
            self._publish(fact)
        self._schedule_tick()
        return out

    def input_failed(self, kind: str, exc: BaseException | None = None,
                     name: str = "") -> None:
        """Count one input that failed (``kind``: one of
        :data:`~acd.service.kinds.INPUT_KINDS`) and log it, with its type and where it
        raised, no value (a caller's number could be in it)."""
        self.input_errors[kind] = self.input_errors.get(kind, 0) + 1
        if exc is not None:
            log.error("input_failed", kind=kind, input=name or kind,
                      error=type(exc).__name__, where=where(exc))

    def on_event(self, event: AmiEvent) -> None:
        at = None if event.timestamp is None else self.pbx_time.date(event.timestamp)
        if isinstance(event, Reload):
            # a reload may have set the heartbeat global back (a site's [globals] that
            # still lists it, or clearglobalvars = yes): refresh it now, not in a second
            for listener in self._reload_listeners:
                listener()
        self.submit(event, at=at)

    def on_link_up(self, channels: list[StatusEntry], taken_at: float) -> None:
        """``taken_at`` is Asterisk's time when the list was asked for."""
        self.submit(self._listed(i.ChannelsSnapshot, channels, taken_at))
        self.link_ready.set()
        self._tell(LinkChange(True, f"{len(channels)} channels resynchronised",
                              len(channels)))

    def on_channels(self, channels: list[StatusEntry], taken_at: float) -> None:
        """The periodic reconciler's list (:mod:`acd.service.reconciler`), asked for at
        Asterisk's time ``taken_at``."""
        self.submit(self._listed(i.Reconcile, channels, taken_at))

    def on_link_down(self, reason: str) -> None:
        self.link_ready.clear()
        self.submit(i.LinkDown(reason))
        self._tell(LinkChange(False, reason))

    def _listed(self, kind: type[_Listed], channels: list[StatusEntry],
                taken_at: float) -> _Listed:
        """A ``Status`` list on the engine's clock: when it was asked for, and the
        arrival times the dialplan wrote on the callers (``ACD_ARRIVED``)."""
        at = self.pbx_time.date(taken_at)
        return kind([self.pbx_time.arrival(entry, self._arrived_var, at)
                     for entry in channels], taken_at=at)

    def _tell(self, change: LinkChange) -> None:
        for listener in self._link_listeners:
            listener(change)

    # -------------------------------------------------------------- outputs

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


_Listed = TypeVar("_Listed", i.ChannelsSnapshot, i.Reconcile)
