"""The fast simulated day (:mod:`acd.tools.fastday`): its speed, and how it compares
with ``acd simulate`` (the AMI path over loopback TCP).

    .venv/bin/python -m benchmarks.fastday              # timing of the winter-surge day
    .venv/bin/python -m benchmarks.fastday --compare 5  # + both paths over 5 seeds

Timing: the whole ``sas-large-winter-surge-day`` scenario, played ``--repeat`` times
in this process (the median and the best, and per call; wall clock and processor time,
the figure a shared machine's other work moves least). Comparison: for each
scenario (shortened to ``--duration`` seconds), the same seeds through both paths;
offered, answered and QS 30 s at N1 side by side. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import time
from typing import Any

import msgspec

from acd import logs
from acd.tools.fastday import load_day, play_day
from acd.tools.fastday.day import REPO_ROOT
from acd.tools.simulate.run import run_scenario
from acd.tools.summary import Summary

SCENARIOS = REPO_ROOT / "config" / "scenarios"
SURGE = SCENARIOS / "sas-large-winter-surge-day.toml"
COMPARED = ("sas-large-morning-peak.toml", "sas-large-transfers-morning.toml",
            "sas-small-saturday-116117.toml")


def timing(repeat: int) -> dict[str, Any]:
    config, scenario = load_day(SURGE)
    times: list[float] = []
    processor: list[float] = []  # what the machine's other work does not move
    calls = 0
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        result = play_day(config, scenario)
        times.append(time.perf_counter() - started)
        processor.append(time.process_time() - cpu)
        calls = result.calls_placed
    median = statistics.median(times)
    cpu_median = statistics.median(processor)
    print(f"winter-surge day: {calls} calls, median {median:.2f} s, best {min(times):.2f} s "
          f"over {repeat} runs, {median / calls * 1e3:.2f} ms per call; processor median "
          f"{cpu_median:.2f} s, best {min(processor):.2f} s")
    return {"calls": calls, "median_s": round(median, 3), "best_s": round(min(times), 3),
            "ms_per_call": round(median / calls * 1e3, 3),
            "cpu_median_s": round(cpu_median, 3), "cpu_best_s": round(min(processor), 3)}


def compare(names: list[str], seeds: int, duration_s: float, speed: float,
            hour: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        config, scenario = load_day(SCENARIOS / name)
        scenario = msgspec.structs.replace(scenario, duration_s=duration_s)
        if hour is not None:
            scenario = msgspec.structs.replace(scenario,
                                               start=scenario.start.replace(hour=hour))
        rows = []
        for seed in range(1, seeds + 1):
            fast = play_day(config, scenario, seed=seed).summary
            ami = asyncio.run(run_scenario(config, scenario, seed=seed, speed=speed)).summary
            rows.append({"seed": seed, "fast": _figures(fast), "ami": _figures(ami)})
            print(f"{name} seed {seed}: fast {_figures(fast)}  ami {_figures(ami)}")
        out[name] = rows
    return out


def _figures(summary: Summary) -> dict[str, Any]:
    counts = summary.counts
    qs = counts.qs30.value  # at N1: the front office's first pick-ups
    return {"offered": counts.offered, "answered": counts.answered,
            "qs30_n1": None if qs is None else round(qs, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--compare", type=int, default=0, metavar="SEEDS")
    parser.add_argument("--duration", type=float, default=3600.0)
    parser.add_argument("--speed", type=float, default=300.0)
    parser.add_argument("--scenario", action="append", default=[],
                        help="a file of config/scenarios to compare (repeatable)")
    parser.add_argument("--hour", type=int, default=None, help="start at this hour")
    args = parser.parse_args()
    logs.configure(None, level=logging.ERROR)
    result: dict[str, Any] = {"timing": timing(args.repeat)}
    if args.compare:
        result["compare"] = compare(args.scenario or list(COMPARED), args.compare,
                                    args.duration, args.speed, args.hour)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
