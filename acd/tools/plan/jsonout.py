"""The plan as JSON (``acd plan --json``): the fields operators' scripts read.

One object per interval in ``intervals``, with ``start`` (ISO 8601, local time with
its offset), ``staff`` (role → people), ``qs30``, ``qs60``, ``abandon_rate``,
``occupancy`` (role → share) and ``planned`` (role → people, the scenario's own), and
more beside them (bands, offered calls, waits per queue, whether every target is
met); around them, what the plan was asked and what it cost.
"""

from __future__ import annotations

from typing import Any

from acd.tools.plan.confidence import Confidence
from acd.tools.plan.model import (
    Band,
    Floor,
    IntervalPlan,
    Lines,
    Plan,
    PolicyComparison,
    Unreachable,
    finite,
)
from acd.tools.plan.readout import busiest_lines


def rounded(value: float | None, digits: int = 4) -> float | None:
    """A figure as the JSON prints it (None stays None)."""
    return None if value is None else round(value, digits)


def band_json(band: Band | None) -> list[float | None] | None:
    """``[low, high]``; ``null`` for an end without bound (a wait that reaches the
    legs left unanswered)."""
    return None if band is None else [rounded(finite(end)) for end in band]


def interval_json(interval: IntervalPlan) -> dict[str, Any]:
    return {
        "start": interval.start.isoformat(),
        "staff": dict(interval.staff),
        "qs30": rounded(interval.qs30),
        "qs60": rounded(interval.qs60),
        "abandon_rate": rounded(interval.abandon_rate),
        "occupancy": {role: rounded(share) for role, share in interval.occupancy.items()},
        "planned": dict(interval.planned),
        "difference": {role: interval.staff.get(role, 0) - interval.planned.get(role, 0)
                       for role in interval.staff},
        "qs30_band": band_json(interval.qs30_band),
        "qs60_band": band_json(interval.qs60_band),
        "offered": rounded(interval.offered, 2),
        "p90_wait_s": {queue: rounded(wait, 1) for queue, wait in interval.p90_wait_s.items()},
        "met": interval.met,
        "confidence": _confidence(interval.confidence),
        "lines": _lines(interval.lines),
        "unreachable": _unreachable(interval.unreachable),
        "floor": _floor(interval.floor),
        "target_bands": {target: band_json(band) for target, band in interval.target_bands.items()},
    }


def _confidence(sure: Confidence | None) -> dict[str, Any] | None:
    if sure is None:
        return None
    return {"days": sure.days, "days_met": sure.days_met, "share": rounded(sure.share),
            "wilson95": [round(sure.low, 4), round(sure.high, 4)], "close": sure.close}


def _lines(lines: Lines | None) -> dict[str, Any] | None:
    if lines is None:
        return None
    return {"p99": lines.p99, "max": lines.max, "erlang_b": lines.erlang_b,
            "load_erlangs": round(lines.load, 3)}


def _unreachable(unreachable: Unreachable | None) -> dict[str, Any] | None:
    if unreachable is None:
        return None
    return {"reason": unreachable.reason, "detail": unreachable.detail,
            "role": unreachable.role, "targets": list(unreachable.targets),
            "people": unreachable.people, "tried": unreachable.tried}


def _floor(floor: Floor | None) -> dict[str, Any] | None:
    if floor is None:
        return None
    return {"seeds": list(floor.seeds), "targets": list(floor.targets),
            "reason": floor.reason, "detail": floor.detail}


def comparison_json(comparison: PolicyComparison) -> dict[str, Any]:
    return {
        "seeds": list(comparison.seeds),
        "policies": [{
            "policy": result.policy,
            "qs30": rounded(result.qs30),
            "qs30_band": band_json(result.qs30_band),
            "mean_wait_s": {q: rounded(w, 1) for q, w in result.mean_wait_s.items()},
            "mean_wait_band": {q: band_json(b) for q, b in result.mean_wait_band.items()},
            "p90_wait_s": {q: rounded(w, 1) for q, w in result.p90_wait_s.items()},
            "abandon_rate": rounded(result.abandon_rate),
            "qs60": rounded(result.qs60),
            "qs60_band": band_json(result.qs60_band),
            "max_wait_s": {q: rounded(w, 1) for q, w in result.max_wait_s.items()},
        } for result in comparison.results],
        "best": comparison.best,
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "scenario": plan.scenario,
        "site": plan.site,
        "targets": [str(t) for t in plan.targets],
        "interval_s": plan.interval_s,
        "seeds": list(plan.seeds),
        "surge": plan.surge,
        "meet": plan.meet,
        "roles": list(plan.roles),
        "kept_roles": list(plan.kept_roles),
        "positions_added": dict(plan.positions_added),
        "staff_hours": {r: round(h, 2) for r, h in plan.staff_hours().items()},
        "planned_hours": {r: round(h, 2) for r, h in plan.planned_hours().items()},
        "all_met": all(i.met for i in plan.intervals),
        "days_played": plan.days_played,
        "elapsed_s": round(plan.elapsed_s, 2),
        "intervals": [interval_json(i) for i in plan.intervals],
        "blocking": plan.blocking,
        "band_level": plan.band_level,
        "band_dispersion": dict(plan.band_dispersion),
        "lines": _lines(busiest_lines(plan)),
        "extra_seeds": list(plan.extra_seeds),
        "default_targets": list(plan.default_targets),
        "traffic": plan.traffic,
        "comparison": None if plan.comparison is None else comparison_json(plan.comparison),
    }
