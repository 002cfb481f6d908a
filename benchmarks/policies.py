"""The engine's routing beside app_queue's strategies on a whole day
(:func:`acd.tools.plan.policies.compare_policies`), and how long it takes.

    .venv/bin/python -m benchmarks.policies                     # the winter-surge day
    .venv/bin/python -m benchmarks.policies --seeds 1 2 --hours 4
    .venv/bin/python -m benchmarks.policies --scenario config/scenarios/\
        sas-large-transfers-morning.toml --staffing ARM_N1=2,AMU_N2=1,OSNP=2,MG=3

Every policy plays the scenario with its own staffing on the same seeds. Prints the
comparison table, the time per policy and in all, then one JSON object.
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
from acd.tools.fastday.appqueue import POLICIES
from acd.tools.fastday.day import REPO_ROOT
from acd.tools.plan.model import PolicyComparison
from acd.tools.plan.policies import compare_policies, render_comparison
from acd.tools.scenario import StaffingStep

SURGE = REPO_ROOT / "config" / "scenarios" / "sas-large-winter-surge-day.toml"


def run(scenario_path: str, seeds: list[int], hours: float | None,
        staffing: dict[str, int] | None = None) -> dict[str, Any]:
    config, scenario = load_day(scenario_path)
    if staffing is not None:
        scenario = msgspec.structs.replace(
            scenario, staffing=[StaffingStep(at="00:00", counts=staffing)])
    if hours is not None:
        scenario = msgspec.structs.replace(scenario, duration_s=int(hours * 3600))
    results = []
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    for policy in POLICIES:
        at = time.perf_counter()
        one = compare_policies(config, scenario, seeds=seeds, policies=[policy])
        seconds[policy] = round(time.perf_counter() - at, 2)
        results.extend(one.results)
    total = round(time.perf_counter() - started, 2)
    comparison = PolicyComparison(seeds=list(seeds), results=results)
    print(render_comparison(comparison))
    print("seconds per policy ({} days each): {}; in all {:.1f} s".format(
        len(seeds), ", ".join(f"{p} {s:.1f}" for p, s in seconds.items()), total))
    return {"scenario": str(scenario_path), "seeds": seeds, "seconds": seconds,
            "total_s": total, "results": [msgspec.to_builtins(r) for r in results]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default=str(SURGE))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1555, 1556, 1557])
    parser.add_argument("--hours", type=float, default=None,
                        help="play only the first HOURS of the scenario")
    parser.add_argument("--staffing", metavar="ROLE=N,…",
                        help="instead of the scenario's staffing, these people all along "
                             "(e.g. ARM_N1=2,AMU_N2=1,OSNP=2,MG=3)")
    args = parser.parse_args()
    staffing = None
    if args.staffing:
        staffing = {role: int(n) for role, n in
                    (part.split("=") for part in args.staffing.split(","))}
    logs.configure(None, level=logging.ERROR)
    print(json.dumps(run(args.scenario, args.seeds, args.hours, staffing)))


if __name__ == "__main__":
    main()
