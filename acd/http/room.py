"""The room as the supervisor's console shows it: one JSON object, the ``room`` event
of the stream (:mod:`acd.http.roomfeed`), read from the engine and from three small
fact listeners of its own (time in state, QS at N1, overflows).

Shape (times are epoch seconds of engine time; ``speed``: engine seconds per real
second, 1 but against an accelerated simulator)::

    {"at", "speed", "site": {"name", "zone", "utc_offset_s"},
     "health": {"status": "ok" | "warn" | "degraded", "ami_connected", "role"},
     "period": {"period": "sas" | "pdsa", "cause", "holiday", "holiday_fr"},
     "qs": {"queue", "window_s", "window": figure, "today": figure, "today_since"},
     "queues": [{"name", "role", "waiting", "oldest_wait_s", "estimated_wait_s",
                 "staffed", "free", "overflowing", "bascule",
                 "calls": [{"id", "priority", "queue_wait_s", "wait_s", "caller"}],
                 "transfers": [{"id", "priority", "from_queue", "agent", "ringing",
                                "transfer_wait_s", "caller"}]}],
     "agents": [{"id", "name", "role", "skills", "state", "pause_reason", "since",
                 "pending", "pending_reason", "device_busy", "observed"}],
     "partners": [{"name", "preference", "up", "down_until", "tried_window",
                   "taken_window", "taken_today"}],
     "bascules": [{"queue", "share", "partner", "by", "reason", "at"}]}

A QS *figure* is ``answered``, ``within_30s``, ``within_60s``, ``qs30``, ``qs60``
(:class:`acd.metrics.qswindow.QsFigure`), by the metrics' rule. ``caller`` is the
caller's number masked (``06******78``) unless the token may see numbers
(:attr:`acd.http.tokens.Principal.sees_numbers`), as everywhere in the API.
``transfers`` are the warm transfers to the queue still looking for its agent: the
caller stays with ``agent`` (of ``from_queue``) meanwhile, ``ringing`` is the agent
rung (null while none is free), ``transfer_wait_s`` the time since the request. The
period and its ``cause`` are :func:`acd.core.hours.pdsa_cause`'s (``night``, ``Sunday``,
``holiday: <name>``…, null in SAS hours); ``holiday`` is today's public holiday, if any,
as the hours rules name it, ``holiday_fr`` the same in French. ``since``
is when the agent entered its state (null: before this router started). An agent
token's view holds its own agent only, and no queue, call, partner or figure.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import holidays

from acd.core import facts as f
from acd.core.constants import WORKING
from acd.core.hours import holiday_subdivision, pdsa_cause, public_holiday
from acd.core.model import Agent, AgentState, Call, CallState
from acd.core.overflow_rules import SITE
from acd.core.ports import ApiHost
from acd.http.views import bascule_view
from acd.logs import mask_number
from acd.metrics.qswindow import WINDOW_S, QsWindows


class ConsoleHost(ApiHost, Protocol):
    """What the console needs beyond the API: how fast engine time runs."""

    @property
    def speed(self) -> float: ...


class RecentCounts:
    """Counts of events by key over a sliding window and since local midnight."""

    def __init__(self, window_s: float, zone: ZoneInfo) -> None:
        self.window_s = window_s
        self.zone = zone
        self._recent: deque[tuple[float, str]] = deque()
        self._window: dict[str, int] = {}
        self._day: date | None = None
        self._today: dict[str, int] = {}

    def add(self, key: str, at: float) -> None:
        day = datetime.fromtimestamp(at, self.zone).date()
        if day != self._day:
            self._day, self._today = day, {}
        self._today[key] = self._today.get(key, 0) + 1
        self._recent.append((at, key))
        self._window[key] = self._window.get(key, 0) + 1
        self.forget_before(at - self.window_s)

    def forget_before(self, limit: float) -> None:
        while self._recent and self._recent[0][0] <= limit:
            _at, key = self._recent.popleft()
            self._window[key] -= 1

    def window(self, key: str) -> int:
        return self._window.get(key, 0)

    def today(self, key: str, now: float) -> int:
        if datetime.fromtimestamp(now, self.zone).date() != self._day:
            return 0
        return self._today.get(key, 0)


def holiday_in_french(departement: str, day: date) -> str | None:
    """Today's public holiday as the room says it (``Noël``), or None."""
    calendar = holidays.country_holidays("FR", subdiv=holiday_subdivision(departement),
                                         years=day.year, language="fr")
    names = calendar.get_list(day)
    return " et ".join(names) if names else None


def primary_skill(agent: Agent) -> str | None:
    """The agent's first level-1 skill (its filière), else its best one."""
    if not agent.skills:
        return None
    return min(agent.skills.items(), key=lambda item: item[1])[0]


class RoomView:
    """Builds the console's view of the room; :meth:`attach` starts its listeners."""

    def __init__(self, router: ConsoleHost) -> None:
        self.router = router
        config = router.config
        self.config = config
        self.zone = config.zone()
        self.qs = QsWindows(self.zone, counting_since=router.clock())
        self.overflows = RecentCounts(WINDOW_S, self.zone)
        #: agent → engine time it entered its present state
        self.since: dict[str, float] = {}
        self._roles = {name: skill.role or name for name, skill in config.skills.items()}
        self._holiday_day: date | None = None
        self._holiday_names: dict[str, str | None] = {}

    def attach(self) -> None:
        self.router.add_fact_listener(self.on_fact)

    def on_fact(self, fact: f.Fact) -> None:
        """Runs inside the router's submit: a dictionary write or two, never more."""
        if isinstance(fact, f.AgentStateChanged):
            self.since[fact.agent] = fact.at
        elif isinstance(fact, f.CallAnswered):
            self.qs.on_fact(fact)
        elif isinstance(fact, f.CallOverflowed) and fact.result in ("tried", "answered"):
            self.overflows.add(f"{fact.partner}:{fact.result}", fact.at)

    # ------------------------------------------------------------------ views

    def common(self) -> dict[str, Any]:
        """What every view shares: time, site, health, period."""
        router = self.router
        now = router.clock()
        local = datetime.fromtimestamp(now, self.zone)
        offset = local.utcoffset()
        health = router.health()
        return {
            "at": now, "speed": router.speed,
            "site": {"name": self.config.site.name, "zone": self.config.site.timezone,
                     "utc_offset_s": int(offset.total_seconds()) if offset else 0},
            "health": {"status": health.get("status"),
                       "ami_connected": health.get("ami_connected"),
                       "role": health.get("role")},
            "period": {"period": "pdsa" if (cause := pdsa_cause(self.config, local))
                       else "sas", "cause": cause, **self._holiday(local.date())},
        }

    def _holiday(self, day: date) -> dict[str, str | None]:
        """Today's holiday in both languages, computed once a day."""
        if self._holiday_day != day:
            departement = self.config.site.departement
            self._holiday_day = day
            self._holiday_names = {"holiday": public_holiday(departement, day),
                                   "holiday_fr": holiday_in_french(departement, day)}
        return self._holiday_names

    def room(self, common: dict[str, Any], sees_numbers: bool) -> dict[str, Any]:
        """The whole room for a reader or a supervisor token."""
        now: float = common["at"]
        engine = self.router.engine
        overflowing = self._overflowing_by_queue()
        transfers = self._transfers_by_queue(now, sees_numbers)
        queues = [self._queue(name, [self._call(call, now, sees_numbers) for call in queue],
                              overflowing.get(name, 0), transfers.get(name, []))
                  for name, queue in engine.queues.items()]
        self.overflows.forget_before(now - WINDOW_S)
        return {
            **common,
            "qs": {"queue": self.qs.front_office, "window_s": self.qs.window_s,
                   "window": self.qs.window(now).as_dict(),
                   "today": self.qs.today(now).as_dict(),
                   "today_since": self.qs.today_since(now)},
            "queues": queues,
            "agents": [self._agent(a) for a in engine.agents.values()],
            "partners": self._partners(now),
            "bascules": [b for q in engine.bascules if (b := self._bascule(q)) is not None],
        }

    def _overflowing_by_queue(self) -> dict[str, int]:
        overflowing: dict[str, int] = {}
        for call in self.router.engine.calls.values():
            if call.state is CallState.OVERFLOWING:
                overflowing[call.queue] = overflowing.get(call.queue, 0) + 1
        return overflowing

    def _transfers_by_queue(self, now: float,
                            sees_numbers: bool) -> dict[str, list[dict[str, Any]]]:
        """The warm transfers still looking for their agent, by queue asked."""
        engine = self.router.engine
        transfers: dict[str, list[dict[str, Any]]] = {}
        for warm in engine.warm.values():
            moving = engine.calls.get(warm.call)
            if moving is not None:
                transfers.setdefault(warm.to_queue, []).append({
                    "id": warm.call, "priority": moving.priority,
                    "from_queue": warm.from_queue, "agent": warm.agent,
                    "ringing": warm.target, "transfer_wait_s": round(max(0.0, now - warm.at), 3),
                    "caller": self._caller(moving, sees_numbers)})
        return transfers

    def _queue(self, name: str, calls: list[dict[str, Any]], overflowing: int,
               transfers: list[dict[str, Any]]) -> dict[str, Any]:
        engine = self.router.engine
        estimate = engine.estimated_wait(name)
        holders = [a for a in engine.agents.values() if name in a.skills]
        return {
            "name": name, "role": self._roles.get(name, name), "waiting": len(calls),
            "oldest_wait_s": max((c["queue_wait_s"] for c in calls), default=0.0),
            "estimated_wait_s": round(estimate, 1) if math.isfinite(estimate) else None,
            "staffed": sum(1 for a in holders if a.state in WORKING),
            "free": sum(1 for a in holders if a.state is AgentState.AVAILABLE
                        and not a.device_busy),
            "overflowing": overflowing,
            "bascule": self._bascule(name) or self._bascule(SITE),
            "calls": calls,
            "transfers": transfers,
        }

    def _partners(self, now: float) -> list[dict[str, Any]]:
        engine = self.router.engine
        return [{
            "name": p.name, "preference": p.preference, "up": engine.partner_up(p.name, now),
            "down_until": (None if engine.partner_up(p.name, now)
                           else engine.partner_down_until.get(p.name)),
            "tried_window": self.overflows.window(f"{p.name}:tried"),
            "taken_window": self.overflows.window(f"{p.name}:answered"),
            "taken_today": self.overflows.today(f"{p.name}:answered", now),
        } for p in engine.partners]

    def agent_room(self, common: dict[str, Any], agent_id: str) -> dict[str, Any]:
        """An agent token's view: its own agent only."""
        agent = self.router.engine.agents.get(agent_id)
        return {**common, "queues": [], "partners": [], "bascules": [],
                "agents": [self._agent(agent)] if agent is not None else []}

    def _call(self, call: Call, now: float, sees_numbers: bool) -> dict[str, Any]:
        return {"id": call.id, "priority": call.priority,
                "queue_wait_s": round(max(0.0, now - call.enqueued_at), 3),
                "wait_s": round(max(0.0, now - call.arrived_at), 3),
                "caller": self._caller(call, sees_numbers)}

    @staticmethod
    def _caller(call: Call, sees_numbers: bool) -> str | None:
        number = call.caller_num
        if not number:
            return None
        return number if sees_numbers else mask_number(number)

    def _agent(self, agent: Agent) -> dict[str, Any]:
        skill = primary_skill(agent)
        return {"id": agent.id, "name": agent.name,
                "role": skill, "skills": dict(agent.skills), "state": agent.state.value,
                "pause_reason": agent.pause_reason, "since": self.since.get(agent.id),
                "pending": agent.pending.value if agent.pending is not None else None,
                "pending_reason": agent.pending_reason, "device_busy": agent.device_busy,
                "observed": agent.observed}

    def _bascule(self, queue: str) -> dict[str, Any] | None:
        return bascule_view(self.router.engine.bascules, queue)
