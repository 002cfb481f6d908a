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
from acd.config import Config, parse_config
from acd.core import inputs as i
from acd.core.engine import Engine
from acd.core.routing import pick_call

TRANSCRIPT = (Path(os.environ.get("ACD_TRANSCRIPTS") or
                   Path(__file__).resolve().parents[2] / "shared" / "ami-transcripts")
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

    done = asyncio.get_running_loop().create_future()

    async def serve(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    _, protocol = await loop.create_connection(
        lambda: AmiProtocol(on_event, lambda _exc: done.set_result(None)), "127.0.0.1", port)
    await done
    elapsed = time.perf_counter() - start
    server.close()
    counts[0] = protocol.events_received
    return elapsed, counts[0], counts[1]


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

    engine = Engine(site(500))
    now = 10_000.0
    engine.handle(i.ChannelsSnapshot([], taken_at=0.0), now)
    skills = ["ARM_N1", "AMU_N2", "OSNP", "MG"]
    seq = [0]

    def arrive(at: float) -> None:
        seq[0] += 1
        n = seq[0]
        engine.handle(ev.UserEvent(channel=f"PJSIP/t-{n}", uniqueid=f"c{n}", name="AcdCallWaiting",
                                   headers={"Number": "15", "Queue": skills[n % 4],
                                            "Priority": str(n % 10)}), at)

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
        pick_call(agent, engine.queues, engine._expansion, now)
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
    args = parser.parse_args(argv)
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
    results["calls_lost"] = 0
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(f"peak RSS {results['peak_rss_mb']} MB")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
