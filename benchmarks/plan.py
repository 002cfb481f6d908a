"""``acd plan`` on the winter-surge day: how long, how many days played, the staff-hours
against the scenario's own, and the plan checked on a day of its own seed.

    .venv/bin/python -m benchmarks.plan                          # every day, 5 seeds
    .venv/bin/python -m benchmarks.plan --meet pooled --seeds 5 --jobs 2

Prints the plan's table, the timing, then the plan's staffing played on the
scenario's seed in one process (the figures ``acd simulate --staffing-from`` gives on
the AMI path, less its real-time noise): the intervals under the target and whether
each lies within the plan's band. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from acd.tools.fastday import load_day, play_day
from acd.tools.fastday.day import REPO_ROOT
from acd.tools.plan.measure import measure
from acd.tools.plan.model import Plan, parse_targets
from acd.tools.plan.planner import MEET, Planner, default_jobs, executor
from acd.tools.plan.render import render_text
from acd.tools.plan.staffing import grid_of, max_counts, steps_of, with_positions

SURGE = REPO_ROOT / "config" / "scenarios" / "sas-large-winter-surge-day.toml"


def check(plan: Plan, scenario_path: str, target: float) -> dict[str, Any]:
    """The plan's staffing on the scenario's own seed: intervals under ``target``."""
    config, scenario = load_day(scenario_path)
    staff = [i.staff for i in plan.intervals]
    config, _ = with_positions(config, max_counts(staff))
    grid = grid_of(scenario, config, plan.interval_s)
    day = play_day(config, scenario, staffing=steps_of(grid, staff, config))
    under, outside = [], []
    for interval, counts in zip(plan.intervals, measure(day.records, config, grid),
                                strict=True):
        if counts.qs30 is None or counts.qs30 >= target:
            continue
        label = interval.start.strftime("%H:%M")
        under.append(f"{label} {counts.qs30:.1%}")
        band = interval.qs30_band
        if band is None or counts.qs30 < band[0] - 1e-9:
            outside.append(label)
    return {"seed": scenario.seed, "qs30_day": day.summary.qs30, "under_target": under,
            "outside_band": outside}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(SURGE))
    parser.add_argument("--target", default="qs30>=0.90")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--meet", choices=MEET, default="every-day")
    parser.add_argument("--jobs", type=int, default=default_jobs())
    args = parser.parse_args()
    config, scenario = load_day(args.scenario)
    seeds = [scenario.seed + n for n in range(args.seeds)]
    started = time.perf_counter()
    with executor(args.jobs) as pool:
        plan = Planner(config, scenario, parse_targets(args.target), seeds=seeds,
                       meet=args.meet, pool=pool).plan()
    elapsed = time.perf_counter() - started
    print(render_text(plan))
    needed, planned = plan.staff_hours(), plan.planned_hours()
    print(f"plan: {elapsed:.1f} s, {plan.days_played} days played "
          f"({elapsed / plan.days_played:.2f} s a day with {args.jobs} processes)")
    qs_target = next((t.value for t in plan.targets if t.metric == "qs30"), 0.9)
    checked = check(plan, args.scenario, qs_target)
    print(f"seed {checked['seed']}: QS 30 s of the day {checked['qs30_day']:.1%}; "
          f"intervals under {qs_target:.0%}: {', '.join(checked['under_target']) or 'none'}"
          f"; outside the plan's band: {', '.join(checked['outside_band']) or 'none'}")
    print(json.dumps({"elapsed_s": round(elapsed, 1), "days_played": plan.days_played,
                      "jobs": args.jobs, "seeds": seeds, "meet": args.meet,
                      "staff_hours": needed, "planned_hours": planned,
                      "all_met": all(i.met for i in plan.intervals), "check": checked}))


if __name__ == "__main__":
    main()
