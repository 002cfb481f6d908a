"""Takeover time of an active/standby pair: SIGKILL of the leader → the standby routing.

    .venv/bin/python -m benchmarks.failover [--runs 3]

Each run plays a short scenario of the small example SAS through ``acd simulate``'s
chaos harness with two ``acd run`` processes, a private ``redis-server`` and
``leader-kill`` half-way, and measures the real seconds from the SIGKILL to the
surviving router's ``takeover_done`` log line (lock won and Status resync done). Prints
one line per run, then one JSON object. Target: under 3 s with ``[leader] ttl_s = 2``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from pathlib import Path

from acd.config.load import load_config
from acd.tools.simulate.chaos import parse_chaos
from acd.tools.simulate.chaos_run import PAIR_TTL_S, ChaosRun
from acd.tools.simulate.scenario import load_scenario
from tests.support.busyroom import write_busy_room

REPO = Path(__file__).resolve().parents[1]



async def one_run(seed: int, workdir: Path) -> tuple[float, int, int]:
    path = write_busy_room(workdir / f"scenario-{seed}.toml", name="failover benchmark",
                           duration_s=60, speed=15, seed=seed, drain_s=300)
    scenario = load_scenario(path)
    config = load_config(REPO / "config" / "sas-small.toml")
    run = ChaosRun(config, scenario, parse_chaos("leader-kill@20"), seed=seed,
                   speed=scenario.speed, workdir=workdir)
    result = await run.run()
    lost = sum(r.outcome == "lost" for r in result.records)
    return result.takeovers_s[0], len(result.routed_twice), lost


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    times: list[float] = []
    for n in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="acd-failover-") as tmp:
            seconds, twice, lost = asyncio.run(one_run(n + 1, Path(tmp)))
        times.append(seconds)
        print(f"run {n + 1}: takeover {seconds:.2f} s after SIGKILL "
              f"(routed twice: {twice}, lost: {lost})", flush=True)
    print(json.dumps({"takeover_s": {"min": min(times), "median": statistics.median(times),
                                     "max": max(times)}, "runs": len(times),
                      "ttl_s": PAIR_TTL_S, "target_s": 3.0}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
