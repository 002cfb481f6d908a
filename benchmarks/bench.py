"""Benchmarks of the hot path, on the same bytes for every stage.

The stream is the recorded ``10-burst-50-calls`` transcript (real Asterisk 22 traffic:
about 123 events per call, 30 % VarSet, 26 % Newexten, ~18 headers per event),
repeated; each repetition re-announces the same 50 calls, so the engine routes them
again. Numbers vary with the machine: compare ratios measured in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import json
import logging
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from acd import logs
from acd.ami.client import AmiProtocol
from acd.ami.events import AmiEvent
from acd.ami.frames import FrameReader, parse_frame
from acd.ami.userevents import UserEventDecoder
from acd.config import Config
from acd.config.load import parse_config
from acd.core import inputs as i
from acd.core.engine import Engine
from acd.core.routing import pick_call

TRANSCRIPT = (Path(os.environ.get("ACD_TRANSCRIPTS") or
                   Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "ami" / "recorded")
              / "10-burst-50-calls.events.ami")
READ_SIZE = 65536


def load_stream(repeats: int) -> tuple[bytes, int]:
    data = TRANSCRIPT.read_bytes()
    banner, _, body = data.partition(b"\r\n")
    _login_response, _, body = body.partition(b"\r\n\r\n")  # the recorder's own Login
    events = body.count(b"\r\n\r\n")
    return banner + b"\r\n" + body * repeats, events * repeats


def chunks(data: bytes) -> list[bytes]:
    return [data[i:i + READ_SIZE] for i in range(0, len(data), READ_SIZE)]


def best_of(runs: int, job: Callable[[], float]) -> float:
    return min(job() for _ in range(runs))


def bench_framer(pieces: list[bytes]) -> float:
    """Bytes in, one mapping of all headers per message out: nothing skipped."""
    start = time.perf_counter()
    reader = FrameReader()
    for piece in pieces:
        for frame in reader.feed(piece):
            parse_frame(frame)
    return time.perf_counter() - start


def bench_panoramisk(pieces: list[bytes]) -> float:
    """panoramisk's own receive path: its parser, its dicts, a callback per event."""
    from panoramisk import Manager
    from panoramisk.ami_protocol import AMIProtocol

    class NullTransport:
        def write(self, data: bytes) -> None:
            pass

        def close(self) -> None:
            pass

    seen = [0]
    manager = Manager(loop=asyncio.new_event_loop())
    manager.callbacks.clear()  # its own FullyBooted handler would schedule tasks
    manager.patterns.clear()
    manager.register_event("*", lambda _m, _e: seen.__setitem__(0, seen[0] + 1))
    protocol = AMIProtocol()
    protocol.connection_made(NullTransport())
    protocol.factory = manager
    protocol.encoding = "utf8"
    start = time.perf_counter()
    for piece in pieces:
        protocol.data_received(piece)
    elapsed = time.perf_counter() - start
    manager.loop.close()
    return elapsed


def site(agents: int, waiting_skills: int = 4) -> Config:
    skills = ["ARM_N1", "AMU_N2", "OSNP", "MG"][:waiting_skills]
    lines = ['[site]\nname = "bench"\ndepartement = "59"\n',
             "[skills.ARM_N1]\nwrap_up_s = 0\n[skills.AMU_N2]\nwrap_up_s = 0\n"
             "[skills.OSNP]\nwrap_up_s = 0\n[skills.MG]\nwrap_up_s = 0\n"]
    for n in range(agents):
        primary = skills[n % len(skills)]
        backup = skills[(n + 1) % len(skills)]
        lines.append(f'[[agents]]\nid = "a{n}"\ndevice = "Local/{1001 + n}@agents"\n'
                     f"skills = {{ {primary} = 1, {backup} = 2 }}\nlogged_in = true\n")
    return parse_config("\n".join(lines).encode())


async def _ingest(data: bytes, config: Config) -> tuple[float, int, int]:
    """Loopback TCP → our protocol → framing → typed events → engine (routing on)."""
    engine = Engine(config)
    engine.handle(i.ChannelsSnapshot([], taken_at=0.0), 0.0)
    counts = [0, 0]
    now = [0.0]

    def on_event(event: AmiEvent) -> None:
        if event.timestamp is not None:
            now[0] = event.timestamp
        out = engine.handle(event, now[0])
        counts[1] += len(out.commands)

    elapsed, counts[0] = await feed_over_tcp(data, on_event,
                                             decoder=UserEventDecoder(config.dialplan))
    return elapsed, counts[0], counts[1]


async def feed_over_tcp(data: bytes, on_event: Callable[[AmiEvent], None], *,
                        decoder: UserEventDecoder, rate: float = 0.0) -> tuple[float, int]:
    """Serve ``data`` on a loopback socket to our AMI protocol feeding ``on_event``
    (at once, or paced to ``rate`` events a second), the UserEvents typed by
    ``decoder``; seconds taken, events received."""
    done = asyncio.get_running_loop().create_future()

    async def serve(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if rate <= 0:
            writer.write(data)
        else:
            per_event = len(data) / max(1, data.count(b"\r\n\r\n"))
            step = max(1, int(per_event * rate / 100))  # 100 writes a second
            began = time.perf_counter()
            for n, offset in enumerate(range(0, len(data), step)):
                writer.write(data[offset:offset + step])
                await writer.drain()
                await asyncio.sleep(max(0.0, began + (n + 1) / 100 - time.perf_counter()))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    _, protocol = await loop.create_connection(
        lambda: AmiProtocol(on_event, lambda _exc: done.set_result(None),
                            decoder=decoder), "127.0.0.1", port)
    await done
    elapsed = time.perf_counter() - start
    server.close()
    return elapsed, protocol.events_received


def bench_ingest(data: bytes, config: Config, use_uvloop: bool) -> tuple[float, int, int]:
    if use_uvloop:
        import uvloop

        return uvloop.run(_ingest(data, config))
    return asyncio.run(_ingest(data, config))


def bench_decisions(samples: int) -> dict[str, float]:
    """1,000 waiting calls, 500 busy agents over 4 skills with backup levels; each
    sample frees one agent (its caller hangs up) and times the decision alone
    (pick_call) and the whole engine step that ends the call and offers the next."""
    from acd.ami import events as ev
    from acd.ami import userevents as ue

    engine = Engine(site(500))
    now = 10_000.0
    engine.handle(i.ChannelsSnapshot([], taken_at=0.0), now)
    skills = ["ARM_N1", "AMU_N2", "OSNP", "MG"]
    seq = [0]

    def arrive(at: float) -> None:
        seq[0] += 1
        n = seq[0]
        engine.handle(ue.CallWaiting(channel=f"PJSIP/t-{n}", uniqueid=f"c{n}",
                                     name="AcdCallWaiting", number="15",
                                     queue=skills[n % 4], priority=n % 10), at)

    def connect_offered(at: float) -> None:
        for call in list(engine.calls.values()):
            if call.state.value == "offered":
                agent = engine.agents[call.agent or ""]
                leg = f"{agent.device}-{call.id}"
                engine.handle(ev.DialBegin(channel=call.channel, dest_channel=leg), at)
                engine.handle(ev.DialEnd(channel=call.channel, dest_channel=leg,
                                         dial_status="ANSWER"), at)

    for _ in range(500):
        arrive(now)
    connect_offered(now)
    for _ in range(1000):
        arrive(now)
    assert sum(len(q) for q in engine.queues.values()) == 1000
    decision_ns: list[int] = []
    step_ns: list[int] = []
    gc.disable()
    for k in range(samples):
        now += 0.01
        connected = next(c for c in engine.calls.values() if c.state.value == "connected")
        agent = engine.agents[connected.agent or ""]
        # the decision alone, on the state the engine is about to decide on
        t0 = time.perf_counter_ns()
        pick_call(agent, engine.queues, engine.state.expansion, now)
        decision_ns.append(time.perf_counter_ns() - t0)
        t0 = time.perf_counter_ns()
        engine.handle(ev.Hangup(channel=connected.channel), now)
        step_ns.append(time.perf_counter_ns() - t0)
        connect_offered(now)
        arrive(now)
        if k % 1000 == 0:
            gc.collect()
    gc.enable()
    return {
        "decision_p50_us": _pct(decision_ns, 50), "decision_p99_us": _pct(decision_ns, 99),
        "decision_p999_us": _pct(decision_ns, 99.9),
        "engine_step_p50_us": _pct(step_ns, 50), "engine_step_p99_us": _pct(step_ns, 99),
        "engine_step_p999_us": _pct(step_ns, 99.9),
        "waiting_calls": float(sum(len(q) for q in engine.queues.values())),
    }


def _pct(values: list[int], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))
    return round(ordered[index] / 1000, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs (under a minute)")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="also profile the router process (pyinstrument, text) in an "
                        "extra 200 calls/s run, not counted, and write it to FILE")
    args = parser.parse_args(argv)
    if args.profile is not None and importlib.util.find_spec("pyinstrument") is None:
        print("--profile needs pyinstrument: .venv/bin/pip install -e '.[bench]'",
              file=sys.stderr)
        return 2
    logs.configure(sys.stderr, level=logging.WARNING)
    repeats, runs, samples = (4, 2, 3000) if args.quick else (20, 3, 20000)
    data, events = load_stream(repeats)
    pieces = chunks(data)
    results: dict[str, Any] = {"events": events, "bytes": len(data)}

    framer = best_of(runs, lambda: bench_framer(pieces))
    results["framer_events_per_s"] = round(events / framer)
    print(f"framer alone (full parse)       {results['framer_events_per_s']:>12,} events/s")
    pk = best_of(runs, lambda: bench_panoramisk(pieces))
    results["panoramisk_events_per_s"] = round(events / pk)
    print(f"panoramisk receive path         {results['panoramisk_events_per_s']:>12,} events/s")
    config = site(10)
    for use_uvloop, key in ((True, "ingest_events_per_s"),
                            (False, "ingest_events_per_s_asyncio")):
        elapsed, received, commands = min((bench_ingest(data, config, use_uvloop)
                                           for _ in range(runs)), key=lambda r: r[0])
        if received != events:
            print(f"ingest lost events: {received} of {events}", file=sys.stderr)
            return 1
        results[key] = round(events / elapsed)
        results["ingest_commands"] = commands
        loop_name = "uvloop" if use_uvloop else "asyncio"
        print(f"end-to-end ingest ({loop_name:7})     {results[key]:>12,} events/s "
              f"({commands} actions decided)")
    results.update(ingest_with_persistence(data, runs))
    results["ingest_vs_framer"] = round(results["ingest_events_per_s"]
                                        / results["framer_events_per_s"], 2)
    results["ingest_vs_panoramisk"] = round(results["ingest_events_per_s"]
                                            / results["panoramisk_events_per_s"], 2)
    print(f"ingest / framer = {results['ingest_vs_framer']}  (target ≥ 0.5)   "
          f"ingest / panoramisk = {results['ingest_vs_panoramisk']}  (target ≥ 1.5)")
    decisions = bench_decisions(samples)
    results.update(decisions)
    print(f"routing decision (1,000 waiting, 500 agents)  p50 {decisions['decision_p50_us']} µs"
          f"  p99 {decisions['decision_p99_us']} µs  p99.9 {decisions['decision_p999_us']} µs"
          "  (target p99 < 25 µs)")
    print(f"engine step freeing an agent and offering     p50 "
          f"{decisions['engine_step_p50_us']} µs  p99 {decisions['engine_step_p99_us']} µs"
          f"  p99.9 {decisions['engine_step_p999_us']} µs")
    results.update(end_to_end(args.quick, args.profile))
    results["bench_process_peak_rss_mb"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(f"peak RSS: router process {results['peak_rss_mb']} MB, benchmark process "
          f"{results['bench_process_peak_rss_mb']} MB (it holds the stream and the simulator)")
    print(json.dumps(results))
    return 0


def ingest_with_persistence(data: bytes, runs: int) -> dict[str, Any]:
    """End-to-end ingest with a store attached (a ``redis-server`` of our own), against
    the same without, interleaved so that load on the machine hits both."""
    import shutil

    import uvloop

    from acd.tools.simulate.redis_process import RedisProcess
    from benchmarks.journal import ingest

    if shutil.which("redis-server") is None:
        print("ingest with persistence: not measured (redis-server is not installed)")
        return {}
    redis = RedisProcess()
    redis.start()
    off: list[float] = []
    on: list[float] = []
    try:
        for n in range(runs):
            off.append(uvloop.run(ingest(data, url=None, namespace="bench"))["events_per_s"])
            on.append(uvloop.run(ingest(data, url=redis.url, namespace=f"bench-{n}"))
                      ["events_per_s"])
    finally:
        redis.close()
    ratio = max(on) / max(off)
    print(f"end-to-end ingest, persistence on  {round(max(on)):>12,} events/s "
          f"({100 * ratio:.0f} % of {round(max(off)):,} off; target ≥ 90 %)")
    return {"ingest_events_per_s_persistence": round(max(on)),
            "ingest_persistence_vs_off": round(ratio, 3)}


def end_to_end(quick: bool, profile: Path | None) -> dict[str, Any]:
    """Announcement → Redirect under sustained load, per rate and router variant; then
    an overload run that must lose no call (see :mod:`benchmarks.e2e`)."""
    import uvloop

    from benchmarks.e2e import VARIANTS, run_rate

    duration = 4.0 if quick else 15.0
    out: dict[str, Any] = {}
    runs: list[dict[str, Any]] = []
    for variant in VARIANTS:
        for rate in E2E_RATES:
            run = uvloop.run(run_rate(rate, duration, variant))
            runs.append(run)
            suffix = f"_{rate:g}cps_{variant.label.replace(' + ', '_')}"
            for key in ("announce_to_redirect_p50_ms", "announce_to_redirect_p99_ms",
                        "announce_to_redirect_max_ms", "calls_lost", "scrape_block_max_ms",
                        "scrape_block_cpu_max_ms", "loop_lag_max_ms", "sim_loop_lag_max_ms",
                        "router_peak_rss_mb", "events_per_s"):
                out[key + suffix] = run[key]
            print(f"announcement → Redirect, {rate:g} calls/s ({run['events_per_s']:,} "
                  f"events/s, {run['events_per_call']} per call), router on {variant.label}: "
                  f"p50 {run['announce_to_redirect_p50_ms']} ms  p99 "
                  f"{run['announce_to_redirect_p99_ms']} ms  max "
                  f"{run['announce_to_redirect_max_ms']} ms  (target p99 < "
                  f"{E2E_TARGETS_MS[rate]:g} ms); lost {run['calls_lost']} of {run['calls']}; "
                  f"/metrics ×{run['scrapes']} held the loop ≤ {run['scrape_block_max_ms']} ms "
                  f"({run['scrape_block_cpu_max_ms']} ms of CPU; target ≤ 2 ms); loop lag ≤ "
                  f"{run['loop_lag_max_ms']} ms (simulator's {run['sim_loop_lag_max_ms']} ms)")
    overload = uvloop.run(run_rate(OVERLOAD_RATE, 3.0, VARIANTS[0], drain_s=60.0))
    runs.append(overload)
    print(f"overload: {OVERLOAD_RATE:g} calls/s for 3 s ({overload['events_per_s']:,} events/s):"
          f" p50 {overload['announce_to_redirect_p50_ms']} ms  p99 "
          f"{overload['announce_to_redirect_p99_ms']} ms; lost {overload['calls_lost']} of "
          f"{overload['calls']} (target 0: the router slows down, it does not drop)")
    if profile is not None:  # a run of its own: the profiler slows the router down
        uvloop.run(run_rate(200.0, duration, VARIANTS[0], profile=profile))
        print(f"router profile at 200 calls/s written to {profile}")
    main_run = next(r for r in runs if r["rate"] == 200 and r["variant"] == "uvloop")
    out["announce_to_redirect_p50_ms"] = main_run["announce_to_redirect_p50_ms"]
    out["announce_to_redirect_p99_ms"] = main_run["announce_to_redirect_p99_ms"]
    out["announce_to_redirect_rate_cps"] = 200
    out["overload_calls_per_s"] = OVERLOAD_RATE
    out["overload_announce_to_redirect_p99_ms"] = overload["announce_to_redirect_p99_ms"]
    out["overload_calls_lost"] = overload["calls_lost"]
    out["calls_lost"] = sum(r["calls_lost"] for r in runs)
    out["calls_placed_e2e"] = sum(r["calls"] for r in runs)
    out["scrape_block_max_ms"] = max((r["scrape_block_max_ms"] or 0.0) for r in runs[:-1])
    out["scrape_block_cpu_max_ms"] = max((r["scrape_block_cpu_max_ms"] or 0.0)
                                         for r in runs[:-1])
    out["peak_rss_mb"] = max((r["router_peak_rss_mb"] or 0.0) for r in runs)
    out["events_per_call"] = main_run["events_per_call"]
    persisted = [r for r in runs if r["variant"] == "uvloop + persistence"]
    if not persisted:
        out["persistence"] = "not measured: redis-server is not installed"
        return out
    for run in persisted:
        rate = run["rate"]
        plain = next(r for r in runs if r["rate"] == rate and r["variant"] == "uvloop")
        suffix = f"_{rate:g}cps"
        out["journal_lag_p99_ms" + suffix] = run["journal_lag_p99_ms"]
        for key in ("announce_to_redirect_p50_ms", "announce_to_redirect_p99_ms"):
            if run[key] is not None and plain[key]:
                out[key.replace("_ms", "_persistence_cost_pct") + suffix] = round(
                    100 * (run[key] / plain[key] - 1), 1)
        print(f"persistence on, {rate:g} calls/s: journal lag p50 {run['journal_lag_p50_ms']}"
              f" ms  p99 {run['journal_lag_p99_ms']} ms over {run['journal_entries']} "
              f"entries (target p99 < 50 ms); announcement → Redirect p99 "
              f"{run['announce_to_redirect_p99_ms']} ms against "
              f"{plain['announce_to_redirect_p99_ms']} ms off (target: within 10 %)")
    out["journal_lag_p99_ms"] = max(r["journal_lag_p99_ms"] or 0.0 for r in persisted)
    return out


#: sustained arrival rates of the end-to-end runs and their p99 targets
E2E_RATES = (50.0, 200.0)
E2E_TARGETS_MS = {50.0: 1.0, 200.0: 5.0}
#: more calls a second than the router can take on these machines: it must lose none
OVERLOAD_RATE = 600.0


if __name__ == "__main__":
    sys.exit(main())
