"""The simulator's control port: place calls over HTTP and learn, per call, what the
router did and when. Built for load generators that cannot speak asyncio (Locust runs
on gevent): plain blocking HTTP, one long-poll per call instead of sleep-polling.

    POST /calls          {"number": "15", "priority": 3, "patience_s": 600,
                          "talk_s": 1.0, "answer_after_s": 0.3}
                         → 201 once the dialplan announced the call (AcdCallWaiting)
    GET  /calls/{id}?wait=routed|answered|ended&timeout=30
                         → 200 as soon as the call reached that point (or ended), or
                           when the timeout ran out (``"timed_out": true``)
    GET  /stats          → counts of every call the simulator saw, latency
                           percentiles, the simulator's own worst loop lag
    GET  /healthz        → 200

A call (JSON) carries ``announced_at``, ``routed_at`` (the router's connecting action
took effect: ``AcdConnecting`` after a Redirect to an agent, or ``AcdOverflowTrying``
to a partner), ``answered_at`` (the pick-up: ``DialEnd ANSWER`` of the caller's dial),
``ended_at`` and ``outcome``: ``answered``, ``abandoned`` (the caller hung up before a
pick-up), ``dropped`` (the caller's channel was hung up by an AMI action or by the PBX
before a pick-up: what the router must never cause) or ``overflowed`` (a partner SAS
answered). ``route_ms`` and ``answer_ms`` count from the announcement.

Times are **real** epoch seconds read when the simulator writes or reads the AMI
bytes, whatever the simulation speed, because they measure the router. The simulated
times of the same moments (event ``Timestamp:``) are under ``sim``. At speed 1 they
agree; at speed S, simulated delays (the 0.5 s before the announcement, the agent's
ring time) take 1/S of their simulated length in real time, so ``answer_ms`` mixes the
router's latency with a shortened ring; ``route_ms`` stays the router's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from acd.config import DialplanNames
from acd.sim.model import Call, HangupRecord, Headers
from acd.sim.pbx import Pbx

#: milestones a long-poll may wait for, in the order a call reaches them
MILESTONES = ("announced", "routed", "answered", "ended")
#: ended calls kept for late readers once more than this many calls are tracked
MAX_TRACKED = 200_000
MAX_WAIT_S = 300.0


@dataclass
class TrackedCall:
    """What the control port knows of one call (real epoch seconds)."""

    id: str
    number: str
    priority: int | None
    channel: str
    placed_at: float
    sim_placed_at: float
    announced_at: float | None = None
    sim_announced_at: float | None = None
    routed_at: float | None = None
    sim_routed_at: float | None = None
    agent: str | None = None
    answered_at: float | None = None
    sim_answered_at: float | None = None
    ended_at: float | None = None
    outcome: str | None = None
    hangup_by: str | None = None
    hangup_reason: str | None = None
    _waiters: list[asyncio.Future[None]] = field(default_factory=list, repr=False)

    def reached(self, milestone: str) -> bool:
        if self.ended_at is not None:
            return True
        stamp = {"announced": self.announced_at, "routed": self.routed_at,
                 "answered": self.answered_at}.get(milestone)
        return stamp is not None

    def add_waiter(self, waiter: asyncio.Future[None]) -> None:
        """``waiter`` is resolved at the call's next milestone."""
        self._waiters.append(waiter)

    def wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def as_json(self) -> dict[str, Any]:
        def ms(at: float | None) -> float | None:
            if at is None or self.announced_at is None:
                return None
            return round((at - self.announced_at) * 1000, 3)

        return {
            "id": self.id, "number": self.number, "priority": self.priority,
            "channel": self.channel, "placed_at": self.placed_at,
            "announced_at": self.announced_at, "routed_at": self.routed_at,
            "agent": self.agent, "answered_at": self.answered_at, "ended_at": self.ended_at,
            "outcome": self.outcome, "hangup_by": self.hangup_by,
            "hangup_reason": self.hangup_reason,
            "route_ms": ms(self.routed_at), "answer_ms": ms(self.answered_at),
            "sim": {"placed_at": self.sim_placed_at, "announced_at": self.sim_announced_at,
                    "routed_at": self.sim_routed_at, "answered_at": self.sim_answered_at},
        }


class CallTracker:
    """Follows every call of a :class:`~acd.sim.pbx.Pbx` from its events and hangups."""

    def __init__(self, pbx: Pbx, names: DialplanNames | None = None) -> None:
        self.pbx = pbx
        names = names or pbx.names
        self._waiting_event = names.call_waiting_event
        self._routing_events = (names.connecting_event, names.overflow_trying_event)
        self.calls: OrderedDict[str, TrackedCall] = OrderedDict()
        #: live caller channels (the ``;2``) → their call (the PBX forgets a channel
        #: before it records its hangup)
        self._by_channel: dict[str, tuple[Call, TrackedCall]] = {}
        self.counts = {"placed": 0, "announced": 0, "routed": 0, "answered": 0,
                       "abandoned": 0, "dropped": 0, "overflowed": 0, "ended": 0}
        pbx.subscribe(self._on_event)
        pbx.hangup_listeners.append(self._on_hangup)

    def track(self, call: Call) -> TrackedCall:
        key = str(call.index)
        tracked = self.calls.get(key)
        if tracked is None:
            tracked = TrackedCall(id=key, number=call.number, priority=call.priority,
                                  channel=call.channel, placed_at=time.time(),
                                  sim_placed_at=call.arrived)
            self.calls[key] = tracked
            self._by_channel[call.channel] = (call, tracked)
            self.counts["placed"] += 1
            self._prune()
        return tracked

    def get(self, call_id: str) -> TrackedCall | None:
        return self.calls.get(call_id)

    def stats(self) -> dict[str, Any]:
        """Counts of calls, and route / answer latency percentiles (ms) over the calls
        still tracked."""
        out: dict[str, Any] = dict(self.counts)
        out["in_progress"] = self.counts["placed"] - self.counts["ended"]
        calls = list(self.calls.values())
        out["waiting_unrouted"] = sum(1 for c in calls if c.ended_at is None
                                      and c.routed_at is None and c.announced_at is not None)
        out["ended_unrouted"] = sum(1 for c in calls
                                    if c.ended_at is not None and c.routed_at is None)
        for name, attr in (("route", "routed_at"), ("answer", "answered_at")):
            values = sorted((getattr(c, attr) - c.announced_at) * 1000 for c in calls
                            if getattr(c, attr) is not None and c.announced_at is not None)
            for label, q in (("p50", 0.50), ("p99", 0.99), ("max", 1.0)):
                out[f"{name}_{label}_ms"] = _quantile(values, q)
        return out

    async def wait(self, tracked: TrackedCall, milestone: str, within_s: float) -> bool:
        """True once ``tracked`` reached ``milestone`` (or ended); False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while not tracked.reached(milestone):
            left = deadline - loop.time()
            if left <= 0:
                return False
            waiter: asyncio.Future[None] = loop.create_future()
            tracked.add_waiter(waiter)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, left)
        return True

    # ---------------------------------------------------------------- observers

    def _call_of(self, channel: str) -> TrackedCall | None:
        known = self._by_channel.get(channel)
        if known is not None:
            return known[1]
        call = self.pbx.call_by_channel(channel)
        if call is None or call.trunk.name != channel:
            return None
        return self.track(call)

    def _on_event(self, name: str, _privilege: str, headers: Headers, stamp: float) -> None:
        """An event sink: runs when the event is written to the AMI sessions."""
        if name == "UserEvent":
            kind = next((v for k, v in headers if k == "UserEvent"), "")
            if kind == self._waiting_event:
                tracked = self._call_of(headers[0][1])
                if tracked is not None and tracked.announced_at is None:
                    tracked.announced_at, tracked.sim_announced_at = time.time(), stamp
                    self.counts["announced"] += 1
                    tracked.wake()
            elif kind in self._routing_events:
                tracked = self._call_of(headers[0][1])
                if tracked is not None and tracked.routed_at is None:
                    tracked.routed_at, tracked.sim_routed_at = time.time(), stamp
                    tracked.agent = next((v for k, v in headers
                                          if k in ("Agent", "Partner")), None)
                    self.counts["routed"] += 1
                    tracked.wake()
        elif name == "DialEnd" and headers and headers[0][0] == "Channel":
            if next((v for k, v in reversed(headers) if k == "DialStatus"), "") != "ANSWER":
                return
            tracked = self._call_of(headers[0][1])
            if tracked is not None and tracked.answered_at is None:
                tracked.answered_at, tracked.sim_answered_at = time.time(), stamp
                self.counts["answered"] += 1
                tracked.wake()

    def _on_hangup(self, record: HangupRecord) -> None:
        if record.role != "caller":
            return
        known = self._by_channel.pop(record.channel, None)
        if known is None or known[1].ended_at is not None:
            return
        call, tracked = known
        tracked.ended_at = time.time()
        tracked.hangup_by, tracked.hangup_reason = record.by, record.reason
        if call.partner is not None and call.partner.answered_at is not None:
            outcome = "overflowed"
        elif tracked.answered_at is not None:
            outcome = "answered"
        elif record.by == "caller":
            outcome = "abandoned"
        else:
            outcome = "dropped"
        tracked.outcome = outcome
        if outcome != "answered":
            self.counts[outcome] += 1
        self.counts["ended"] += 1
        tracked.wake()

    def _prune(self) -> None:
        if len(self.calls) <= MAX_TRACKED:
            return
        for key in [k for k, c in self.calls.items() if c.ended_at is not None][
                : len(self.calls) - MAX_TRACKED]:
            del self.calls[key]


class BadRequest(ValueError):
    """A control request the port refuses (answered 400 with the message)."""


def _seconds(key: str, value: object) -> float | None:
    """A number of seconds ≥ 0, or None; :class:`BadRequest` for anything else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or value < 0:
        raise BadRequest(f"{key}: a number of seconds ≥ 0 or null")
    return float(value)


def _one_line(key: str, value: object) -> str:
    """A string without line breaks; :class:`BadRequest` for anything else."""
    if not isinstance(value, str) or "\r" in value or "\n" in value:
        raise BadRequest(f"{key}: a single-line string")
    return value


@dataclass(frozen=True)
class CallRequest:
    number: str
    priority: int | None = None
    patience_s: float | None = None
    caller_name: str = "Appel de charge"
    caller_num: str = "0600000000"
    talk_s: float | None = None
    answer_after_s: float | None = None

    @classmethod
    def parse(cls, body: object) -> CallRequest:
        if not isinstance(body, dict):
            raise BadRequest("body must be a JSON object")
        unknown = set(body) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise BadRequest(f"unknown field(s): {', '.join(sorted(unknown))}")
        number = body.get("number")
        if not isinstance(number, str) or not number or not number.isalnum():
            raise BadRequest("number: a dialled number (digits) is required")
        priority = body.get("priority")
        if priority is not None and (not isinstance(priority, int)
                                     or isinstance(priority, bool) or not 0 <= priority <= 9):
            raise BadRequest("priority: an integer 0…9 or null")
        floats = {key: _seconds(key, body.get(key))
                  for key in ("patience_s", "talk_s", "answer_after_s")}
        texts = {key: _one_line(key, body.get(key, getattr(cls, key)))
                 for key in ("caller_name", "caller_num")}
        return cls(number=number, priority=priority, patience_s=floats["patience_s"],
                   talk_s=floats["talk_s"], answer_after_s=floats["answer_after_s"], **texts)

    def variables(self) -> dict[str, str]:
        """``__TALK`` / ``__RING`` on the caller: the agent's talk time and answer delay
        for this call (the recordings' dialplan convention, read by the simulator)."""
        out: dict[str, str] = {}
        if self.talk_s is not None:
            out["__TALK"] = f"{self.talk_s:g}"
        if self.answer_after_s is not None:
            out["__RING"] = f"{self.answer_after_s:g}"
        return out


class ControlServer:
    """The HTTP control port of one simulator."""

    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.tracker = CallTracker(pbx)
        self._runner: web.AppRunner | None = None
        self._lag_task: asyncio.Task[None] | None = None
        #: worst lateness of a 10 ms timer of the simulator's loop (seconds)
        self.loop_lag_max = 0.0
        self.port = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/calls", self._place)
        app.router.add_get("/calls/{id}", self._get)
        app.router.add_get("/stats", self._stats)
        app.router.add_get("/healthz", self._health)
        return app

    async def start(self, host: str, port: int) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, backlog=1024)
        await site.start()
        addresses = self._runner.addresses
        self.port = int(addresses[0][1]) if addresses else port
        self._lag_task = asyncio.create_task(self._watch_lag())

    async def _watch_lag(self) -> None:
        """How late the simulator's loop runs a timer: its own delays are part of every
        latency it measures, so /stats reports them."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(0.01)
            self.loop_lag_max = max(self.loop_lag_max, loop.time() - started - 0.01)

    async def close(self) -> None:
        if self._lag_task is not None:
            self._lag_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lag_task
            self._lag_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _place(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "body must be JSON")
        try:
            spec = CallRequest.parse(body)
        except BadRequest as exc:
            return _error(400, str(exc))
        call = self.pbx.place_call(spec.number, spec.caller_name, spec.caller_num,
                                   spec.patience_s, spec.priority, variables=spec.variables())
        tracked = self.tracker.track(call)
        await self.tracker.wait(tracked, "announced", 30.0)
        return web.json_response(tracked.as_json(), status=201)

    async def _get(self, request: web.Request) -> web.Response:
        tracked = self.tracker.get(request.match_info["id"])
        if tracked is None:
            return _error(404, f"no call {request.match_info['id']!r}")
        milestone = request.query.get("wait")
        timed_out = False
        if milestone is not None:
            if milestone not in MILESTONES:
                return _error(400, f"wait: one of {', '.join(MILESTONES)}")
            try:
                timeout = float(request.query.get("timeout", "30"))
            except ValueError:
                return _error(400, "timeout: seconds")
            if not 0 <= timeout <= MAX_WAIT_S:
                return _error(400, f"timeout: 0…{MAX_WAIT_S:g} seconds")
            timed_out = not await self.tracker.wait(tracked, milestone, timeout)
        return web.json_response({**tracked.as_json(), "timed_out": timed_out})

    async def _stats(self, _request: web.Request) -> web.Response:
        return web.json_response({**self.tracker.stats(),
                                  "sim_loop_lag_max_ms": round(self.loop_lag_max * 1000, 3)})

    async def _health(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "live_calls": len(self.pbx.live_calls())})


def _quantile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)], 3)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
