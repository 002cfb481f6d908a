"""``acd simulate --staffing-from PLAN.json``: a scenario played with a plan's staffing,
and its figures per interval of the plan, each target's against the plan's band (to
check a plan on the AMI path, or on the fast day, on a day it was not made on)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from acd.config import Config
from acd.core.facts import CallTransferred
from acd.core.records import CallRecord
from acd.tools.plan.band import within
from acd.tools.plan.jsonout import band_json, rounded
from acd.tools.plan.measure import measure
from acd.tools.plan.model import Band, Target, TargetError, finite, parse_targets
from acd.tools.plan.reach import value
from acd.tools.plan.staffing import (
    Grid,
    PlanInputError,
    grid_of,
    interval_label,
    max_counts,
    steps_from_plan,
    with_positions,
)
from acd.tools.simulate.scenario import Scenario


@dataclass(frozen=True)
class Promise:
    """What a plan promised: its targets, and per interval of the plan, target (as
    written) → the band of its figure."""

    targets: list[Target]
    bands: list[dict[str, Band]]


@dataclass(frozen=True)
class StaffedPlan:
    """A scenario to play with a plan's staffing, and what the plan promised."""

    config: Config
    scenario: Scenario
    grid: Grid
    promise: Promise


def staffed_from(config: Config, scenario: Scenario, path: str | Path) -> StaffedPlan:
    """The site with the positions the plan needs, the scenario with the plan's
    staffing instead of its own, the plan's intervals over the scenario, its targets
    and their bands."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlanInputError(f"{path}: cannot read ({exc.strerror})") from exc
    except ValueError as exc:
        raise PlanInputError(f"{path}: not JSON ({exc})") from exc
    steps = steps_from_plan(data, config, str(path))
    interval_s = data.get("interval_s")
    if not isinstance(interval_s, int) or interval_s <= 0:
        interval_s = 1800
    config, _ = with_positions(config, max_counts(step.counts for step in steps))
    scenario = msgspec.structs.replace(scenario, staffing=steps)
    written = data.get("targets") or []
    try:
        targets = parse_targets(",".join(written)) if written else []
    except (TargetError, TypeError) as exc:
        raise PlanInputError(f"{path}: targets: {exc}") from exc
    return StaffedPlan(config, scenario, grid_of(scenario, config, interval_s),
                       Promise(targets, [_bands(interval) for interval in data["intervals"]]))


def _bands(interval: dict[str, Any]) -> dict[str, Band]:
    """An interval's ``target_bands`` (a null end: no bound); none in an older plan."""
    out: dict[str, Band] = {}
    for target, band in (interval.get("target_bands") or {}).items():
        if isinstance(band, list) and len(band) == 2:
            low, high = band
            out[target] = (-math.inf if low is None else float(low),
                           math.inf if high is None else float(high))
    return out


def interval_figures(records: list[CallRecord], config: Config, grid: Grid,
                     promise: Promise = Promise([], []),
                     transfers: Sequence[CallTransferred] = ()) -> list[dict[str, Any]]:
    """Per interval: the front-office calls arriving in it, answered, QS 30 s and
    QS 60 s (answered in under 30 s / 60 s over answered) and the abandon rate; and
    per target of the plan, the figure, whether it met the target and whether it
    stayed within the plan's band (:func:`acd.tools.plan.band.within`)."""
    out: list[dict[str, Any]] = []
    measured = measure(records, config, grid, transfers)
    for k, (start, counts) in enumerate(zip(grid.starts, measured, strict=True)):
        checked = {}
        for target in promise.targets:
            figure, band = value(target, counts), promise.bands[k].get(str(target))
            checked[str(target)] = {
                "value": rounded(finite(figure)),
                "met": target.met_by(figure),
                "band": band_json(band),
                "within_band": within(target, figure, band)}
        out.append({
            "start": interval_label(start, config).isoformat(),
            "offered": counts.offered, "answered": counts.answered,
            "qs30": rounded(counts.qs30), "qs60": rounded(counts.qs60),
            "abandon_rate": rounded(counts.abandon_rate),
            "targets": checked,
        })
    return out


def missed(intervals: list[dict[str, Any]], *, beyond_band: bool) -> list[str]:
    """The figures that missed their target within the plan's band (or beyond it,
    ``beyond_band``), in words."""
    out = []
    for row in intervals:
        for target, check in row.get("targets", {}).items():
            if check["met"] or check["within_band"] == beyond_band:
                continue
            # a missed figure without a value: a wait percentile on a leg left unanswered
            shown = "unanswered" if check["value"] is None else f"{check['value']:g}"
            band = ("no band" if check["band"] is None else
                    "band " + "–".join("∞" if e is None else f"{e:g}" for e in check["band"]))
            out.append(f"{row['start'][11:16]} {target}: {shown} ({band})")
    return out


#: above this speed the router's real-time latency shows in the simulated waits
EXACT_SPEED = 240.0


def render_intervals(intervals: list[dict[str, Any]], speed: float) -> str:
    lines = ["Per interval of the plan (front office)",
             "  start   offered  answered  QS 30 s  QS 60 s  abandoned"]
    for row in intervals:
        def pct(value: float | None) -> str:
            return "      –" if value is None else f"{value:7.1%}"
        lines.append(f"  {row['start'][11:16]}  {row['offered']:7d}  {row['answered']:8d}  "
                     f"{pct(row['qs30'])}  {pct(row['qs60'])}  {pct(row['abandon_rate'])}")
    if any(row.get("targets") for row in intervals):
        inside, outside = (missed(intervals, beyond_band=beyond) for beyond in (False, True))
        lines.append("  targets missed within the plan's band: "
                     + ("; ".join(inside) if inside else "none"))
        lines.append("  targets missed beyond the plan's band: "
                     + ("; ".join(outside) if outside else "none"))
    if speed > EXACT_SPEED:
        lines.append(f"  (at ×{speed:g} each millisecond the router takes is {speed / 1000:g} "
                     "simulated seconds of wait: a few points of QS 30 s in the busiest "
                     f"intervals; --speed {EXACT_SPEED:g} for the plan's own figures)")
    return "\n".join(lines)
