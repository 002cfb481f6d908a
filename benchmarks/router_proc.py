"""The router as the end-to-end benchmark runs it: a process of its own, composed as
``acd run`` composes it (:func:`acd.service.main.serve`: engine, AMI connection, HTTP with
``/metrics``), on the event loop asked for, with two probes:

* the time each ``/metrics`` scrape holds the event loop: the longest piece the
  handler builds between two yields to the loop;
* the loop's lag: a 1 ms timer that notes how late each wake-up comes.

Both count from the last SIGUSR1 (the benchmark sends it when its warm-up ends).

It prints ``{"http_port": N}`` once listening; on SIGTERM it stops and prints one
JSON line: the probes, its peak RSS, and with
``--profile FILE`` writes a pyinstrument profile of the whole run (text).

    python -m benchmarks.router_proc --config site.toml --loop uvloop
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import Any

from prometheus_client.registry import Collector

from acd import logs
from acd.aiotasks import cancel_and_wait
from acd.config.load import load_config
from acd.config.secrets import ami_secret
from acd.core.ports import MetricsHost
from acd.metrics import RouterMetrics
from acd.service.main import settle_heap
from acd.testing import build_stack

LAG_INTERVAL_S = 0.001


class TimedMetrics(RouterMetrics):
    """:class:`RouterMetrics` that remembers how long the loop was held by each scrape:
    the longest of the pieces ``/metrics`` builds between two yields to the loop."""

    def __init__(self, router: MetricsHost) -> None:
        super().__init__(router)
        #: per scrape: the longest piece in wall-clock time, and in the process's CPU
        #: time (the difference is time the OS gave to other processes)
        self.render_s: list[float] = []
        self.render_cpu_s: list[float] = []
        self._longest = self._longest_cpu = 0.0

    async def render_async(self) -> bytes:
        self._longest = self._longest_cpu = 0.0
        try:
            return await super().render_async()
        finally:
            self.render_s.append(self._longest)
            self.render_cpu_s.append(self._longest_cpu)

    def render_part(self, collector: Collector) -> bytes:
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return super().render_part(collector)
        finally:
            self._longest = max(self._longest, time.perf_counter() - started)
            self._longest_cpu = max(self._longest_cpu, time.thread_time() - cpu)


async def _lag_probe(samples: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(LAG_INTERVAL_S)
        samples.append(max(0.0, loop.time() - started - LAG_INTERVAL_S))


async def run(config_path: str) -> dict[str, Any]:
    config = load_config(config_path)
    stack = build_stack(config, ami=config.ami, secret=ami_secret(config), records=False,
                        metrics=TimedMetrics)
    service = stack.service
    metrics = service.metrics
    assert isinstance(metrics, TimedMetrics)
    decisions: list[float] = []
    service.observe_decisions(decisions.append)
    store = None
    if config.redis is not None:  # persistence on: as acd.service.main.serve opens it
        store = await service.open_store(restore=False)
    http = await service.open_http()
    print(json.dumps({"http_port": http.port}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    settle_heap()  # as acd.service.main.serve does
    lags: list[float] = []

    def measure_from_now() -> None:
        """SIGUSR1: the warm-up is over; count blocks and lags from here."""
        lags.clear()
        metrics.render_s.clear()
        metrics.render_cpu_s.clear()
        if store is not None:
            store.metrics.recent_lags.clear()

    loop.add_signal_handler(signal.SIGUSR1, measure_from_now)
    tasks = [asyncio.create_task(stack.ami.run()), asyncio.create_task(_lag_probe(lags))]
    try:
        await stop.wait()
    finally:
        await stack.ami.stop()
        await cancel_and_wait(*tasks)
        await http.close()
    journal: dict[str, Any] = {}
    if store is not None:
        await store.close(5.0)
        written = sorted(store.metrics.recent_lags)
        if written:
            journal = {"journal_entries": len(written),
                       "journal_lag_p50_ms": round(written[len(written) // 2] * 1000, 3),
                       "journal_lag_p99_ms": round(
                           written[min(len(written) - 1, int(0.99 * len(written)))] * 1000, 3)}
    renders = sorted(metrics.render_s)
    return {
        "scrapes": len(renders),
        "scrape_block_max_ms": round(renders[-1] * 1000, 3) if renders else None,
        "scrape_block_p50_ms": round(renders[len(renders) // 2] * 1000, 3) if renders else None,
        "scrape_block_cpu_max_ms": round(max(metrics.render_cpu_s) * 1000, 3)
        if metrics.render_cpu_s else None,
        "loop_lag_max_ms": round(max(lags, default=0.0) * 1000, 3),
        "loop_lag_p99_ms": round(sorted(lags)[int(0.99 * (len(lags) - 1))] * 1000, 3)
        if lags else None,
        "decisions": len(decisions),
        "peak_rss_mb": peak_rss_mb(),
        "calls_left_in_engine": len(service.engine.calls),
        **journal,
    }


def peak_rss_mb() -> float:
    """This process's peak RSS since it started its program: ``VmHWM`` (``ru_maxrss``
    would also count the benchmark's memory, copied at fork, before exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile here")
    args = parser.parse_args(argv)
    # the production log lines, at the production level, to nowhere: their cost counts
    sink = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as we do
    logs.configure(sink, level=logging.INFO)
    profiler: Any = None
    if args.profile is not None:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
    if args.loop == "uvloop":
        import uvloop

        result = uvloop.run(run(args.config))
    else:
        result = asyncio.run(run(args.config))
    if profiler is not None:
        profiler.stop()
        args.profile.write_text(profiler.output_text(unicode=True, show_all=False))
    result["loop"] = args.loop
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
