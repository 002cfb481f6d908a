"""What ``acd plan`` computes: targets, a plan per interval, a policy comparison.

Plain data, shared by the planner, the JSON printer, the HTML page and
``acd simulate --staffing-from``. Shares are in [0, 1]; waits in seconds. An
interval's band is where a new day's figure lies (:mod:`acd.tools.plan.band`); a
policy's band the lowest and the highest value over the seeds (``None`` where no call
counts).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from acd.config import STANDARD_SKILLS
from acd.tools.plan.confidence import Confidence

#: the roles every site has (a site's extra filières come after them)
STANDARD_ROLES = STANDARD_SKILLS

Band = tuple[float, float]


def finite(value: float | None) -> float | None:
    """A figure for people and JSON, which have no infinity: None for an unanswered
    leg's wait or a band's end without bound."""
    return None if value is None or math.isinf(value) else value


def band_of(values: Sequence[float | None]) -> Band | None:
    """The lowest and the highest of the seeds' values (None where no seed has one)."""
    known = [v for v in values if v is not None]
    return (min(known), max(known)) if known else None

_TARGET_RE = re.compile(
    r"^\s*(?P<metric>[A-Za-z][A-Za-z0-9_]*)\s*(?P<op>>=|<=)\s*(?P<value>[0-9]+(\.[0-9]+)?)\s*$")
_WAIT_RE = re.compile(r"^(?P<queue>[a-z][a-z0-9_]*)_p(?P<pct>[0-9]{2})$")


class TargetError(ValueError):
    """A ``--target`` that cannot be read; the message names the part and why."""


@dataclass(frozen=True)
class Target:
    """One target an interval must meet.

    ``qs30``/``qs60`` (share at N1, ``>=``), ``abandon_rate`` (share of the
    interval's calls at N1 that hung up before any pick-up, ``<=``), or
    ``<queue>_pNN`` (the NN-th percentile of the waits of the legs entering that
    filière's queue, a leg that left it unanswered counting as longer than any, in
    seconds, ``<=``; e.g. ``amu_n2_p90<=60``).
    """

    metric: str
    op: str
    value: float

    @property
    def queue(self) -> str | None:
        """The queue (upper case) of a wait target, else None."""
        match = _WAIT_RE.match(self.metric)
        return match.group("queue").upper() if match else None

    @property
    def percentile(self) -> int | None:
        match = _WAIT_RE.match(self.metric)
        return int(match.group("pct")) if match else None

    def met_by(self, value: float | None) -> bool:
        """An interval with nothing to measure (``None``) meets every target."""
        if value is None:
            return True
        return value >= self.value - 1e-12 if self.op == ">=" else value <= self.value + 1e-12

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"


#: the abandon rate a plan holds unless its targets name one: QS 30 s counts answered
#: calls only, so without it callers who give up would make a thin room look fast
#: (docs/plan.md, "Abandonment")
DEFAULT_ABANDON_RATE = 0.05


def needs_abandon_default(targets: Sequence[Target]) -> bool:
    """No target bounds the abandon rate: the plan adds :data:`DEFAULT_ABANDON_RATE`."""
    return not any(t.metric == "abandon_rate" for t in targets)


def parse_targets(text: str) -> list[Target]:
    """``"qs30>=0.90,qs60>=0.99,amu_n2_p90<=60"`` → targets (raises TargetError)."""
    targets: list[Target] = []
    for part in (p for p in text.split(",") if p.strip()):
        match = _TARGET_RE.match(part)
        if match is None:
            raise TargetError(f"{part.strip()!r}: write METRIC>=VALUE or METRIC<=VALUE")
        metric, op, value = match.group("metric").lower(), match.group("op"), float(
            match.group("value"))
        if metric in ("qs30", "qs60"):
            if op != ">=" or not 0 < value <= 1:
                raise TargetError(f"{part.strip()!r}: {metric} is a share, {metric}>=0.90")
        elif metric == "abandon_rate":
            if op != "<=" or not 0 <= value < 1:
                raise TargetError(f"{part.strip()!r}: abandon_rate<=SHARE, e.g. 0.05")
        elif _WAIT_RE.match(metric):
            if op != "<=":
                raise TargetError(f"{part.strip()!r}: a wait target is QUEUE_pNN<=SECONDS")
        else:
            raise TargetError(f"{part.strip()!r}: unknown metric {metric!r} (qs30, qs60, "
                              "abandon_rate, or QUEUE_pNN such as amu_n2_p90)")
        targets.append(Target(metric, op, value))
    if not targets:
        raise TargetError("no target given")
    return targets


@dataclass(frozen=True)
class IntervalPlan:
    """One interval of the day: the staffing found and what it gives."""

    #: local start of the interval (aware datetime, the site's time zone)
    start: datetime
    #: people logged in per role (primary skill) found by the planner
    staff: dict[str, int]
    #: the scenario's own staffing in this interval
    planned: dict[str, int]
    #: calls arriving in the interval, mean over the seeds
    offered: float
    #: QS 30 s / QS 60 s at N1 of the calls arriving in the interval, pooled over the
    #: seeds, and their band (a new day's, :mod:`acd.tools.plan.band`); None where no
    #: call was answered
    qs30: float | None
    qs30_band: Band | None
    qs60: float | None
    qs60_band: Band | None
    #: share of the interval's N1 calls abandoned before any pick-up (pooled)
    abandon_rate: float | None
    #: per role: time its agents spent talking or in wrap-up / their logged-in time
    occupancy: dict[str, float]
    #: per queue: the 90th percentile of the waits of the legs entering it (pooled), a
    #: leg left unanswered counting as longer than any; None where that is over 10 %
    p90_wait_s: dict[str, float | None] = field(default_factory=dict)
    #: every target met (pooled over the seeds)
    met: bool = True
    #: how sure: the seed-days that met every target and their Wilson interval
    confidence: Confidence | None = None
    #: the calls the PBX carried at once and the trunk lines they need
    lines: Lines | None = None
    #: why more people could not meet a target here (None: reachable)
    unreachable: Unreachable | None = None
    #: the days that missed a target only as much as they miss it with as many
    #: people as calls (None: no such day)
    floor: Floor | None = None
    #: target (as written, ``qs30>=0.9``) → the band of its figure for a new day
    #: (a wait's high end ``inf`` where it reaches the legs left unanswered)
    target_bands: dict[str, Band] = field(default_factory=dict)


@dataclass(frozen=True)
class Lines:
    """Calls held at once by the PBX in one interval, and the lines to carry them."""

    #: the fewest lines that carried every call during 99 % of the interval's time
    #: (the seeds' time pooled)
    p99: int | None
    #: the most calls at once, over the seeds
    max: int
    #: Erlangs offered: arrival rate × mean time a call holds a line
    load: float
    #: Erlang B's fewest lines for the plan's blocking probability on that load
    erlang_b: int


@dataclass(frozen=True)
class Unreachable:
    """An interval whose targets more people did not bring closer."""

    #: what limits it: ``answer-floor`` (the fastest answers are already too slow),
    #: ``abandonment`` (callers hang up whatever the staffing), ``partners`` (a
    #: partner SAS takes the calls first), ``transfer-target`` (transfers to the
    #: filière come back unanswered), or the legs' other fate
    reason: str
    #: the same in a sentence, with the figures
    detail: str
    #: the role that was added to, and the targets it missed
    role: str
    targets: list[str]
    #: the people the plan keeps there, and the most it tried
    people: int
    tried: int


@dataclass(frozen=True)
class Floor:
    """Seed-days on which an interval missed a target no more than the same day
    played with as many people as it has calls: what the callers did that day (a
    patience shorter than an unanswered ring, a warm transfer whose phones rang out),
    not the staffing's doing. Such a day, or the calls of all the seeds pooled, does
    not ask for more people (:mod:`acd.tools.plan.floors`); the plan lists it."""

    #: the seeds of those days (all those pooled where the pooled calls miss)
    seeds: list[int]
    #: the targets they missed
    targets: list[str]
    #: what the day with as many people as calls shows (``abandonment``,
    #: ``answer-floor``, ``transfer-target``…), and the same in a sentence
    reason: str
    detail: str


@dataclass(frozen=True)
class PolicyResult:
    """One routing policy on the plan's trace and staffing."""

    #: "acd" (the router's routing), "acd (fixed expansion)" (its older rule), or an
    #: app_queue configuration ("rrmemory+autofill+rules": strategy and options)
    policy: str
    #: QS 30 s at N1 over the day, pooled over the seeds, and its band
    qs30: float | None
    qs30_band: Band | None
    #: per queue: mean wait of the legs answered there (pooled) and its band
    mean_wait_s: dict[str, float | None]
    mean_wait_band: dict[str, Band | None]
    #: per queue: 90th percentile of those waits (pooled)
    p90_wait_s: dict[str, float | None]
    abandon_rate: float | None
    #: calls offered over the seeds: the same for every policy (the same trace)
    offered: int = 0
    #: QS 60 s at N1, pooled, and its band
    qs60: float | None = None
    qs60_band: Band | None = None
    #: per queue: the longest wait of a leg answered there, over the seeds
    max_wait_s: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class PolicyComparison:
    seeds: list[int]
    results: list[PolicyResult]
    #: the app_queue configuration with the best figures (see
    #: :func:`acd.tools.plan.policies.best_of`), among ``results``
    best: str | None = None


@dataclass
class Plan:
    scenario: str
    site: str
    targets: list[Target]
    interval_s: int
    seeds: list[int]
    surge: float
    roles: list[str]
    intervals: list[IntervalPlan]
    #: simulated days played to find the plan, and how long it took (wall clock)
    days_played: int = 0
    elapsed_s: float = 0.0
    #: positions the planner added to the site's roster where it needed more people
    #: of a role than the site declares (role → added count)
    positions_added: dict[str, int] = field(default_factory=dict)
    #: "every-day" (targets met on each seed's day and on all pooled) or "pooled"
    meet: str = "every-day"
    #: roles whose own queue receives no call in the scenario: they keep its staffing
    kept_roles: list[str] = field(default_factory=list)
    comparison: PolicyComparison | None = None
    #: the blocking probability the trunk lines are sized for (Erlang B)
    blocking: float = 0.01
    #: seeds added where an interval's decision was close (judged on seeds + these)
    extra_seeds: list[int] = field(default_factory=list)
    #: targets the plan added by default (the abandon rate, the filières' waits)
    default_targets: list[str] = field(default_factory=list)
    #: the probability that a new day lies within the intervals' bands everywhere
    band_level: float = 0.9
    #: per target, how much more a day's figure scatters than independent calls
    #: would (the dispersion the bands are drawn with, 1 at least)
    band_dispersion: dict[str, float] = field(default_factory=dict)
    #: with ``--records``: the traffic estimated from them
    #: (:func:`acd.tools.plan.trafficjson.traffic_json`)
    traffic: dict[str, Any] | None = None

    def staff_hours(self) -> dict[str, float]:
        return _hours(self.intervals, self.interval_s, planned=False)

    def planned_hours(self) -> dict[str, float]:
        return _hours(self.intervals, self.interval_s, planned=True)


def _hours(intervals: list[IntervalPlan], interval_s: int, *, planned: bool
           ) -> dict[str, float]:
    out: dict[str, float] = {}
    for interval in intervals:
        for role, count in (interval.planned if planned else interval.staff).items():
            out[role] = out.get(role, 0.0) + count * interval_s / 3600.0
    return out
