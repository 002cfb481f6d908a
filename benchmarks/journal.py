"""Persistence on vs off: ingest rate of the production Router, and the journal lag.

The recorded ``10-burst-50-calls`` stream (see :mod:`benchmarks.bench`), repeated, is
written over loopback TCP to the Router's AMI protocol as fast as the socket takes it
(a burst far above a SAS's peak); the Router routes it with or without a store
attached (:func:`acd.store.attach_store`, a real Redis). Journal lag: real time from
each fact to Redis acknowledging its write (``acd_journal_lag_seconds``).

    .venv/bin/python -m benchmarks.journal [--redis URL] [--repeats N]

Two loads: the whole stream at once (the loop saturated by ingest: the writer runs
only between reads, so the lag is about the burst's length), and the stream paced at
``--rate`` events a second (default 5,000: hundreds of times a large SAS's peak).
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import uuid

import redis

from acd import logs
from acd.ami.userevents import UserEventDecoder
from acd.store import attach_store, keys
from acd.testing import build_stack
from benchmarks.bench import TRANSCRIPT, feed_over_tcp, load_stream, site


async def ingest(data: bytes, *, url: str | None, namespace: str,
                 rate: float = 0.0) -> dict[str, float]:
    """Ingest ``data``; ``rate`` > 0 paces it to that many events a second."""
    service = build_stack(site(40), records=False).service
    router = service.router
    router.engine.handle(_snapshot(), 0.0)
    store = attach_store(service, url, namespace) if url else None
    if store is not None:
        store.start()
    elapsed, received = await feed_over_tcp(
        data, router.on_event, decoder=UserEventDecoder(router.engine.config.dialplan),
        rate=rate)
    result = {"events": float(received), "seconds": elapsed,
              "events_per_s": received / elapsed}
    if store is not None:
        drain_start = time.perf_counter()
        await store.flush()
        lags = sorted(store.metrics.recent_lags)
        result.update({
            "drain_s": time.perf_counter() - drain_start,
            "entries": float(len(lags)),
            "batches": float(store.writer.batches),
            "lag_p50_ms": 1000 * lags[len(lags) // 2],
            "lag_p99_ms": 1000 * lags[min(len(lags) - 1, int(len(lags) * 0.99))],
            "lag_max_ms": 1000 * lags[-1],
        })
        await store.close(5.0)
    router.cancel_timer()
    return result


def _snapshot() -> object:
    from acd.core.inputs import ChannelsSnapshot

    return ChannelsSnapshot([], taken_at=0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=5000.0,
                        help="events a second of the paced run (a large SAS at its "
                        "peak sends tens)")
    args = parser.parse_args(argv)
    logs.configure(sys.stderr, logging.WARNING)
    import uvloop

    data, events = load_stream(args.repeats)
    print(f"stream: {TRANSCRIPT.name} ×{args.repeats} = {events} events")
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    off: list[dict[str, float]] = []
    on: list[dict[str, float]] = []
    try:
        for _ in range(args.runs):  # interleaved, so load on the machine hits both
            off.append(uvloop.run(ingest(data, url=None, namespace=namespace)))
            on.append(uvloop.run(ingest(data, url=args.redis, namespace=namespace)))
    finally:
        client = redis.Redis.from_url(args.redis)
        client.delete(*keys.all_keys(namespace))
        client.close()
    paced_data, paced_events = load_stream(max(1, round(2 * args.rate / 6167)))
    try:
        paced = uvloop.run(ingest(paced_data, url=args.redis, namespace=namespace,
                                  rate=args.rate))
    finally:
        client = redis.Redis.from_url(args.redis)
        client.delete(*keys.all_keys(namespace))
        client.close()
    best_off = max(r["events_per_s"] for r in off)
    best_on = max(on, key=lambda r: r["events_per_s"])
    worst_p99 = max(r["lag_p99_ms"] for r in on)
    print(f"ingest, persistence off: {best_off:,.0f} events/s (best of {args.runs})")
    print(f"ingest, persistence on:  {best_on['events_per_s']:,.0f} events/s "
          f"({100 * best_on['events_per_s'] / best_off:.0f} % of off)")
    print(f"journal: {best_on['entries']:,.0f} entries in {best_on['batches']:.0f} batches; "
          f"lag p50 {best_on['lag_p50_ms']:.1f} ms, p99 {best_on['lag_p99_ms']:.1f} ms, "
          f"max {best_on['lag_max_ms']:.1f} ms; worst p99 of {args.runs} runs "
          f"{worst_p99:.1f} ms")
    print(f"paced at {args.rate:,.0f} events/s ({paced_events} events): journal lag p50 "
          f"{paced['lag_p50_ms']:.1f} ms, p99 {paced['lag_p99_ms']:.1f} ms, max "
          f"{paced['lag_max_ms']:.1f} ms ({paced['entries']:,.0f} entries, "
          f"{paced['batches']:.0f} batches)")
    print(json.dumps({"events": events, "ingest_off_events_per_s": round(best_off),
                      "ingest_on_events_per_s": round(best_on["events_per_s"]),
                      "journal_lag_p99_ms": round(best_on["lag_p99_ms"], 1),
                      "journal_lag_p99_ms_worst": round(worst_p99, 1),
                      "journal_entries": int(best_on["entries"]),
                      "paced_events_per_s": args.rate,
                      "paced_journal_lag_p99_ms": round(paced["lag_p99_ms"], 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
