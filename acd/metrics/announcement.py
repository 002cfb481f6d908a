"""``acd_calls_abandoned_in_announcement_total``: callers who hung up during the
announcement (:mod:`acd.core.arrivals`).

A counter beside ``acd_calls_abandoned_total``, with its labels (the queue the
caller's number led to, the number dialled, the period it arrived in). Such a caller
is counted by the other counters as any call the router first sees ending: offered,
abandoned, and short abandoned when its arrival → end (from the dialplan's arrival
event) is under ``routing.short_abandon_s``; this one tells them apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter

from acd.core import facts as f
from acd.core.indicators import is_abandoned
from acd.metrics.children import LabelChildren


class AnnouncementAbandons:
    """Counts the ``CallEnded`` facts of abandoned records with ``in_announcement``
    (a fact listener)."""

    def __init__(self, registry: CollectorRegistry, number_label: Callable[[str], str],
                 series: Iterable[tuple[str, str, str]] = ()) -> None:
        """``number_label`` keeps caller numbers out of the labels; ``series``: the
        (queue, number, period) shown at 0 before any."""
        self._number_label = number_label
        self._counter = Counter(
            "acd_calls_abandoned_in_announcement", "Abandoned calls whose caller hung up "
            "during the announcement, before joining a queue (also in acd_calls_abandoned"
            "_total, and in acd_calls_short_abandoned_total when shorter than routing."
            "short_abandon_s), by the queue their number led to.",
            ["queue", "number", "period"], registry=registry)
        self._child = LabelChildren(self._counter)
        for queue, number, period in series:
            self._child(queue, self._number_label(number), period)

    def on_fact(self, fact: f.Fact) -> None:
        if not isinstance(fact, f.CallEnded) or not fact.record.in_announcement \
                or not is_abandoned(fact.outcome):
            return
        record = fact.record
        queue = record.queues[0] if record.queues else fact.queue
        self._child(queue, self._number_label(record.number), record.period).inc()
