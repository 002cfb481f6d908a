"""The composition of the service, written once: ``acd run`` (:mod:`acd.service.main`),
the tests and the benchmarks (:mod:`acd.testing`) and ``acd simulate`` build their
router with :func:`build`, so none of them wires a router by hand.

Nothing runs yet when :func:`build` returns: no socket is opened, no task started.
The durable store and the HTTP server are opened afterwards
(:meth:`Service.open_store <acd.service.service.Service.open_store>`,
:meth:`Service.open_http <acd.service.service.Service.open_http>`): both await
(the saved state is read back, a port is bound), and not every caller wants them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from acd.ami.client import AmiConnection
from acd.ami.userevents import UserEventDecoder
from acd.config import AmiConfig, Config
from acd.core.engine import Engine
from acd.metrics import RouterMetrics
from acd.service.clock import EngineClock, PbxTime
from acd.service.failopen_members import FailopenMembers
from acd.service.health import Health
from acd.service.heartbeat import Heartbeat, heartbeat_interval
from acd.service.leadership import Leadership, Takeover
from acd.service.outbox import Outbox
from acd.service.reconciler import Reconciler
from acd.service.recordfile import RecordsFile
from acd.service.router import Router
from acd.service.service import Parts, Service
from acd.service.skews import ClockSkews
from acd.service.supervise import Supervisor
from acd.store.leader import LeaderLock

#: builds the metrics of a service (``RouterMetrics``, or a benchmark's subclass)
MetricsFactory = Callable[[Service], RouterMetrics]


def build(config: Config, *, clock: EngineClock, ami: AmiConfig | None = None,
          secret: str = "", lock: LeaderLock | None = None, failopen: bool = True,
          metrics: MetricsFactory | None = RouterMetrics,
          records_out: str | None = None) -> Service:
    """The service for ``config``, its engine on ``clock`` (:mod:`acd.service.clock`).

    ``ami``: the AMI session to keep (with ``secret``); None: a router fed by hand.
    ``lock``: the leader lock of an active/standby pair (the router starts as a
    standby); None: alone. ``failopen``: keep the fail-open queue's members in step
    with the agents. ``metrics``: None for none. ``records_out``: append each finished
    call's record to that file (JSON lines).
    """
    _warm_calendar(config)
    skews = ClockSkews()
    pbx_time = PbxTime(clock, on_skew=skews.asterisk)
    leadership = Leadership(lock)
    engine = Engine(config)
    outbox = Outbox(leadership)
    router = Router(engine, outbox, clock=clock, pbx_time=pbx_time, dialplan=config.dialplan)
    link = None
    if ami is not None:
        link = AmiConnection(ami, secret, router, on_error=router.input_failed,
                             decoder=UserEventDecoder(config.dialplan))
        outbox.connect(link)
    supervisor = Supervisor()
    members = None
    if failopen and link is not None:
        members = FailopenMembers(config.dialplan.failopen_queue, engine, link,
                                  may_act=leadership.may_act)
    parts = Parts(
        leadership=leadership, skews=skews, supervisor=supervisor,
        health=Health(config.site.name, engine, linked=lambda: _linked(link, engine),
                      tasks_ok=supervisor.ok, role=lambda: leadership.role),
        heartbeat=Heartbeat(link, engine, may_act=leadership.may_act, pbx_time=pbx_time,
                            variable=config.dialplan.heartbeat_var,
                            interval_s=heartbeat_interval(config.routing.heartbeat_s,
                                                          clock.speed),
                            on_beat=functools.partial(skews.check_host, clock)),
        failopen=members,
        reconciler=None if link is None else Reconciler(
            link, linked=lambda: _linked(link, engine), on_channels=router.on_channels,
            failopen=members),
        records_file=RecordsFile(records_out) if records_out else None)
    _listen(router, parts, link, lock)
    return Service(config, router, parts, metrics=metrics)


def _listen(router: Router, parts: Parts, link: AmiConnection | None,
            lock: LeaderLock | None) -> None:
    """Who hears what, in this order: the link's changes (the heartbeat refreshed at
    once, the takeover's end, the fail-open queue's members), a reload (the heartbeat
    again), the facts (the fail-open queue's members, the records file); a pair member
    starts as a standby, each change of leader reaching the engine as an input."""
    heartbeat, members, records = parts.heartbeat, parts.failopen, parts.records_file
    takeover = Takeover(router.submit, router.engine, link)
    router.add_link_listener(heartbeat.on_link)
    router.add_link_listener(takeover.on_link)
    router.add_reload_listener(heartbeat.beat)
    if members is not None:
        router.add_link_listener(members.on_link)
        router.add_fact_listener(members.on_fact)
    if records is not None:
        router.add_fact_listener(records.on_fact)
        parts.health.sources["records_file"] = records.health
    parts.health.sources["tasks"] = parts.supervisor.health
    if lock is not None:
        takeover.standby()
        parts.leadership.add_listener(elected=takeover.elected, deposed=takeover.deposed)


def _linked(link: AmiConnection | None, engine: Engine) -> bool:
    """The AMI session is up and the engine resynchronised (readiness)."""
    return link is not None and link.connected and engine.link_up


def _warm_calendar(config: Config) -> None:
    """Load the holiday calendar now (this year and the next): the library imports its
    country data on first use, about 0.1 s that would otherwise stall the first call."""
    from datetime import date

    from acd.core.hours import public_holiday

    today = date.today()
    for year in (today.year, today.year + 1):
        public_holiday(config.site.departement, today.replace(year=year, day=1))
