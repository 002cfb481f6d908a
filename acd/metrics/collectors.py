"""Prometheus metrics of a router: counters fed by engine facts, gauges read at scrape.

Theory of operation
-------------------
Two sources, one per-router :class:`~prometheus_client.CollectorRegistry` (never the
global one, so a process or a test may run several routers):

* **Facts → counters and histograms.** :meth:`RouterMetrics.on_fact` is a fact
  listener of the router (:class:`~acd.core.ports.MetricsHost`). It runs on the hot
  path, so every label child it touches is resolved once (``.labels()`` costs about
  1 µs) and kept by its label values (:class:`~acd.metrics.children.LabelChildren`: a
  cached child costs about 0.3 µs).
* **Engine state → gauges, at scrape time.** :class:`~acd.metrics.gauges.EngineCollector` reads the
  engine's queues and agents when ``/metrics`` is asked for: no polling loop, and a
  scrape costs O(queues + agents).

Definitions (the same as the call records and the report; see ``deploy/README.md``):

* *offered*: a new call (``CallQueued.new``), counted in the queue it entered first.
  A call the router first sees answered or ended (a native-queue call while the
  router was away) is counted offered then, so offered ≥ answered + abandoned.
* *answered*: the call's **first** pick-up by a person (``CallAnswered.first``),
  labelled by the call's first queue; later pick-ups (transfers) are not counted.
  The wait runs from the call's arrival in its first queue to that pick-up, rounded to
  the millisecond like ``wait_s`` of the call record. *Within 30 s* means a wait
  strictly under 30 s ("answered in less than 30 s"), as in :mod:`acd.tools.summary`.
* QS 30 s = ``acd_calls_answered_within_30s_total / acd_calls_answered_total``
  (abandoned calls are not in the denominator); QS 60 s likewise.
* *abandoned*: a call whose caller hung up before any pick-up (outcome ``abandoned``;
  a call overflowed to a partner is not one); *short abandoned*: an
  abandoned call whose arrival → end (``CallEnded.duration_s``) is under
  ``routing.short_abandon_s``.
  Answer rate = answered / (offered − short abandoned).
* *lost*: a call Asterisk itself cut (outcome ``lost``): ``acd_calls_lost_total``
  (:mod:`acd.metrics.lost`), never an abandon.
* *busy offers* (``acd_offers_busy_total``): offers whose phone answered busy
  (``OfferBusy``: ``DialEnd BUSY``, or a warm transfer target's ``OriginateResponse
  Reason: 5``). They are not missed offers: no agent is paused for them.

No label ever carries a caller's number: ``number`` is the **dialled** number, and
only a number of the site's number plan; anything else is reported as ``other``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.registry import Collector

from acd.config import BACK_OFFICE, FRONT_OFFICE, Config
from acd.core import facts as f
from acd.core.indicators import (
    QS30_S,
    QS60_S,
    answer_wait,
    answered_within,
    is_short_abandon,
)
from acd.core.observed import REFUSED_INPUT
from acd.core.tally import Tally
from acd.metrics.announcement import AnnouncementAbandons
from acd.metrics.children import LabelChildren
from acd.metrics.gauges import EngineCollector
from acd.metrics.lost import LostCalls

if TYPE_CHECKING:
    from acd.core.ports import MetricsHost

#: bounds (seconds) of the answer-delay histogram: the QS 30 s / QS 60 s marks and more
ANSWER_DELAY_BUCKETS = (5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0,
                        600.0)
#: bounds (seconds) of the routing-decision histogram (one ``engine.handle`` call)
DECISION_BUCKETS = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2,
                    2.5e-2, 0.1)
#: the dialled number of a call whose number is not in the site's number plan
OTHER_NUMBER = "other"
#: the periods a call can arrive in
PERIODS = ("sas", "pdsa")
#: skills that run around the clock whatever the calendar (15 and the AMU filière)
ALWAYS_OPEN = (FRONT_OFFICE, BACK_OFFICE)
#: the event-loop lag probe sleeps this long and measures how late it wakes up ...
LOOP_LAG_INTERVAL_S = 0.5
#: ... and the gauge reports the worst of its last this-many measurements (5 s)
LOOP_LAG_WINDOW = 10


_FLOW_LABELS = ("queue", "number", "period")
#: the call-flow counters (name, help), by first queue, number dialled and period
_FLOW_COUNTERS: tuple[tuple[str, str], ...] = (
    ("acd_calls_offered", "New calls, by the queue they entered first, the number "
     "dialled and the period (sas|pdsa) they arrived in."),
    ("acd_calls_answered", "Calls picked up by a person for the first time, by first "
     "queue (transfers are not counted again)."),
    ("acd_calls_answered_within_30s", "First pick-ups less than 30 s after arrival "
     "in the first queue (QS 30 s numerator)."),
    ("acd_calls_answered_within_60s", "First pick-ups less than 60 s after arrival "
     "in the first queue (QS 60 s numerator)."),
    ("acd_calls_abandoned", "Calls whose caller hung up before any pick-up, by first "
     "queue."),
    ("acd_calls_short_abandoned", "Abandoned calls shorter than routing."
     "short_abandon_s (left out of offered in the answer rate)."),
)
#: the counters of transfers, overflows, busy offers, repairs and ignored inputs
#: (name, help, labels)
_EVENT_COUNTERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("acd_transfers", "Transfers between filières (queues) and how they went.",
     ("from_queue", "to_queue", "result")),
    ("acd_overflow", "Calls tried at a partner SAS and how it went.",
     ("queue", "partner", "result")),
    ("acd_offers_busy", "Offers whose phone answered busy (DialEnd BUSY, or a warm "
     "transfer target's OriginateResponse Reason 5), by queue and kind (offer, "
     "warm): not missed offers, no agent is paused for them.", ("queue", "kind")),
    ("acd_state_repairs", "Times the router's view disagreed with Asterisk and was "
     "corrected, by kind.", ("kind",)),
    ("acd_inputs_ignored", "Inputs that could not apply (unknown channel, illegal "
     "move): logged and skipped.", ()),
)


@dataclass(slots=True)
class _CallSeries:
    """The cached counter children of one (first queue, number, period)."""

    offered: Counter
    answered: Counter
    within_30s: Counter
    within_60s: Counter
    abandoned: Counter
    short_abandoned: Counter
    delay: Histogram


class RouterMetrics:
    """The metrics of one router (:class:`~acd.core.ports.MetricsHost`); :meth:`attach`
    starts counting."""

    def __init__(self, router: MetricsHost) -> None:
        self.router = router
        config: Config = router.config
        self.config = config
        self.registry = CollectorRegistry()
        self.short_abandon_s = config.routing.short_abandon_s
        self._numbers = frozenset(config.numbers)
        reg = self.registry
        (self._offered, self._answered, self._within_30s, self._within_60s,
         self._abandoned, self._short_abandoned) = (
            Counter(name, doc, _FLOW_LABELS, registry=reg) for name, doc in _FLOW_COUNTERS)
        self._delay = Histogram(
            "acd_answer_delay_seconds", "Arrival in the first queue → first pick-up by a "
            "person, by first queue.", ["queue"], buckets=ANSWER_DELAY_BUCKETS, registry=reg)
        (self._transfers, self._overflow, self._busy, self._repairs, self._ignored) = (
            Counter(name, doc, labels, registry=reg) for name, doc, labels in _EVENT_COUNTERS)
        self._decision = Histogram(
            "acd_routing_decision_seconds", "Time the engine takes to apply one input "
            "(an AMI event, a tick, an intent).", buckets=DECISION_BUCKETS, registry=reg)
        #: bound ``observe`` of the decision histogram (called per input)
        self.observe_decision: Callable[[float], None] = self._decision.observe
        self._series: dict[tuple[str, str, str], _CallSeries] = {}
        self._delay_child = LabelChildren(self._delay)
        self._transfer_child = LabelChildren(self._transfers)
        self._overflow_child = LabelChildren(self._overflow)
        self._repair_child = LabelChildren(self._repairs)
        self._busy_child = LabelChildren(self._busy)
        #: calls counted as offered and not ended yet → their series
        self._calls: dict[str, _CallSeries] = {}
        self._loop_lags: deque[float] = deque(maxlen=LOOP_LAG_WINDOW)
        #: inputs the engine refused rather than raised on, by ``acd_input_errors`` kind
        #: (``observed_agent``: a phone it will not follow, :mod:`acd.core.observed`)
        self.refused_inputs: dict[str, int] = {}
        self._open_skills = frozenset(open_skills(config))
        self._handlers: dict[type, Callable[[Any], None]] = {
            f.CallQueued: self._on_queued,
            f.CallAnswered: self._on_answered,
            f.CallEnded: self._on_ended,
            f.CallTransferred: self._on_transferred,
            f.CallOverflowed: self._on_overflowed,
            f.OfferBusy: self._on_busy,
            f.StateRepaired: self._on_repaired,
            f.InputIgnored: self._on_ignored,
        }
        self._prefill_series(config, router)
        self._collector = EngineCollector(self)
        reg.register(self._collector)
        #: acd_calls_lost_total, registered after the engine's collector (its order)
        self.lost = LostCalls(reg, self.number_label, self._series)
        self.in_announcement = AnnouncementAbandons(reg, self.number_label, self._series)
        #: every collector of the registry, in its order (for :meth:`render_async`)
        self._exposed: tuple[Collector, ...] = (
            self._offered, self._answered, self._within_30s, self._within_60s,
            self._abandoned, self._short_abandoned, self._delay, self._transfers,
            self._overflow, self._busy, self._repairs, self._ignored, self._decision,
            self._collector)

    def _prefill_series(self, config: Config, router: MetricsHost) -> None:
        """Every number's series exist from the start, at zero, in each period its
        queues take calls."""
        for number, entry in config.numbers.items():
            for period in PERIODS:
                self._series_of(entry.queue, number, period)
            if entry.pdsa is not None and entry.pdsa in router.engine.queues:
                self._series_of(entry.pdsa, number, "pdsa")

    def attach(self) -> None:
        """Count the router's facts and time its decisions from now on."""
        self.router.add_fact_listener(self.on_fact)
        self.router.add_fact_listener(self.lost.on_fact)
        self.router.add_fact_listener(self.in_announcement.on_fact)
        self.router.observe_decisions(self.observe_decision)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)

    async def render_async(self) -> bytes:
        """The same exposition, built one collector at a time with the event loop given
        back between them, so a scrape holds the loop for one collector at most (about
        0.2 ms with 500 agents) rather than for the whole text (about 1 ms). Each
        collector is consistent in itself; a counter may move between two of them, as
        it may between two scrapes."""
        parts: list[bytes] = []
        for collector in self._collectors():
            parts.append(self.render_part(collector))
            await asyncio.sleep(0)
        return b"".join(parts)

    def _collectors(self) -> tuple[Collector, ...]:
        """Ours in their order, then any registered on the registry since (the durable
        store's, the leader's). prometheus_client has no public list of a registry's
        collectors; its ``_collector_to_names`` has been the registry's own table for
        years, and a test checks that this exposition equals :meth:`render`'s."""
        registered = tuple(getattr(self.registry, "_collector_to_names", ()))
        return self._exposed + tuple(c for c in registered if c not in self._exposed)

    def render_part(self, collector: Collector) -> bytes:
        """One collector's exposition: what :meth:`render_async` does between yields."""
        return generate_latest(collector)

    # -------------------------------------------------------------- facts (hot path)

    def on_fact(self, fact: f.Fact) -> None:
        handler = self._handlers.get(type(fact))
        if handler is not None:
            handler(fact)

    def number_label(self, number: str) -> str:
        """The dialled number if the number plan has it, else ``other``: a label never
        carries a number we did not configure (a caller's number above all)."""
        return number if number in self._numbers else OTHER_NUMBER

    def _series_of(self, queue: str, number: str, period: str) -> _CallSeries:
        key = (queue, self.number_label(number), period if period in PERIODS else "other")
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _CallSeries(
                offered=self._offered.labels(*key),
                answered=self._answered.labels(*key),
                within_30s=self._within_30s.labels(*key),
                within_60s=self._within_60s.labels(*key),
                abandoned=self._abandoned.labels(*key),
                short_abandoned=self._short_abandoned.labels(*key),
                delay=self._delay_child(queue),
            )
        return series

    def _offer(self, call: str, series: _CallSeries) -> None:
        series.offered.inc()
        self._calls[call] = series

    def _on_queued(self, fact: f.CallQueued) -> None:
        if not fact.new or fact.call in self._calls:
            return
        self._offer(fact.call, self._series_of(fact.queue, fact.number, fact.period))

    def _on_answered(self, fact: f.CallAnswered) -> None:
        if not fact.first:
            return
        series = self._calls.get(fact.call)
        if series is None:  # first seen answered (a native queue's call)
            series = self._series_of(fact.first_queue or fact.queue, fact.number, fact.period)
            self._offer(fact.call, series)
        wait = answer_wait(fact.wait_s)
        series.answered.inc()
        if answered_within(wait, QS30_S):
            series.within_30s.inc()
        if answered_within(wait, QS60_S):
            series.within_60s.inc()
        series.delay.observe(wait)

    def _on_ended(self, fact: f.CallEnded) -> None:
        record = fact.record
        series = self._calls.pop(fact.call, None)
        if series is None:  # first seen ending
            first = record.queues[0] if record.queues else fact.queue
            series = self._series_of(first, record.number, record.period)
            series.offered.inc()
        # offered and answered are counted as they happen; what only the end tells
        # (abandoned, short or not) is counted from the call's record, by the tally
        ended = Tally.of(record, short=is_short_abandon(
            fact.outcome, fact.duration_s, self.short_abandon_s))
        if ended.abandoned:
            series.abandoned.inc()
            if ended.short_abandoned:
                series.short_abandoned.inc()

    def _on_transferred(self, fact: f.CallTransferred) -> None:
        self._transfer_child(fact.from_queue, fact.to_queue, fact.result).inc()

    def _on_overflowed(self, fact: f.CallOverflowed) -> None:
        self._overflow_child(fact.queue, fact.partner, fact.result).inc()

    def _on_busy(self, fact: f.OfferBusy) -> None:
        self._busy_child(fact.queue, fact.kind).inc()

    def _on_repaired(self, fact: f.StateRepaired) -> None:
        self._repair_child(fact.kind).inc()

    def _on_ignored(self, fact: f.InputIgnored) -> None:
        self._ignored.inc()
        if fact.input == REFUSED_INPUT:
            self.refused_inputs[fact.input] = self.refused_inputs.get(fact.input, 0) + 1

    # -------------------------------------------------------------- measurements

    def loop_lag(self, seconds: float) -> None:
        """One measurement of the event loop's lag (see :func:`watch_loop_lag`)."""
        self._loop_lags.append(seconds)

    @property
    def loop_lags(self) -> tuple[float, ...]:
        """The last ``LOOP_LAG_WINDOW`` lag measurements, oldest first."""
        return tuple(self._loop_lags)

    def skill_open(self, skill: str) -> bool:
        return skill in self._open_skills


def open_skills(config: Config) -> list[str]:
    """Skills expected to be staffed now: the front office and the AMU filière always
    (15 runs around the clock), and every other skill some configured agent holds."""
    held = {skill for agent in config.agents for skill in agent.skills}
    return [s for s in config.skill_names() if s in ALWAYS_OPEN or s in held]


async def watch_loop_lag(metrics: RouterMetrics,
                         interval: float = LOOP_LAG_INTERVAL_S) -> None:
    """Sleep ``interval`` again and again; report how much later than asked each wake-up
    came (the time the loop was busy with other work). Runs until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(interval)
        metrics.loop_lag(max(0.0, loop.time() - started - interval))
