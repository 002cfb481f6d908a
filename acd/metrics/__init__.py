"""Prometheus metrics of a router (:mod:`acd.metrics.collectors`), typed against
:class:`acd.core.ports.MetricsHost`."""

from acd.metrics.collectors import RouterMetrics, watch_loop_lag

__all__ = ["RouterMetrics", "watch_loop_lag"]
