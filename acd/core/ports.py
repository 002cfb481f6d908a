"""The ports: what the adapters (HTTP, event stream, metrics, store) may see of the
running service, as Protocols. An adapter is typed against one of these, never against
the concrete router of :mod:`acd.service.router`, so it can be built and tested on any
object that has these few members (and the router can change behind them).

* :class:`EngineView`: the engine, read only (what the API, the stream and the
  collectors read).
* :data:`Submit`: give the engine one input now, get its output.
* :data:`FactListener`: told each engine fact, on the hot path (never awaits).
* :class:`LinkView`: the AMI link as the health and the collectors see it.
* :class:`StreamHost`, :class:`ApiHost`, :class:`MetricsHost`, :class:`StoreHost`:
  what each adapter is given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from acd.core.reskill import SkillsView

if TYPE_CHECKING:
    from acd.config import Config, PartnerConfig
    from acd.core.effects import Output
    from acd.core.facts import Fact
    from acd.core.model import Call, WarmTransfer
    from acd.core.overflow_rules import Bascule
    from acd.core.records import CallRecord
    from acd.core.routing import AgentPool
    from acd.core.state import EngineMeta

#: give the engine one input now (an AMI event, a tick, an API intent); its actions
#: are sent and its facts published before this returns
Submit = Callable[[object], "Output"]
#: told each fact the engine publishes, inside :data:`Submit`: never awaits, never raises
FactListener = Callable[["Fact"], None]
#: told each audited API write (the durable audit)
AuditListener = Callable[[dict[str, Any]], None]
#: extra metric families for /metrics
MetricSource = Callable[[], list[Any]]
#: one part of /healthz
HealthSource = Callable[[], dict[str, Any]]


class EngineView(SkillsView, Protocol):
    """The engine as adapters read it, read only (no adapter calls ``handle``: it
    submits; none changes what it reads)."""

    @property
    def calls(self) -> Mapping[str, Call]: ...
    @property
    def bascules(self) -> Mapping[str, Bascule]: ...
    @property
    def partners(self) -> Sequence[PartnerConfig]: ...
    @property
    def partner_down_until(self) -> Mapping[str, float]: ...
    @property
    def warm(self) -> Mapping[str, WarmTransfer]: ...
    @property
    def pool(self) -> AgentPool: ...
    @property
    def link_up(self) -> bool: ...
    @property
    def decide(self) -> bool: ...
    @property
    def now(self) -> float: ...

    def meta(self) -> EngineMeta: ...
    def waiting_calls(self, queue: str) -> list[Call]: ...
    def estimated_wait(self, queue: str) -> float: ...
    def partner_up(self, name: str, now: float | None = None) -> bool: ...
    def record(self, call: Call) -> CallRecord: ...
    def next_deadline(self) -> float | None: ...


class EventCount(Protocol):
    @property
    def events_received(self) -> int: ...


class DropCounts(Protocol):
    @property
    def counts(self) -> Mapping[str, int]: ...


class LinkView(Protocol):
    """The AMI link: up or not, this session's event count, frames dropped."""

    @property
    def connected(self) -> bool: ...
    @property
    def protocol(self) -> EventCount | None: ...
    @property
    def drops(self) -> DropCounts: ...
    @property
    def reconnects(self) -> int: ...


class StreamHost(Protocol):
    """What the event stream needs: the engine's view and its facts."""

    @property
    def engine(self) -> EngineView: ...

    def add_fact_listener(self, listener: FactListener) -> None: ...


class ApiHost(StreamHost, Protocol):
    """What the HTTP server and the API need."""

    @property
    def config(self) -> Config: ...
    @property
    def role(self) -> str: ...
    @property
    def metric_sources(self) -> list[MetricSource]: ...

    def clock(self) -> float: ...
    def submit(self, item: object) -> Output: ...
    def publish_audit(self, entry: dict[str, Any]) -> None: ...
    def health(self) -> dict[str, Any]: ...


class MetricsHost(StreamHost, Protocol):
    """What the Prometheus collectors need. The label sets of the service's own counters
    (inputs, clocks, tasks) come from the host, which knows them: each label is
    exposed, at 0 until something is counted."""

    @property
    def config(self) -> Config: ...
    @property
    def role(self) -> str: ...
    @property
    def ami(self) -> LinkView | None: ...
    @property
    def actions_fenced(self) -> int: ...
    @property
    def input_errors(self) -> Mapping[str, int]: ...
    @property
    def input_kinds(self) -> Sequence[str]: ...
    @property
    def clock_skews(self) -> Mapping[str, int]: ...
    @property
    def task_restarts(self) -> Mapping[str, int]: ...
    @property
    def metric_sources(self) -> list[MetricSource]: ...

    def clock(self) -> float: ...
    def observe_decisions(self, observer: Callable[[float], None]) -> None:
        """``observer`` gets each input's decision time in seconds, from now on."""


class StoreHost(Protocol):
    """What the durable store needs: the engine's view (it snapshots its state), the
    input to restore it, the facts and API writes to journal, a place in /healthz."""

    @property
    def engine(self) -> EngineView: ...
    @property
    def health_sources(self) -> dict[str, HealthSource]: ...

    def submit(self, item: object) -> Output: ...
    def add_fact_listener(self, listener: FactListener) -> None: ...
    def add_audit_listener(self, listener: AuditListener) -> None: ...
