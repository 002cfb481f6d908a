"""The engine's live state as one explicit object (no I/O, no behaviour of its own).

Every collaborator of the engine (:mod:`acd.core.engine`) receives this object and
changes it; nothing else holds engine state. The durable part of it is captured by
:mod:`acd.core.state`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from acd.config import Config, PartnerConfig
from acd.core.demand import ArrivalRates
from acd.core.model import Agent, AgentState, Arrival, Call, WarmTransfer
from acd.core.overflow_rules import Bascule, ShareCounter
from acd.core.routing import AgentPool, SkillQueue
from acd.core.selection import EngineSelection

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from acd.core.timerkind import TimerEntry


@dataclass(slots=True, eq=False)
class RoomState:
    """Calls, agents, queues, timers and the engine-wide counters."""

    config: Config
    zone: ZoneInfo
    #: False in replay: follow the stream, send nothing
    decide: bool
    #: the AMI link is up and resynchronised: actions can be sent
    link_up: bool
    now: float = 0.0
    calls: dict[str, Call] = field(default_factory=dict)
    by_channel: dict[str, Call] = field(default_factory=dict)
    recently_ended: dict[str, None] = field(default_factory=dict)
    #: callers in their announcement, told by the dialplan's arrival event, by
    #: channel, oldest first (:mod:`acd.core.arrivals`): not calls yet
    arriving: dict[str, Arrival] = field(default_factory=dict)
    #: agent leg channel → (call, agent)
    agent_legs: dict[str, tuple[Call, Agent]] = field(default_factory=dict)
    agents: dict[str, Agent] = field(default_factory=dict)
    by_device: dict[str, Agent] = field(default_factory=dict)
    queues: dict[str, SkillQueue] = field(default_factory=dict)
    pool: AgentPool = field(default_factory=AgentPool)
    #: who gets which call (the engine's routing and its backups rule)
    selection: EngineSelection = field(default_factory=EngineSelection)
    #: queue → skill-expansion thresholds (seconds)
    expansion: dict[str, list[float]] = field(default_factory=dict)
    #: queue → handling times (talk + wrap-up) of its last HANDLE_WINDOW legs
    handled: dict[str, deque[float]] = field(default_factory=dict)
    #: queue → calls per second entering it lately (the "spare" backups rule)
    demand: ArrivalRates = field(default_factory=lambda: ArrivalRates(900.0))
    #: the timer heap (:mod:`acd.core.timers`)
    timers: list[TimerEntry] = field(default_factory=list)
    #: the sequence counter shared by call order and timer order
    seq: int = 0
    #: warm transfers in progress, by call id, oldest first
    warm: dict[str, WarmTransfer] = field(default_factory=dict)
    warm_seq: int = 0
    partners: list[PartnerConfig] = field(default_factory=list)
    partners_by_name: dict[str, PartnerConfig] = field(default_factory=dict)
    #: partner → engine time until which it is not tried
    partner_down_until: dict[str, float] = field(default_factory=dict)
    #: queue (or "*") → the supervisor's switch in force
    bascules: dict[str, Bascule] = field(default_factory=dict)
    shares: dict[str, ShareCounter] = field(default_factory=dict)
    #: disagreements seen by the last Reconcile: (kind, subject)
    suspects: set[tuple[str, str]] = field(default_factory=set)
    #: a restore happened and the resync that follows it has not come yet
    rearm: bool = False
    #: ids of the calls restored (known before the link came up)
    restored: set[str] = field(default_factory=set)
    #: Asterisk's start (a resync's time − FullyBooted's Uptime), None before any
    #: login, and FullyBooted's Uptime until the resync that dates it
    #: (:mod:`acd.core.pbxloss`)
    pbx_started_at: float | None = None
    pbx_uptime: int | None = None
    #: a Shutdown event came since the last dated resync
    pbx_shutdown_seen: bool = False

    @property
    def acting(self) -> bool:
        """The engine may send actions now (live, link up)."""
        return self.link_up and self.decide

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def queue(self, name: str) -> SkillQueue:
        """The queue ``name``, created if only traffic shows it (replay, native queue)."""
        queue = self.queues.get(name)
        if queue is None:
            queue = self.queues[name] = SkillQueue(name)
            self.expansion[name] = []
        return queue

    def agent_of(self, call: Call) -> Agent | None:
        return self.agents.get(call.agent) if call.agent else None

    def skill_staffed(self, skill: str) -> bool:
        return any(skill in a.skills and a.state is not AgentState.LOGGED_OUT
                   and not a.observed for a in self.agents.values())
