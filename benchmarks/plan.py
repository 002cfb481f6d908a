"""``acd plan`` on the winter-surge day: how long, how many days played, the staff-hours
against the scenario's own, and the plan checked on a day of its own seed.

    .venv/bin/python -m benchmarks.plan                          # every day, 5 seeds
    .venv/bin/python -m benchmarks.plan --meet pooled --seeds 5 --jobs 2
    .venv/bin/python -m benchmarks.plan --extra-seeds 0 --no-abandon-default

Prints the plan's table, the timing (wall clock, and the processor time of this
process and its workers: the figure that does not move with the machine's other
load), the scatter of the staffing between neighbouring intervals, then the plan's
staffing played on the scenario's seed in one process (the figures ``acd simulate
--staffing-from`` gives on the AMI path, less its real-time noise): the intervals
under the target and whether each lies within the plan's band. The last line is one
JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import time
from collections.abc import Sequence
from typing import Any

from acd.tools.fastday import load_day, play_day
from acd.tools.fastday.day import REPO_ROOT
from acd.tools.plan.band import within
from acd.tools.plan.measure import measure
from acd.tools.plan.model import DEFAULT_ABANDON_RATE, Plan, parse_targets
from acd.tools.plan.planner import MEET, Planner, default_jobs, executor
from acd.tools.plan.reach import value
from acd.tools.plan.render import render_text
from acd.tools.plan.staffing import grid_of, max_counts, steps_of, with_positions

SURGE = REPO_ROOT / "config" / "scenarios" / "sas-large-winter-surge-day.toml"


def check(plan: Plan, scenario_path: str, target: float) -> dict[str, Any]:
    """The plan's staffing on the scenario's own seed: intervals under ``target`` (QS
    30 s), and the targets missed beyond the plan's band."""
    config, scenario = load_day(scenario_path)
    staff = [i.staff for i in plan.intervals]
    config, _ = with_positions(config, max_counts(staff))
    grid = grid_of(scenario, config, plan.interval_s)
    day = play_day(config, scenario, staffing=steps_of(grid, staff, config))
    under, outside = [], []
    for interval, counts in zip(plan.intervals, measure(day.records, config, grid,
                                                        day.transfers), strict=True):
        label = interval.start.strftime("%H:%M")
        if counts.qs30 is not None and counts.qs30 < target:
            under.append(f"{label} {counts.qs30:.1%}")
        outside += [f"{label} {t}" for t in plan.targets
                    if not within(t, value(t, counts), interval.target_bands.get(str(t)))]
    return {"seed": scenario.seed, "qs30_day": day.summary.counts.qs30.value,
            "under_target": under, "outside_band": outside}


def scatter(plan: Plan) -> dict[str, dict[str, int]]:
    """Per role planned, between neighbouring intervals that both have calls: the
    steps (a change of staffing), the people they add up to, and the zigzags (an
    interval above or below both its neighbours)."""
    out: dict[str, dict[str, int]] = {}
    busy = [i for i in plan.intervals if i.offered]
    for role in plan.roles:
        if role in plan.kept_roles:
            continue
        counts = [i.staff.get(role, 0) for i in busy]
        steps = [b - a for a, b in itertools.pairwise(counts)]
        zigzags = sum(1 for before, after in itertools.pairwise(steps) if before * after < 0)
        out[role] = {"steps": sum(1 for d in steps if d), "people": sum(map(abs, steps)),
                     "zigzags": zigzags}
    return out


def cpu_seconds() -> float:
    """Processor time of this process and of its finished workers."""
    own, workers = (resource.getrusage(who) for who in
                    (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def extra(first: int, count: int) -> Sequence[int]:
    return [first + n for n in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(SURGE))
    parser.add_argument("--target", default="qs30>=0.90")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--meet", choices=MEET, default="every-day")
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--extra-seeds", type=int, default=3,
                        help="more seeds where a decision is close (acd plan's default)")
    parser.add_argument("--no-abandon-default", action="store_true",
                        help="no abandon_rate target unless --target gives one")
    args = parser.parse_args()
    config, scenario = load_day(args.scenario)
    seeds = [scenario.seed + n for n in range(args.seeds)]
    more = extra(scenario.seed + args.seeds, args.extra_seeds)
    started, cpu = time.perf_counter(), cpu_seconds()
    with executor(args.jobs) as pool:
        plan = Planner(config, scenario, parse_targets(args.target), seeds=seeds,
                       meet=args.meet, pool=pool, extra_seeds=more,
                       abandon_default=None if args.no_abandon_default
                       else DEFAULT_ABANDON_RATE).plan()
    elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    print(render_text(plan))
    needed, planned = plan.staff_hours(), plan.planned_hours()
    print(f"plan: {elapsed:.1f} s, {cpu:.1f} s of processor time, {plan.days_played} "
          f"days played ({elapsed / plan.days_played:.2f} s a day with {args.jobs} "
          "processes)")
    spread = scatter(plan)
    print("scatter between neighbouring intervals: " + "; ".join(
        f"{role} {s['steps']} steps, {s['people']} people, {s['zigzags']} zigzags"
        for role, s in spread.items()))
    qs_target = next((t.value for t in plan.targets if t.metric == "qs30"), 0.9)
    checked = check(plan, args.scenario, qs_target)
    print(f"seed {checked['seed']}: QS 30 s of the day {checked['qs30_day']:.1%}; "
          f"intervals under {qs_target:.0%}: {', '.join(checked['under_target']) or 'none'}"
          f"; outside the plan's band: {', '.join(checked['outside_band']) or 'none'}")
    print(json.dumps({"elapsed_s": round(elapsed, 1), "cpu_s": round(cpu, 1),
                      "days_played": plan.days_played, "scatter": spread,
                      "jobs": args.jobs, "seeds": seeds, "extra_seeds": list(more),
                      "meet": args.meet,
                      "staff_hours": needed, "planned_hours": planned,
                      "all_met": all(i.met for i in plan.intervals), "check": checked}))


if __name__ == "__main__":
    main()
