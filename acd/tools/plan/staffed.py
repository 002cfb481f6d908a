"""``acd simulate --staffing-from PLAN.json``: a scenario played with a plan's staffing,
and its figures per interval of the plan (to check the plan on the AMI path)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from acd.config import Config
from acd.core.records import CallRecord
from acd.tools.plan.measure import measure
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


def staffed_from(config: Config, scenario: Scenario, path: str | Path
                 ) -> tuple[Config, Scenario, Grid]:
    """The site with the positions the plan needs, the scenario with the plan's
    staffing instead of its own, and the plan's intervals over the scenario."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlanInputError(f"{path}: cannot read ({exc.strerror})") from exc
    except ValueError as exc:
        raise PlanInputError(f"{path}: not JSON ({exc})") from exc
    steps = steps_from_plan(data, config, str(path))
    interval_s = data.get("interval_s") if isinstance(data, dict) else None
    if not isinstance(interval_s, int) or interval_s <= 0:
        interval_s = 1800
    config, _ = with_positions(config, max_counts(step.counts for step in steps))
    scenario = msgspec.structs.replace(scenario, staffing=steps)
    return config, scenario, grid_of(scenario, config, interval_s)


def interval_figures(records: list[CallRecord], config: Config, grid: Grid
                     ) -> list[dict[str, Any]]:
    """Per interval: the front-office calls arriving in it, answered, QS 30 s and
    QS 60 s (answered in under 30 s / 60 s over answered) and the abandon rate."""
    out: list[dict[str, Any]] = []
    for start, counts in zip(grid.starts, measure(records, config, grid), strict=True):
        out.append({
            "start": interval_label(start, config).isoformat(),
            "offered": counts.offered, "answered": counts.answered,
            "qs30": None if counts.qs30 is None else round(counts.qs30, 4),
            "qs60": None if counts.qs60 is None else round(counts.qs60, 4),
            "abandon_rate": (None if counts.abandon_rate is None
                             else round(counts.abandon_rate, 4)),
        })
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
    if speed > EXACT_SPEED:
        lines.append(f"  (at ×{speed:g} each millisecond the router takes is {speed / 1000:g} "
                     "simulated seconds of wait: a few points of QS 30 s in the busiest "
                     f"intervals; --speed {EXACT_SPEED:g} for the plan's own figures)")
    return "\n".join(lines)
