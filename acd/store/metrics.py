"""Metrics of the durable state (registered next to the router's, see :mod:`acd.metrics`).

* ``acd_redis_up`` — 1 while the last write (or read) reached Redis, 0 after a failure;
* ``acd_journal_buffer_entries`` — entries waiting to be written;
* ``acd_journal_dropped_total{kind}`` — entries dropped from a full buffer (kind:
  journal, record, audit; see :mod:`acd.store.buffer`);
* ``acd_journal_lag_seconds`` — real time from a fact to Redis acknowledging its write;
* ``acd_journal_writes_total`` — entries written (journal, records, audit).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

from acd.store.buffer import KINDS, Kind

LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
               10.0, 30.0, 60.0, 300.0)
#: lags kept for benchmarks and tests (the last ones, in order)
RECENT_LAGS = 100_000


class StoreMetrics:
    def __init__(self, registry: CollectorRegistry, buffered: Callable[[], int]) -> None:
        self.redis_up = Gauge("acd_redis_up", "1 while Redis answers the journal writer, "
                              "0 while it is down or refusing (routing goes on).",
                              registry=registry)
        self.buffer = Gauge("acd_journal_buffer_entries", "Journal entries, call records "
                            "and audit entries waiting in memory to be written to Redis.",
                            registry=registry)
        self.buffer.set_function(lambda: float(buffered()))
        self._dropped = Counter("acd_journal_dropped", "Entries dropped from the full "
                                "journal buffer, by kind (journal, record, audit).",
                                ["kind"], registry=registry)
        self._dropped_children = {kind: self._dropped.labels(kind) for kind in KINDS}
        self._lag = LagHistogram()
        registry.register(self._lag)
        self._writes = Counter("acd_journal_writes", "Entries written to Redis (journal, "
                               "call records, audit).", registry=registry)
        self.recent_lags: deque[float] = deque(maxlen=RECENT_LAGS)

    def dropped(self, kind: Kind) -> None:
        self._dropped_children[kind].inc()

    def written(self, lags: list[float]) -> None:
        self._lag.observe_many(lags)
        self.recent_lags.extend(lags)
        self._writes.inc(len(lags))


class LagHistogram(Collector):
    """``acd_journal_lag_seconds``, observed a batch at a time.

    prometheus-client's Histogram takes a lock and does its own bookkeeping per
    observation, about 2 µs: with one observation per journal entry that was 4 % of the
    router's ingest rate under a burst. The writer observes whole batches on the event
    loop (one thread), so plain bucket counts do; the exposition is the same."""

    def __init__(self) -> None:
        #: non-cumulative counts per bucket of LAG_BUCKETS, then +Inf
        self._counts = [0] * (len(LAG_BUCKETS) + 1)
        self._sum = 0.0

    def observe_many(self, lags: list[float]) -> None:
        counts = self._counts
        for lag in lags:
            counts[bisect_left(LAG_BUCKETS, lag)] += 1
        self._sum += sum(lags)

    def collect(self) -> Iterator[HistogramMetricFamily]:
        cumulative, buckets = 0, []
        for bound, count in zip((*LAG_BUCKETS, float("inf")), self._counts, strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        yield HistogramMetricFamily("acd_journal_lag_seconds", "Time from a fact to Redis "
                                    "acknowledging its write.", buckets=buckets,
                                    sum_value=self._sum)
