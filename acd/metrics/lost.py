"""``acd_calls_lost_total``: the calls Asterisk itself cut (:mod:`acd.core.pbxloss`).

A counter beside ``acd_calls_abandoned_total``, with its labels (the call's first
queue, the number dialled, the period it arrived in) and ``reason``: ``pbx-restart``
(Asterisk stopped or restarted and hung the caller up) or ``pbx-crash`` (Asterisk died
and came back without the call). Such a call is never counted abandoned: the caller
did not give up. One picked up before the cut was counted answered at its pick-up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter

from acd.core import facts as f
from acd.core.indicators import is_lost
from acd.core.pbxloss import PBX_CRASH, PBX_RESTART
from acd.metrics.children import LabelChildren

#: every lost_reason the router writes, shown at 0 from the start
REASONS = (PBX_RESTART, PBX_CRASH)


class LostCalls:
    """Counts the ``CallEnded`` facts whose outcome is ``lost`` (a fact listener)."""

    def __init__(self, registry: CollectorRegistry, number_label: Callable[[str], str],
                 series: Iterable[tuple[str, str, str]] = ()) -> None:
        """``number_label`` keeps caller numbers out of the labels; ``series``: the
        (queue, number, period) shown at 0 before any loss."""
        self._number_label = number_label
        self._counter = Counter(
            "acd_calls_lost", "Calls Asterisk itself cut (a restart or a crash), by first "
            "queue, number dialled, period and reason (pbx-restart, pbx-crash); never "
            "counted abandoned.", ["queue", "number", "period", "reason"],
            registry=registry)
        self._child = LabelChildren(self._counter)
        for queue, number, period in series:
            for reason in REASONS:
                self._child(queue, self._number_label(number), period, reason)

    def on_fact(self, fact: f.Fact) -> None:
        if not isinstance(fact, f.CallEnded) or not is_lost(fact.outcome):
            return
        record = fact.record
        queue = record.queues[0] if record.queues else fact.queue
        self._child(queue, self._number_label(record.number), record.period,
                    record.lost_reason or "unknown").inc()
