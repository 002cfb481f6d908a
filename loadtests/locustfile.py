"""Locust surge tests of the router, through the PBX simulator's control port.

Run by ``loadtests/surge`` (which starts ``acd sim`` and ``acd run`` and passes the
environment below); by hand: ``locust -f loadtests/locustfile.py --host
http://127.0.0.1:<control port>`` with ``ACD_LOAD_SHAPE`` set.

One task = one call: ``POST /calls`` (answers once the dialplan announced the call),
then one long-poll ``GET /calls/{id}?wait=ended``. Each call is reported to Locust as
two requests named after the dialled number:

* ``route``: announcement on the AMI socket → the router's Redirect to an agent took
  effect in the PBX (response time in ms);
* ``answer``: announcement → the agent's pick-up.

A call never routed within ``ACD_LOAD_ROUTE_TIMEOUT_S``, or hung up by anyone but the
caller before a pick-up, is a failure. The HTTP calls themselves are not reported.

When Locust quits, :mod:`loadtests.report` prints the summary (route and answer apart,
never one "Aggregated" row over both) in place of Locust's, and writes its CSV files and
``report.html`` to ``ACD_LOAD_OUT`` when that is set.

Environment: ``ACD_LOAD_SHAPE`` (normal-day, busy-hour, winter-surge, stress-3x, ramp),
``ACD_LOAD_DURATION`` (real seconds the shape is played in), ``ACD_LOAD_OUT`` (folder
for ``ramp.json``), ``ACD_LOAD_TALK_S`` / ``ACD_LOAD_ANSWER_S`` (``low,high`` seconds).
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from pathlib import Path
from typing import Any

import urllib3
from locust import LoadTestShape, User, constant_pacing, events, task
from locust.env import Environment
from locust.runners import WORKER_REPORT_INTERVAL, MasterRunner, WorkerRunner

from loadtests import report
from loadtests.shapes import BREAK_P99_MS, Ramp, Shape, make_shape

#: each simulated caller places one call every PACING_S seconds (a call lasts ~2 s)
PACING_S = 4.0
ROUTE_TIMEOUT_S = float(os.environ.get("ACD_LOAD_ROUTE_TIMEOUT_S", "30"))
#: the end of a run waits at most this long for the calls in flight (Locust's
#: ``--stop-timeout`` then stops the callers still in a call)
DRAIN_MAX_S = 60.0
#: callers stopped per second at the end of a run: all at once
STOP_RATE = 10_000.0


def _range(name: str, default: tuple[float, float]) -> tuple[float, float]:
    text = os.environ.get(name)
    if not text:
        return default
    low, _, high = text.partition(",")
    return float(low), float(high or low)


TALK_S = _range("ACD_LOAD_TALK_S", (0.5, 1.5))
ANSWER_S = _range("ACD_LOAD_ANSWER_S", (0.2, 0.6))


def current_shape() -> Shape:
    duration = os.environ.get("ACD_LOAD_DURATION")
    return make_shape(os.environ.get("ACD_LOAD_SHAPE", "busy-hour"),
                      float(duration) if duration else None)


def use_our_report(environment: Environment, **_kwargs: Any) -> None:
    """Locust's end-of-run tables close on an "Aggregated" row over route and answer
    times: its logger of them is silenced, and :mod:`loadtests.report` prints and
    writes the run's figures once every user has stopped."""
    logging.getLogger("locust.stats_logger").disabled = True

    def on_quit(**_kwargs: Any) -> None:
        if isinstance(environment.runner, WorkerRunner):  # the master reports the sum
            return
        result = report.report_of(environment)
        print("\n".join(report.summary_lines(result)), flush=True)
        out = os.environ.get("ACD_LOAD_OUT")
        if out:
            report.write(result, Path(out))

    environment.events.quit.add_listener(on_quit)  # type: ignore[no-untyped-call]


events.init.add_listener(use_our_report)  # type: ignore[no-untyped-call]


class CallLost(Exception):
    """A call the router did not route, or that was hung up before a pick-up."""


class Caller(User):
    """A caller dialling the SAS's numbers in the shape's mix."""

    wait_time = constant_pacing(PACING_S)

    def on_start(self) -> None:
        self.http = urllib3.PoolManager(maxsize=1, retries=False)
        shape = current_shape()
        self.numbers = [n for n, _ in shape.mix]
        self.weights = [w for _, w in shape.mix]

    def on_stop(self) -> None:
        self.http.clear()

    def _report(self, kind: str, name: str, ms: float, error: Exception | None) -> None:
        self.environment.events.request.fire(
            request_type=kind, name=name, response_time=ms, response_length=0,
            exception=error, context={})

    def _json(self, method: str, path: str, body: dict[str, Any] | None,
              read_timeout: float) -> dict[str, Any]:
        response = self.http.request(
            method, f"{self.host}{path}",
            body=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"},
            timeout=urllib3.Timeout(connect=5.0, read=read_timeout))
        data: dict[str, Any] = json.loads(response.data or b"{}")
        if response.status >= 300:
            raise CallLost(f"control port answered {response.status}: {data.get('error')}")
        return data

    @task
    def call(self) -> None:
        number = random.choices(self.numbers, self.weights)[0]
        started = time.perf_counter()
        try:
            placed = self._json("POST", "/calls", {
                "number": number, "patience_s": 600,
                "talk_s": round(random.uniform(*TALK_S), 3),
                "answer_after_s": round(random.uniform(*ANSWER_S), 3)}, 30.0)
            final = self._json("GET", f"/calls/{placed['id']}?wait=ended"
                               f"&timeout={ROUTE_TIMEOUT_S + 30:g}", None,
                               ROUTE_TIMEOUT_S + 40)
        except Exception as exc:  # the control port failed us: count the call lost
            self._report("route", number, (time.perf_counter() - started) * 1000, exc)
            return
        self._account(number, final)

    def _account(self, number: str, call: dict[str, Any]) -> None:
        route_ms, answer_ms = call.get("route_ms"), call.get("answer_ms")
        outcome = call.get("outcome")
        if route_ms is None:
            why = ("still unrouted" if outcome is None
                   else f"ended unrouted ({outcome}, {call.get('hangup_reason')})")
            self._report("route", number, 0.0, CallLost(f"never routed: {why}"))
            return
        self._report("route", number, float(route_ms), None)
        if outcome == "dropped":
            self._report("answer", number, 0.0,
                         CallLost(f"dropped before pick-up: hung up by "
                                  f"{call.get('hangup_by')} ({call.get('hangup_reason')})"))
        elif answer_ms is None:
            self._report("answer", number, 0.0,
                         CallLost(f"not picked up ({outcome or 'still waiting'})"))
        else:
            self._report("answer", number, float(answer_ms), None)


def users_for(rate: float) -> int:
    """Simulated callers needed for ``rate`` calls/s at one call per PACING_S."""
    return max(1, math.ceil(rate * PACING_S)) if rate > 0 else 0


class SurgeShape(LoadTestShape):
    """The shape named by ``ACD_LOAD_SHAPE`` (see :mod:`loadtests.shapes`).

    The ramp also stops at its breaking point: the routing latency p99 of a finished
    step above ``BREAK_P99_MS``, or any failed call; it writes its steps to
    ``$ACD_LOAD_OUT/ramp.json``.

    A run ends in two steps (:meth:`_drain`): no caller is left to place a new call and
    the calls in flight end and are counted, then Locust quits. Quitting at once would
    make Locust's master, in a run of several processes, leave half a second after
    telling its workers to stop, before their last calls reached its statistics.
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.shape = current_shape()
        self._step = -1
        self._step_base: dict[int, int] = {}
        self._step_failures = 0
        self._step_started = 0.0
        self.steps: list[dict[str, Any]] = []
        self.broken: str | None = None
        self._drain_from: float | None = None
        self._idle_from: float | None = None

    def tick(self) -> tuple[int, float] | None:
        t: float = self.get_run_time()  # type: ignore[no-untyped-call]
        shape = self.shape
        if self._drain_from is not None:
            return self._drain(t)
        if t >= shape.duration_s:
            self._close_ramp(t, final=True)
            return self._drain(t)
        if isinstance(shape, Ramp):
            step = shape.step_at(t)
            if step != self._step:
                if self._step >= 0 and self._close_ramp(t):
                    return self._drain(t)
                self._open_step(step, t)
        rate = shape.rate(t)
        # spawning `rate` callers a second spreads their calls evenly over the pacing
        # period instead of placing them in bursts every PACING_S seconds
        return users_for(rate), max(rate, 1.0)

    def _drain(self, t: float) -> tuple[int, float] | None:
        """No caller until every one has stopped (each ends its call first), then, with
        workers, one more of their statistics reports (they send one every
        ``WORKER_REPORT_INTERVAL`` seconds), then the end (``None``)."""
        if self._drain_from is None:
            self._drain_from = t
        assert self.runner is not None
        if t - self._drain_from > DRAIN_MAX_S:
            return None
        if self.runner.user_count > 0:
            self._idle_from = None
            return 0, STOP_RATE
        if isinstance(self.runner, MasterRunner):
            if self._idle_from is None:
                self._idle_from = t
            if t - self._idle_from <= WORKER_REPORT_INTERVAL + 1.0:
                return 0, STOP_RATE
        return None

    # -------------------------------------------------------------- ramp bookkeeping

    def _route_times(self) -> tuple[dict[int, int], int]:
        times: dict[int, int] = {}
        failures = 0
        assert self.runner is not None  # Locust sets it before the first tick
        for (_name, method), entry in self.runner.stats.entries.items():
            if method != "route":
                continue
            failures += entry.num_failures
            for ms, count in entry.response_times.items():
                times[ms] = times.get(ms, 0) + count
        return times, failures

    def _open_step(self, step: int, t: float) -> None:
        self._step = step
        self._step_base, self._step_failures = self._route_times()
        self._step_started = t

    def _close_ramp(self, t: float, final: bool = False) -> bool:
        """Record the step that ends; True when it broke the router."""
        if not isinstance(self.shape, Ramp) or self._step < 0:
            return False
        times, failures = self._route_times()
        window = {ms: n - self._step_base.get(ms, 0) for ms, n in times.items()}
        count = sum(window.values())
        p99 = _percentile(window, 0.99)
        lost = failures - self._step_failures
        elapsed = max(t - self._step_started, 1e-9)
        record = {"step": self._step, "target_calls_per_s": self.shape.step_rate(self._step),
                  "calls_per_s": round(count / elapsed, 2), "calls": count,
                  "route_p99_ms": p99, "failed": lost}
        self.steps.append(record)
        if lost:
            self.broken = f"{lost} call(s) failed at {record['target_calls_per_s']:g} calls/s"
        elif p99 is not None and p99 > BREAK_P99_MS:
            self.broken = (f"route p99 {p99} ms > {BREAK_P99_MS:g} ms at "
                           f"{record['target_calls_per_s']:g} calls/s")
        out = os.environ.get("ACD_LOAD_OUT")
        if out:
            Path(out, "ramp.json").write_text(json.dumps(
                {"steps": self.steps, "broken": self.broken,
                 "finished": final or self.broken is not None}, indent=1) + "\n")
        return self.broken is not None


def _percentile(times: dict[int, int], q: float) -> int | None:
    total = sum(times.values())
    if total <= 0:
        return None
    rank, seen = q * total, 0
    for ms in sorted(times):
        seen += times[ms]
        if seen >= rank:
            return ms
    return max(times)
