"""The router's routing beside app_queue's best configuration, on one day or on the
suite of comparison days (:mod:`acd.tools.plan.suite`), and how long it takes.

    .venv/bin/python -m benchmarks.policies --suite              # every comparison day
    .venv/bin/python -m benchmarks.policies                      # the winter-surge day
    .venv/bin/python -m benchmarks.policies --seeds 1 2 --hours 4
    .venv/bin/python -m benchmarks.policies --scenario config/scenarios/\\
        sas-large-transfers-morning.toml --staffing ARM_N1=2,AMU_N2=1,OSNP=2,MG=3

Every policy plays the scenario with the same staffing on the same seeds. Prints the
comparison table(s), the time taken, then one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from typing import Any

import msgspec

from acd import logs
from acd.tools.fastday import load_day
from acd.tools.fastday.day import REPO_ROOT
from acd.tools.plan.jsonout import comparison_json
from acd.tools.plan.planner import default_jobs, executor
from acd.tools.plan.policies import compare_policies, render_comparison
from acd.tools.plan.suite import SUITE, compare_suite, render_suite, suite_json
from acd.tools.simulate.scenario import StaffingStep

SURGE = REPO_ROOT / "config" / "scenarios" / "sas-large-winter-surge-day.toml"


def run(scenario_path: str, seeds: list[int], hours: float | None,
        staffing: dict[str, int] | None = None) -> dict[str, Any]:
    config, scenario = load_day(scenario_path)
    if staffing is not None:
        scenario = msgspec.structs.replace(
            scenario, staffing=[StaffingStep(at="00:00", counts=staffing)])
    if hours is not None:
        scenario = msgspec.structs.replace(scenario, duration_s=int(hours * 3600))
    started = time.perf_counter()
    with executor(default_jobs()) as pool:
        comparison = compare_policies(config, scenario, seeds=seeds, pool=pool)
    total = round(time.perf_counter() - started, 2)
    print(render_comparison(comparison))
    print(f"{total:.1f} s for {len(seeds)} seeds × (3 router variants + 24 app_queue "
          "configurations)")
    return {"scenario": str(scenario_path), "seeds": seeds, "total_s": total,
            **comparison_json(comparison)}


def run_suite(seeds: int) -> dict[str, Any]:
    started = time.perf_counter()
    with executor(default_jobs()) as pool:
        days = compare_suite(SUITE, seeds=seeds, pool=pool)
    total = round(time.perf_counter() - started, 2)
    print(render_suite(days))
    print(f"{total:.1f} s for {len(days)} days × {seeds} seeds × (3 router variants + 24 "
          "app_queue configurations)")
    return {"suite": list(SUITE), "seeds": seeds, "total_s": total,
            "days": suite_json(days)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suite", action="store_true",
                        help="every comparison day, each with its own staffing")
    parser.add_argument("--scenario", default=str(SURGE))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1555, 1556, 1557],
                        help="seeds (with --suite: how many per day, from its own)")
    parser.add_argument("--hours", type=float, default=None,
                        help="play only the first HOURS of the scenario")
    parser.add_argument("--staffing", metavar="ROLE=N,…",
                        help="instead of the scenario's staffing, these people all along "
                             "(e.g. ARM_N1=2,AMU_N2=1,OSNP=2,MG=3)")
    args = parser.parse_args()
    logs.configure(None, level=logging.ERROR)
    if args.suite:
        count = args.seeds[0] if args.seeds != [1555, 1556, 1557] else 3
        print(json.dumps(run_suite(count)))
        return
    staffing = None
    if args.staffing:
        staffing = {role: int(n) for role, n in
                    (part.split("=") for part in args.staffing.split(","))}
    print(json.dumps(run(args.scenario, args.seeds, args.hours, staffing)))


if __name__ == "__main__":
    main()
