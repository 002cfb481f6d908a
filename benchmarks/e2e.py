"""End to end: announcement on the AMI socket → the router's Redirect back, under a
sustained arrival rate, with the full Asterisk event mix.

This process runs the PBX simulator (uvloop, real time, ``full_event_mix``: VarSet,
Newexten, LocalBridge… as the recordings show) and places calls at a constant rate;
the router runs in a process of its own (:mod:`benchmarks.router_proc`), connected over
loopback TCP exactly as to Asterisk. For each call the simulator notes (real clock,
in this process) when it wrote the ``AcdCallWaiting`` announcement and when the
router's Redirect to an agent took effect (``AcdConnecting``; the Setvar before it
included): the difference is the figure. ``/metrics`` is scraped every 0.25 s during
the run; the router process reports how long each scrape held its loop, and its
loop's worst lag.

Each call: agent answers 0.2 s after the offer, talks 1 s; 500 agents logged in, so
agent capacity is never the limit. The first second of each run is warm-up and is
left out of the percentiles and of the router's probes (never out of ``calls_lost``).

Variants (:data:`VARIANTS`): the router's event loop, and persistence on (a store on
a ``redis-server`` of the run's own, written behind the router as in production; the
router process then also reports the journal's lag: fact → Redis acknowledging it).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import os
import random
import secrets
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from acd.config.load import parse_config
from acd.sim import FixedBehaviour, OfferOutcome
from acd.sim.control import CallTracker
from acd.sim.options import PbxOptions
from acd.sim.server import start_sim
from acd.tools.simulate.redis_process import RedisProcess

ROOT = Path(__file__).resolve().parents[1]
AGENTS = 500
WARM_UP_S = 1.0
SCRAPE_EVERY_S = 0.25
NUMBERS = (("15", 1000), ("116117", 150), ("0320334455", 50))


@dataclass(frozen=True)
class Variant:
    """How the router process runs."""

    loop: str = "uvloop"
    #: journal to Redis (issue 6's ``acd/store``): not available in this build
    persistence: bool = False

    @property
    def label(self) -> str:
        return self.loop + (" + persistence" if self.persistence else "")


def persistence_variants() -> list[Variant]:
    """Router variants with persistence on (needs ``redis-server`` on this machine)."""
    return [Variant("uvloop", persistence=True)] if shutil.which("redis-server") else []


VARIANTS: list[Variant] = [Variant("uvloop"), Variant("asyncio"), *persistence_variants()]


def site_text(ami_port: int, variant: Variant, redis_url: str | None = None) -> str:
    """The benchmark site: one front-office queue, every number reaching it; with
    ``redis_url`` (persistence on) a ``[redis]`` section of the benchmark's own."""
    lines = ['[site]\nname = "bench e2e"\ndepartement = "59"\ntimezone = "Europe/Paris"\n',
             f'[ami]\nhost = "127.0.0.1"\nport = {ami_port}\nusername = "acd"\n',
             '[http]\nbind = "127.0.0.1"\nport = 0\n',
             '[skills.ARM_N1]\nwrap_up_s = 0.0\n',
             *(f'[numbers."{n}"]\nqueue = "ARM_N1"\n' for n, _ in NUMBERS)]
    if redis_url is not None:
        lines.append(f'[redis]\nurl = "{redis_url}"\nnamespace = "bench-e2e"\n')
    for n in range(AGENTS):
        lines.append(f'[[agents]]\nid = "{3001 + n}"\ndevice = "Local/{3001 + n}@agents"\n'
                     "skills = { ARM_N1 = 1 }\nlogged_in = true\n")
    return "\n".join(lines)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def _lag_probe(samples: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(0.001)
        samples.append(max(0.0, loop.time() - started - 0.001))


async def _scrape(url: str, stop: asyncio.Event, count: list[int]) -> None:
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            async with session.get(url) as response:
                await response.read()
                count[0] += response.status == 200
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SCRAPE_EVERY_S)


async def run_rate(rate: float, duration_s: float, variant: Variant,
                   profile: Path | None = None, drain_s: float = 10.0) -> dict[str, Any]:
    """One run: ``rate`` new calls a second for ``duration_s`` seconds."""
    secret = secrets.token_urlsafe(12)
    behaviour = FixedBehaviour(OfferOutcome(answer_after_s=0.2, talk_s=1.0))
    redis = RedisProcess() if variant.persistence else None
    if redis is not None:
        redis.start()
    with tempfile.TemporaryDirectory(prefix="acd-bench-") as tmp, \
            contextlib.ExitStack() as cleanup:
        if redis is not None:
            cleanup.callback(redis.close)
        sim_config = parse_config(site_text(5038, variant).encode(), "bench-site.toml")
        sim = await start_sim(sim_config, secret=secret, behaviour=behaviour,
                              options=PbxOptions(full_event_mix=True))
        tracker = CallTracker(sim.pbx)
        site = _write(Path(tmp, "site.toml"),
                      site_text(sim.port, variant, redis.url if redis is not None else None))
        argv = ["-m", "benchmarks.router_proc", "--config", str(site), "--loop", variant.loop]
        if profile is not None:
            argv += ["--profile", str(profile)]
        env = {**os.environ, "ACD_AMI_SECRET": secret, "PYTHONPATH": str(ROOT)}
        proc = await asyncio.create_subprocess_exec(sys.executable, *argv, env=env, cwd=ROOT,
                                                    stdout=asyncio.subprocess.PIPE)
        assert proc.stdout is not None
        out = b""
        try:
            async with asyncio.timeout(20):
                first = await proc.stdout.readline()
            http_port = int(json.loads(first)["http_port"])
            await _until(lambda: sim.wire.logins > 0 and sim.actions.counts.get("Status", 0) > 0,
                         10.0)
            await asyncio.sleep(0.3)  # the resync answer reaches the router
            events_before = sim.wire.events_sent
            stop_scraping = asyncio.Event()
            scrapes = [0]
            scraper = asyncio.create_task(_scrape(f"http://127.0.0.1:{http_port}/metrics",
                                                  stop_scraping, scrapes))
            loop = asyncio.get_running_loop()
            loop.call_later(WARM_UP_S, proc.send_signal, signal.SIGUSR1)
            sim_lags: list[float] = []
            probe = asyncio.create_task(_lag_probe(sim_lags))
            # the simulator is the measuring instrument: no collection pauses in it
            # while it measures (its calls and channels pile up for the whole run)
            gc.collect()
            gc.disable()
            try:
                placed, measured_from = await _place(sim.pbx, tracker, rate, duration_s)
                await _until(lambda: tracker.counts["ended"] >= len(placed), drain_s)
            finally:
                gc.enable()
                probe.cancel()
            stop_scraping.set()
            await scraper
            events = sim.wire.events_sent - events_before
        finally:
            if proc.returncode is None:
                proc.terminate()
            async with asyncio.timeout(30):
                out = await proc.stdout.read()
                await proc.wait()
            await sim.close()
        lines = out.decode().strip().splitlines()
        router: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    calls = [tracker.calls[k] for k in placed]
    lost = sum(1 for c in calls if c.routed_at is None or c.outcome == "dropped")
    route = [(c.routed_at - c.announced_at) * 1000 for c in calls
             if c.routed_at is not None and c.announced_at is not None
             and c.announced_at >= measured_from]
    return {
        "rate": rate, "variant": variant.label, "calls": len(calls), "calls_lost": lost,
        "events": events, "events_per_call": round(events / max(len(calls), 1), 1),
        "events_per_s": round(events / duration_s),
        "announce_to_redirect_p50_ms": _round(_pct(route, 0.50)),
        "announce_to_redirect_p99_ms": _round(_pct(route, 0.99)),
        "announce_to_redirect_max_ms": _round(max(route, default=None)),
        "sim_loop_lag_max_ms": round(max(sim_lags, default=0.0) * 1000, 3),
        "scrapes": scrapes[0], "scrape_block_max_ms": router.get("scrape_block_max_ms"),
        "scrape_block_cpu_max_ms": router.get("scrape_block_cpu_max_ms"),
        "loop_lag_max_ms": router.get("loop_lag_max_ms"),
        "router_peak_rss_mb": router.get("peak_rss_mb"),
        "journal_lag_p50_ms": router.get("journal_lag_p50_ms"),
        "journal_lag_p99_ms": router.get("journal_lag_p99_ms"),
        "journal_entries": router.get("journal_entries"),
    }


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


async def _until(check: Any, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not check() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


async def _place(pbx: Any, tracker: CallTracker, rate: float,
                 duration_s: float) -> tuple[list[str], float]:
    """Place calls every 1/rate s on the loop's clock; returns their ids and the real
    time after which announcements count (the warm-up is over)."""
    rng = random.Random(7)
    numbers = [n for n, _ in NUMBERS]
    weights = [w for _, w in NUMBERS]
    loop = asyncio.get_running_loop()
    ids: list[str] = []
    total = int(rate * duration_s)
    start = loop.time()
    measured_from = time.time() + WARM_UP_S

    def place() -> None:
        call = pbx.place_call(rng.choices(numbers, weights)[0], "Banc d'essai",
                              "0600000000", 600)
        ids.append(tracker.track(call).id)

    for k in range(total):
        loop.call_at(start + k / rate, place)
    await asyncio.sleep(duration_s + 0.05)
    return ids, measured_from
