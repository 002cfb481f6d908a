"""The timeline of a scenario: who calls when, who logs in when. Pure and seeded.

Arrivals per number follow a non-homogeneous Poisson process: within each hour the
rate is ``per_day × factor × hourly[h] / sum(hourly) / 3600`` calls a second, with
``h`` the site's local hour (so daylight-saving nights have 23 or 25 hours); a number
with its own ``half_hourly`` weights has ``per_day × factor × w[k] / sum(w) / 1800``
in local half-hour ``k``.
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from acd.config import AgentConfig, Config
from acd.tools.simulate.scenario import (
    CallsSpec,
    PartnerChange,
    PatienceTail,
    Scenario,
    ScriptedBascule,
    parse_time_of_day,
)

_FIRST_NAMES = ("Jean", "Marie", "Nathalie", "Karim", "Sophie", "Lucas", "Chloé", "Hélène",
                "Mathieu", "Inès", "Yannick", "Aïcha", "François", "Zoë", "Gaëlle", "Loïc")
_LAST_NAMES = ("Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Benali", "Nguyen",
               "Dupré", "Çelik", "Leroy", "Roux", "Fournier", "Girard", "Mercier")


@dataclass(frozen=True)
class PlannedCall:
    number: str
    caller_name: str
    caller_num: str
    patience_s: float
    priority: int | None


@dataclass(frozen=True)
class Planned:
    """One thing to do at simulated epoch time ``at``."""

    at: float
    #: "call", an agent feature ("login", "logout", "pause", "ready"), "partner"
    #: (a partner trunk changes behaviour) or "bascule" (a supervisor's switch)
    kind: str
    call: PlannedCall | None = None
    agent: str | None = None
    partner: PartnerChange | None = None
    bascule: ScriptedBascule | None = None


def scenario_start(scenario: Scenario, zone: ZoneInfo) -> float:
    return scenario.start.replace(tzinfo=zone).timestamp()


def plan(scenario: Scenario, config: Config, seed: int | None = None) -> list[Planned]:
    """Every arrival and staffing change of the scenario, in time order."""
    zone = config.zone()
    start = scenario_start(scenario, zone)
    end = start + scenario.duration_s
    items = list(_kept_arrivals(msgspec.json.encode(scenario.calls), zone,
                                scenario.seed if seed is None else seed, start, end))
    items += _staffing(scenario, config, zone, start, end)
    items += _script(scenario, zone, start, end)
    items.sort(key=lambda p: (p.at, p.kind != "logout", p.kind != "login"))
    return items


@functools.lru_cache(maxsize=32)
def _kept_arrivals(calls_json: bytes, zone: ZoneInfo, seed: int, start: float,
                   end: float) -> tuple[Planned, ...]:
    """:func:`_arrivals` of the calls ``calls_json`` for ``seed`` (a random sequence of
    its own), drawn once per process: a planner plays the same callers under many
    staffings (what is drawn is frozen, shared safely)."""
    calls = msgspec.json.decode(calls_json, type=CallsSpec)
    return tuple(_arrivals(calls, zone, random.Random(seed), start, end))


def _arrivals(calls: CallsSpec, zone: ZoneInfo, rng: random.Random,
              start: float, end: float) -> list[Planned]:
    weight_sum = sum(calls.hourly)
    out: list[Planned] = []
    for number, per_day in calls.per_day.items():
        t = start
        while t < end:
            local = datetime.fromtimestamp(t, zone)
            weights = calls.half_hourly.get(number)
            if weights is None:
                hour_end = min(end, _next_hour(t, zone))
                rate = per_day * calls.factor * calls.hourly[local.hour] / weight_sum / 3600.0
            else:
                hour_end = min(end, _next_half_hour(t, zone))
                rate = (per_day * calls.factor * weights[local.hour * 2 + local.minute // 30]
                        / sum(weights) / 1800.0)
            if rate > 0:
                arrival = t + rng.expovariate(rate)
                while arrival < hour_end:
                    out.append(Planned(arrival, "call", call=_caller(number, calls, rng)))
                    arrival += rng.expovariate(rate)
            t = hour_end
    return out


def _next_hour(t: float, zone: ZoneInfo) -> float:
    local = datetime.fromtimestamp(t, zone)
    return (local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)).timestamp()


def _next_half_hour(t: float, zone: ZoneInfo) -> float:
    local = datetime.fromtimestamp(t, zone)
    if local.minute < 30:
        return local.replace(minute=30, second=0, microsecond=0).timestamp()
    return _next_hour(t, zone)


def _caller(number: str, calls: CallsSpec, rng: random.Random) -> PlannedCall:
    priority: int | None = None
    draw = rng.random()
    for key, share in sorted(calls.priority_mix.items()):
        if draw < share:
            priority = int(key)
            break
        draw -= share
    name = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
    caller_num = "06" + "".join(str(rng.randrange(10)) for _ in range(8))
    return PlannedCall(number, name, caller_num, _patience(calls, rng), priority)


def _patience(calls: CallsSpec, rng: random.Random) -> float:
    """One draw either way (a scenario without quantiles keeps its random sequence)."""
    points, tail = calls.patience_quantiles_s, calls.patience_tail
    if not points and tail is None:
        low, high = calls.patience_s
        if calls.patience_distribution == "exponential":
            return rng.expovariate(2.0 / (low + high))
        return rng.uniform(low, high)
    return patience_draw(points, tail, rng.random())


def patience_draw(points: list[list[float]], tail: PatienceTail | None, u: float) -> float:
    """The patience at share ``u``: through the points, then (beyond the last one) the
    tail conditioned on exceeding the last point's seconds."""
    last_p, last_v = points[-1] if points else (0.0, 0.0)
    if tail is None or u <= last_p:
        return quantile_draw(points, u)
    # S(t) / S(last_v) = (1 - u) / (1 - last_p), S(t) = exp(-(t / scale) ** shape)
    left = math.log((1.0 - last_p) / max(1.0 - u, 1e-12))
    return float(tail.scale_s * ((last_v / tail.scale_s) ** tail.shape + left)
                 ** (1.0 / tail.shape))


def quantile_draw(points: list[list[float]], u: float) -> float:
    """The value at share ``u`` of a distribution given by increasing points
    [share, value], linear between them, from 0 at share 0, flat after the last."""
    prev_p, prev_v = 0.0, 0.0
    for p, v in points:
        if u <= p:
            return prev_v if p == prev_p else prev_v + (v - prev_v) * (u - prev_p) / (p - prev_p)
        prev_p, prev_v = p, v
    return prev_v


def primary_skill(agent: AgentConfig) -> str:
    return min(agent.skills.items(), key=lambda item: item[1])[0]


def _occurrences(text: str, zone: ZoneInfo, start: float, end: float) -> list[float]:
    """Each moment in [start, end) when the local clock reads ``text`` (clamped to start
    when the time of day of the first day is already past)."""
    at = parse_time_of_day(text)
    first = datetime.fromtimestamp(start, zone).date()
    out = []
    for day in range(8):
        moment = datetime.combine(first + timedelta(days=day), at, zone).timestamp()
        if moment >= end:
            break
        out.append(max(moment, start))
    return out


def _staffing(scenario: Scenario, config: Config, zone: ZoneInfo,
              start: float, end: float) -> list[Planned]:
    steps = sorted((moment, i) for i, step in enumerate(scenario.staffing)
                   for moment in _occurrences(step.at, zone, start, end))
    out: list[Planned] = []
    logged_in: set[str] | None = None
    for moment, index in steps:
        counts = scenario.staffing[index].counts
        wanted: set[str] = set()
        for skill, count in counts.items():
            holders = [a.id for a in config.agents if primary_skill(a) == skill]
            wanted.update(holders[:count])
        for agent in config.agents:
            was = None if logged_in is None else agent.id in logged_in
            now_in = agent.id in wanted
            if was is None or was != now_in:
                out.append(Planned(moment, "login" if now_in else "logout", agent=agent.id))
        logged_in = wanted
    return out


def _script(scenario: Scenario, zone: ZoneInfo, start: float, end: float) -> list[Planned]:
    out: list[Planned] = []
    for event in scenario.script:
        for moment in _occurrences(event.at, zone, start, end):
            if event.call is not None:
                c = event.call
                out.append(Planned(moment, "call", call=PlannedCall(
                    c.number, c.caller_name, c.caller_num, c.patience_s, c.priority)))
            for kind, agent in (("logout", event.agent_logout), ("login", event.agent_login),
                                ("pause", event.agent_pause), ("ready", event.agent_ready)):
                if agent is not None:
                    out.append(Planned(moment, kind, agent=agent))
            if event.partner is not None:
                out.append(Planned(moment, "partner", partner=event.partner))
            if event.bascule is not None:
                out.append(Planned(moment, "bascule", bascule=event.bascule))
            break  # a scripted event happens once, on its first occurrence
    return out
