"""Routing latency with no console open and with fifty: do open consoles cost the
routing anything measurable?

    .venv/bin/python -m benchmarks.console [--consoles 50] [--rate 20] [--duration 10]
                                            [--agents 60] [--rounds 2]

Each run starts ``acd run`` as a process of its own (with an API tokens file, as a
site runs it) against the PBX simulator in this process (real time, the full Asterisk
event mix), as :mod:`benchmarks.e2e` does; with consoles, a third process
(:mod:`benchmarks.console_clients`) opens them as a browser does (page, assets, token
typed once, then the ``room`` stream with the session cookie) and reads every byte
until the run ends. Calls are placed at a constant rate; the figure is the time from the
simulator writing a call's ``AcdCallWaiting`` announcement to the router's Redirect
taking effect, per call (p50, p99, max), the first second left out. Agents answer
0.2 s after the offer and talk 1 s, so agents are never the limit and the room keeps
changing: the consoles get a new view of it at every 0.25 s. Runs alternate (no
console, consoles, no console…) so that a drift of the shared machine shows. The
consoles' process runs at the lowest priority (``nice 19``): in a room the browsers are
other machines, and their reading must not take this machine's cores from the router.
Also reported: the router process's CPU time per second of calls (``/proc``), which
says what the consoles cost it whatever the neighbours do.
Prints one line per run, then one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from acd.config.load import parse_config
from acd.sim import FixedBehaviour, OfferOutcome
from acd.sim.control import CallTracker
from acd.sim.options import PbxOptions
from acd.sim.pbx import Pbx
from acd.sim.server import start_sim
from acd.tools.simulate.redis_process import free_port

ROOT = Path(__file__).resolve().parents[1]
WARM_UP_S = 1.0


def site_text(ami_port: int, http_port: int, tokens: Path, agents: int) -> str:
    lines = ['[site]\nname = "bench console"\ndepartement = "59"\n',
             f'[ami]\nhost = "127.0.0.1"\nport = {ami_port}\nusername = "acd"\n',
             f'[http]\nbind = "127.0.0.1"\nport = {http_port}\n',
             f'[api]\ntokens_file = "{tokens}"\n',
             '[skills.ARM_N1]\nwrap_up_s = 0.0\n',
             '[numbers."15"]\nqueue = "ARM_N1"\n']
    for n in range(agents):
        lines.append(f'[[agents]]\nid = "{3001 + n}"\ndevice = "Local/{3001 + n}@agents"\n'
                     "skills = { ARM_N1 = 1 }\nlogged_in = true\n")
    return "\n".join(lines)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))], 3)


async def healthy(url: str, within_s: float = 20.0) -> None:
    async with aiohttp.ClientSession() as http, asyncio.timeout(within_s):
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)


async def stop(process: asyncio.subprocess.Process) -> bytes:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(30):
        out, _ = await process.communicate()
    return out or b""


async def place(pbx: Pbx, tracker: CallTracker, rate: float,
                duration_s: float) -> tuple[list[str], float]:
    """Calls every 1/rate s; their ids, and the real time after which they count."""
    loop = asyncio.get_running_loop()
    ids: list[str] = []
    start = loop.time()
    measured_from = time.time() + WARM_UP_S

    def one() -> None:
        ids.append(tracker.track(pbx.place_call("15", "Banc console", "0600000000",
                                                600)).id)

    for k in range(int(rate * duration_s)):
        loop.call_at(start + k / rate, one)
    await asyncio.sleep(duration_s + 0.05)
    return ids, measured_from


async def run_once(consoles: int, *, rate: float, duration_s: float,
                   agents: int) -> dict[str, Any]:
    secret, token = secrets.token_urlsafe(12), secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="acd-bench-console-") as tmp:
        tokens = write(Path(tmp, "tokens.toml"),
                       f'["{token}"]\nrole = "supervisor"\nname = "bench"\n')
        sim = await start_sim(parse_config(site_text(5038, 0, tokens, agents).encode()),
                              secret=secret, options=PbxOptions(full_event_mix=True),
                              behaviour=FixedBehaviour(OfferOutcome(answer_after_s=0.2,
                                                                    talk_s=1.0)))
        tracker = CallTracker(sim.pbx)
        http_port = free_port()
        site = write(Path(tmp, "site.toml"), site_text(sim.port, http_port, tokens, agents))
        env = {**os.environ, "ACD_AMI_SECRET": secret, "PYTHONPATH": str(ROOT)}
        router = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "acd.cli", "run", "--config", str(site), env=env,
            cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        clients = None
        client_figures: dict[str, Any] = {}
        try:
            base = f"http://127.0.0.1:{http_port}"
            await healthy(base + "/healthz")
            if consoles:
                clients = await asyncio.create_subprocess_exec(
                    "nice", "-n", "19", sys.executable, "-m", "benchmarks.console_clients",
                    "--base", base,
                    "--token", token, "--consoles", str(consoles), env=env, cwd=ROOT,
                    stdout=asyncio.subprocess.PIPE)
                assert clients.stdout is not None
                async with asyncio.timeout(60):
                    ready = json.loads(await clients.stdout.readline())
                assert ready == {"ready": consoles}
            await asyncio.sleep(1.0)
            gc.collect()
            gc.disable()  # the simulator measures: no collection pause in it
            cpu_before = cpu_seconds(router.pid)
            try:
                placed, measured_from = await place(sim.pbx, tracker, rate, duration_s)
                router_cpu = cpu_seconds(router.pid) - cpu_before
                async with asyncio.timeout(15):
                    while tracker.counts["ended"] < len(placed):
                        await asyncio.sleep(0.05)
            finally:
                gc.enable()
            if clients is not None:
                lines = (await stop(clients)).decode().strip().splitlines()
                client_figures = json.loads(lines[-1]) if lines else {}
        finally:
            if clients is not None and clients.returncode is None:
                clients.kill()
                await clients.wait()
            await stop(router)
            await sim.close()
    calls = [tracker.calls[k] for k in placed]
    route = [(c.routed_at - c.announced_at) * 1000 for c in calls
             if c.routed_at is not None and c.announced_at is not None
             and c.announced_at >= measured_from]
    return {"consoles": consoles, "calls": len(calls),
            "calls_lost": sum(1 for c in calls if c.routed_at is None
                              or c.outcome == "dropped"),
            "route_p50_ms": percentile(route, 0.50), "route_p99_ms": percentile(route, 0.99),
            "route_max_ms": round(max(route), 3) if route else None,
            "router_cpu_ms_per_s": round(router_cpu / duration_s * 1000, 1),
            "room_views_per_console": client_figures.get("rooms_min"),
            "console_mb_read": round(client_figures.get("bytes_read", 0) / 1e6, 1)}


def line(result: dict[str, Any]) -> str:
    return (f"{result['consoles']:>3} consoles: {result['calls']} calls, lost "
            f"{result['calls_lost']}; announcement → Redirect p50 {result['route_p50_ms']} "
            f"ms, p99 {result['route_p99_ms']} ms, max {result['route_max_ms']} ms; "
            f"router CPU {result['router_cpu_ms_per_s']} ms/s; "
            f"room views per console {result['room_views_per_console']}, "
            f"{result['console_mb_read']} MB read by the consoles")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--consoles", type=int, default=50)
    parser.add_argument("--rate", type=float, default=20.0, help="new calls a second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of calls")
    parser.add_argument("--agents", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2,
                        help="pairs of runs (no console, then consoles)")
    args = parser.parse_args(argv)
    results = []
    for _ in range(args.rounds):
        for consoles in (0, args.consoles):
            result = asyncio.run(run_once(consoles, rate=args.rate,
                                          duration_s=args.duration, agents=args.agents))
            print(line(result), flush=True)
            results.append(result)

    def worst(consoles: int, key: str) -> float | None:
        values = [r[key] for r in results if r["consoles"] == consoles and r[key] is not None]
        return max(values) if values else None

    summary = {"rate": args.rate, "duration_s": args.duration, "agents": args.agents,
               "runs": results,
               **{f"route_{q}_ms_{n}_consoles": worst(n, f"route_{q}_ms")
                  for n in (0, args.consoles) for q in ("p50", "p99", "max")},
               **{f"router_cpu_ms_per_s_{n}_consoles": worst(n, "router_cpu_ms_per_s")
                  for n in (0, args.consoles)}}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
