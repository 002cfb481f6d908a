"""``acd plan --records`` on a week whose truth is known: how long, and whether the plan
replayed on the true scenario stays within its own band.

    .venv/bin/python -m benchmarks.plan_records                  # 20 replays, seeds 1300…
    .venv/bin/python -m benchmarks.plan_records --replays 40 --first-seed 1400

Makes the week as a site would check its estimator (``acd simulate --scenario
config/scenarios/sas-large-known-truth-day.toml --fast --days 7 --records-out``),
plans its Monday with ``acd plan --records … --day 2026-03-09 --target
"qs30>=0.90" --json`` (wall clock and processor time; the week's days, played in
this process, give the machine's speed: a day's processor time), then replays the
plan on the true scenario's fast day, one seed a day none of the plan was made on (what
``acd simulate --fast --staffing-from`` prints, per day): the days within the band in
every interval, the targets missed, those missed beyond the band. The last line is
one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from acd.tools.fastday import load_day, play_day
from acd.tools.fastday.day import REPO_ROOT
from acd.tools.plan.command import PlanRequest, plan_command
from acd.tools.plan.staffed import interval_figures, missed, staffed_from
from acd.tools.simulate.command import write_records
from acd.tools.simulate.synthetic import play_history
from benchmarks.plan import cpu_seconds

TRUTH = REPO_ROOT / "config" / "scenarios" / "sas-large-known-truth-day.toml"
SITE = REPO_ROOT / "config" / "sas-large.toml"
MONDAY, SUNDAY = date(2026, 3, 9), date(2026, 3, 15)


def replay(plan_path: str, seed: int) -> dict[str, Any]:
    """One day of the true scenario on the plan's staffing, judged against the plan."""
    config, scenario = load_day(TRUTH)
    staffed = staffed_from(config, scenario, plan_path)
    day = play_day(staffed.config, staffed.scenario, seed=seed)
    rows = interval_figures(day.records, staffed.config, staffed.grid, staffed.promise,
                            day.transfers)
    beyond = missed(rows, beyond_band=True)
    return {"seed": seed, "missed": len(beyond) + len(missed(rows, beyond_band=False)),
            "beyond_band": beyond}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replays", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1300)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        week, plan_path = Path(work) / "week.jsonl", Path(work) / "plan.json"
        config, scenario = load_day(TRUTH)
        history_cpu = cpu_seconds()
        for played in play_history(config, scenario, 7):
            write_records(str(week), played.records)
        # the machine's speed, which the plan's time follows: a day in one process
        day_cpu = (cpu_seconds() - history_cpu) / 7
        print(f"week: 7 days in one process, {day_cpu:.2f} s of processor a day")
        started, cpu = time.perf_counter(), cpu_seconds()
        out, err = io.StringIO(), io.StringIO()
        status = plan_command(PlanRequest(
            targets="qs30>=0.90", records=[str(week)], config_path=str(SITE), start=MONDAY,
            end=SUNDAY, day=MONDAY, json=True), out=out, err=err)
        elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        plan_path.write_text(out.getvalue(), encoding="utf-8")
        plan = json.loads(out.getvalue())
        print(f"plan: exit {status}, {elapsed:.1f} s, {cpu:.1f} s of processor time, "
              f"{plan['days_played']} days; staff-hours {plan['staff_hours']}; "
              f"dispersion {plan['band_dispersion']}")
        seeds = range(args.first_seed, args.first_seed + args.replays)
        with ProcessPoolExecutor() as pool:
            days = list(pool.map(replay, [str(plan_path)] * len(seeds), seeds))
    for checked in days:
        print(f"seed {checked['seed']}: {checked['missed']} targets missed, beyond the "
              f"band: {'; '.join(checked['beyond_band']) or 'none'}")
    within = sum(not checked["beyond_band"] for checked in days)
    print(f"days within the band in every interval: {within} of {len(days)} (the plan "
          f"claims {plan['band_level']:.0%}); targets missed "
          f"{sum(d['missed'] for d in days)}, beyond the band "
          f"{sum(len(d['beyond_band']) for d in days)}")
    print(json.dumps({"elapsed_s": round(elapsed, 1), "cpu_s": round(cpu, 1),
                      "week_day_cpu_s": round(day_cpu, 2),
                      "days_played": plan["days_played"], "exit": status,
                      "replays": len(days), "days_within_band": within,
                      "targets_missed": sum(d["missed"] for d in days),
                      "beyond_band": sum(len(d["beyond_band"]) for d in days)}))


if __name__ == "__main__":
    main()
