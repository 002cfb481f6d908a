"""The running service as its adapters see it: one object composed by
:func:`acd.service.build.build`, holding its parts by name, and the host the HTTP
server, the metrics and the durable store are given (the ports of
:mod:`acd.core.ports`: :class:`~acd.core.ports.ApiHost`,
:class:`~acd.core.ports.MetricsHost`, :class:`~acd.core.ports.StoreHost`). Each member
answers from the part that knows: the router for inputs and facts, the leadership for
the role, the outbox for fenced actions, the clock skews, the supervisor, the health.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from acd.config import Config
from acd.core.engine import Engine, Output
from acd.core.ports import AuditListener, FactListener, HealthSource, MetricSource
from acd.service.health import Health
from acd.service.kinds import INPUT_KINDS, SUPERVISED_TASKS
from acd.service.leadership import Leadership
from acd.service.router import Router
from acd.service.skews import ClockSkews
from acd.service.supervise import Supervisor

if TYPE_CHECKING:
    from acd.ami.client import AmiConnection
    from acd.http import HttpServer
    from acd.http.tokens import TokenSet
    from acd.metrics import RouterMetrics
    from acd.service.failopen_members import FailopenMembers
    from acd.service.heartbeat import Heartbeat
    from acd.service.reconciler import Reconciler
    from acd.service.recordfile import RecordsFile
    from acd.store import Store


@dataclass
class Parts:
    """The parts of a service besides its router (what :func:`~acd.service.build.build`
    made of the options it was given; None: left out)."""

    leadership: Leadership
    skews: ClockSkews
    supervisor: Supervisor
    health: Health
    heartbeat: Heartbeat
    reconciler: Reconciler | None = None
    failopen: FailopenMembers | None = None
    records_file: RecordsFile | None = None


class Service:
    """The router and its parts (see the module docstring). ``metrics``: the factory
    of its Prometheus metrics, attached at once (None: no metrics)."""

    def __init__(self, config: Config, router: Router, parts: Parts, *,
                 metrics: Callable[[Service], RouterMetrics] | None = None) -> None:
        self.config = config
        self.router = router
        self.parts = parts
        #: the router's engine and speed, both fixed when the router was built
        self.engine: Engine = router.engine
        self.speed = router.speed
        #: more metric families for /metrics (the records file's, the HTTP server's
        #: connection guard)
        self.metric_sources: list[MetricSource] = []
        if parts.records_file is not None:
            self.metric_sources.append(parts.records_file.metrics)
        self._audit_listeners: list[AuditListener] = []
        #: the durable store, once :meth:`open_store` has opened it
        self.store: Store | None = None
        self.metrics: RouterMetrics | None = None
        if metrics is not None:
            self.metrics = metrics(self)
            self.metrics.attach()

    @property
    def ami(self) -> AmiConnection | None:
        """The AMI session the router's actions go to now; None: a router fed by hand
        (tests, benchmarks)."""
        return self.router.ami

    # -------------------------------------------------------------- inputs and facts

    def clock(self) -> float:
        return self.router.clock()

    def submit(self, item: object) -> Output:
        return self.router.submit(item)

    def add_fact_listener(self, listener: FactListener) -> None:
        self.router.add_fact_listener(listener)

    def observe_decisions(self, observer: Callable[[float], None]) -> None:
        self.router.observe_decisions(observer)

    def add_audit_listener(self, listener: AuditListener) -> None:
        """``listener`` gets each audited API write (the durable audit in Redis)."""
        self._audit_listeners.append(listener)

    def publish_audit(self, entry: dict[str, Any]) -> None:
        for listener in self._audit_listeners:
            listener(entry)

    # -------------------------------------------------------------- what is shown

    @property
    def role(self) -> str:
        return self.parts.leadership.role

    def health(self) -> dict[str, Any]:
        """What ``/healthz`` answers (:mod:`acd.service.health`)."""
        return self.parts.health.report()

    @property
    def health_sources(self) -> dict[str, HealthSource]:
        """The named parts of ``/healthz`` besides the router's own."""
        return self.parts.health.sources

    @property
    def actions_fenced(self) -> int:
        return self.router.outbox.fenced

    @property
    def input_errors(self) -> Mapping[str, int]:
        return self.router.input_errors

    @property
    def input_kinds(self) -> Sequence[str]:
        return INPUT_KINDS

    @property
    def clock_skews(self) -> Mapping[str, int]:
        return self.parts.skews.counts

    @property
    def task_restarts(self) -> Mapping[str, int]:
        states = self.parts.supervisor.states
        return {name: states[name].restarts if name in states else 0
                for name in SUPERVISED_TASKS}

    # -------------------------------------------------------------- adapters

    async def open_store(self, *, restore: bool = True) -> Store:
        """The durable store of ``[redis]``: the saved state taken back (unless
        ``restore`` is False), journaling from now on; it leads when this router is
        elected. Before the AMI session starts: its resync then reconciles the state
        with Asterisk."""
        from acd.store import open_store

        leadership = self.parts.leadership
        store = self.store = await open_store(
            self.config, self, registry=None if self.metrics is None else self.metrics.registry,
            fence_token=leadership.fence_token if leadership.pair else None, restore=restore)
        leadership.add_listener(elected=lambda _token: store.lead())
        return store

    async def open_http(self, tokens: TokenSet | None = None) -> HttpServer:
        """The HTTP server of ``[http]``: ``/healthz``, ``/metrics``, the API and the
        console."""
        from acd.http import start_http

        config = self.config
        return await start_http(self, config.http.bind, config.http.port,
                                metrics=self.metrics, tokens=tokens,
                                api_config=config.api, limits=config.http)
