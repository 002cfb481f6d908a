"""The running service: the composition root that wires adapters to the engine.

One event loop, one writer. AMI events, timer ticks, action failures and HTTP intents
all reach :meth:`Router.submit`, which runs ``engine.handle`` synchronously (it never
awaits), so inputs are applied one at a time in arrival order, exactly as through a
queue, without a queue's latency. Outputs are applied at once: actions are written
to the AMI socket, facts are logged and counted (:mod:`acd.metrics`) and,
later, journaled.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import time
from collections.abc import Callable
from typing import Any

from acd.ami.client import AmiConnection
from acd.ami.events import AmiEvent, StatusEntry
from acd.config import Config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.engine import Engine, Output
from acd.logs import get_logger
from acd.secrets import ami_secret

log = get_logger("acd.router")

#: SIGTERM → stopped within this many seconds, whatever is in flight
SHUTDOWN_TIMEOUT_S = 5.0


class PbxClock:
    """Engine time taken from the PBX's own event timestamps.

    Each event with a ``Timestamp`` sets the time; between events it runs on at
    ``speed`` times real time. So a router connected to a simulator running
    accelerated lives in simulated time (ring time-outs, wrap-up, QS 30 s all count
    simulated seconds), and against a real Asterisk (speed 1) it follows Asterisk's
    clock rather than its own.
    """

    def __init__(self, speed: float = 1.0) -> None:
        self.speed = speed
        self._base: float | None = None
        self._at = 0.0

    def observe(self, timestamp: float) -> None:
        self._base = timestamp
        self._at = time.monotonic()

    def observe_at_least(self, timestamp: float) -> None:
        """Take ``timestamp`` unless events have already brought a later time."""
        if self._base is None or timestamp > self():
            self.observe(timestamp)

    def __call__(self) -> float:
        if self._base is None:
            return time.time()
        return self._base + (time.monotonic() - self._at) * self.speed


class Router:
    """Engine + its adapters. ``clock`` gives engine time (epoch seconds)."""

    def __init__(self, config: Config, *, clock: Callable[[], float] | None = None,
                 speed: float = 1.0) -> None:
        self.config = config
        self.engine = Engine(config)
        self.pbx_clock = PbxClock(speed) if clock is None else None
        self.clock: Callable[[], float] = clock or self.pbx_clock or time.time
        #: how much faster than real time engine time runs (timers are scaled by it)
        self.speed = speed
        self.ami: AmiConnection | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_deadline: float | None = None
        self._fact_listeners: list[Callable[[f.Fact], None]] = []
        #: given each input's decision time in seconds (acd_routing_decision_seconds)
        self.decision_observer: Callable[[float], None] | None = None
        names = config.dialplan
        #: channel variables read back from Asterisk at resync
        self.resync_variables = (names.number_var, names.arrived_var, names.priority_var)
        self.started_at = time.time()
        #: set while the AMI session is up and resynchronised (readiness)
        self.link_ready = asyncio.Event()
        _warm_calendar(config)

    # -------------------------------------------------------------- inputs

    def submit(self, item: object) -> Output:
        """Apply one input now; send its actions; publish its facts."""
        now = self.clock()
        started = time.perf_counter()
        out = self.engine.handle(item, now)
        if self.decision_observer is not None:
            self.decision_observer(time.perf_counter() - started)
        for command in out.commands:
            self._send(command)
        for fact in out.facts:
            self._publish(fact)
        self._schedule_tick()
        return out

    def on_event(self, event: AmiEvent) -> None:
        if self.pbx_clock is not None and event.timestamp is not None:
            self.pbx_clock.observe(event.timestamp)
        self.submit(event)

    def on_link_up(self, channels: list[StatusEntry], taken_at: float) -> None:
        """``taken_at`` is Asterisk's time when the list was asked for."""
        if self.pbx_clock is not None:
            self.pbx_clock.observe_at_least(taken_at)
        self.submit(i.ChannelsSnapshot(channels, taken_at=taken_at))
        self.link_ready.set()

    def on_link_down(self, reason: str) -> None:
        self.link_ready.clear()
        self.submit(i.LinkDown(reason))

    def add_fact_listener(self, listener: Callable[[f.Fact], None]) -> None:
        self._fact_listeners.append(listener)

    # -------------------------------------------------------------- outputs

    def _send(self, command: Any) -> None:
        if self.ami is None:
            return
        future = self.ami.send(command)
        future.add_done_callback(functools.partial(self._action_done, command))

    def _action_done(self, command: Any, future: asyncio.Future[Any]) -> None:
        from acd.ami.client import check_response
        from acd.errors import AmiError

        try:
            check_response(command, future.result())
            return
        except AmiError as exc:
            message = str(exc)
        except asyncio.CancelledError:
            message = "cancelled"
        log.warning("ami_action_failed", action=command.name, error=message)
        self.submit(i.ActionFailed(command.ref, command.name, message))

    def _publish(self, fact: f.Fact) -> None:
        for listener in self._fact_listeners:
            listener(fact)
        _log_fact(fact)

    def _schedule_tick(self) -> None:
        """Keep one timer armed for the engine's next deadline (re-armed only when the
        deadline changes, which most inputs do not do)."""
        deadline = self.engine.next_deadline()
        if deadline == self._timer_deadline and (deadline is None or self._timer is not None):
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_deadline = deadline
        if deadline is None:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, deadline - self.clock()) / self.speed
        self._timer = loop.call_later(delay, self._tick)

    def _tick(self) -> None:
        self._timer = None
        self._timer_deadline = None
        self.submit(i.Tick())

    def health(self) -> dict[str, Any]:
        engine = self.engine
        connected = self.ami is not None and self.ami.connected and engine.link_up
        return {
            "status": "ok" if connected else "degraded",
            "ami_connected": connected,
            "site": self.config.site.name,
            "calls_active": len(engine.calls),
            "calls_waiting": {q: len(queue) for q, queue in engine.queues.items()},
            "uptime_s": round(time.time() - self.started_at, 1),
        }


def settle_heap() -> None:
    """Move everything built at start (modules, config, agents, calendar) out of the
    garbage collector's sight: a full collection then walks only what routing made
    since, which keeps its pause on the event loop short."""
    import gc

    gc.collect()
    gc.freeze()


def _warm_calendar(config: Config) -> None:
    """Load the holiday calendar now (this year and the next): the library imports its
    country data on first use, about 0.1 s that would otherwise stall the first call."""
    from datetime import date

    from acd.core.hours import public_holiday

    today = date.today()
    for year in (today.year, today.year + 1):
        public_holiday(config.site.departement, today.replace(year=year, day=1))


def _log_fact(fact: f.Fact) -> None:
    if isinstance(fact, f.CallEnded):
        log.info("call_ended", call=fact.call, queue=fact.queue, outcome=fact.outcome,
                 wait_s=fact.record.wait_s)
    elif isinstance(fact, f.CallAnswered):
        log.info("call_answered", call=fact.call, queue=fact.queue, agent=fact.agent,
                 wait_s=round(fact.wait_s, 3), first=fact.first)
    elif isinstance(fact, f.CallQueued) and fact.new:
        log.info("call_queued", call=fact.call, queue=fact.queue, number=fact.number,
                 priority=fact.priority)
    elif isinstance(fact, f.CallReturned):
        log.info("call_returned", call=fact.call, queue=fact.queue, agent=fact.agent,
                 reason=fact.reason)
    elif isinstance(fact, f.CallTransferred):
        log.info("call_transferred", call=fact.call, from_queue=fact.from_queue,
                 to_queue=fact.to_queue, agent=fact.agent, result=fact.result,
                 reason=fact.reason)
    elif isinstance(fact, f.CallOverflowed):
        log.info("call_overflowed", call=fact.call, queue=fact.queue, partner=fact.partner,
                 result=fact.result, reason=fact.reason)
    elif isinstance(fact, f.BasculeChanged):
        log.warning("bascule", queue=fact.queue, share=fact.share, partner=fact.partner,
                    by=fact.by, reason=fact.reason)
    elif isinstance(fact, f.AgentStateChanged):
        log.info("agent_state", agent=fact.agent, old=fact.old, new=fact.new, reason=fact.reason)
    elif isinstance(fact, (f.StateRepaired, f.InputIgnored)):
        log.warning(type(fact).__name__, **{k: getattr(fact, k) for k in fact.__struct_fields__})


async def serve(config: Config, stop: asyncio.Event, *,
                ready: Callable[[Router], None] | None = None) -> None:
    """Run the router until ``stop`` is set; then shut down within SHUTDOWN_TIMEOUT_S."""
    from acd.api import start_http
    from acd.metrics import RouterMetrics, watch_loop_lag
    from acd.tokens import HOW_TO_CONFIGURE, load_tokens

    router = Router(config)
    metrics = RouterMetrics(router)
    metrics.attach()
    secret = ami_secret(config)
    tokens = load_tokens(config)  # SecretError if a named tokens file is unusable
    router.ami = AmiConnection(config.ami, secret, router)
    http = await start_http(router, config.http.bind, config.http.port, metrics=metrics,
                            tokens=tokens, api_config=config.api)
    log.info("router_started", site=config.site.name, agents=len(config.agents),
             http=f"{config.http.bind}:{http.port}",
             state="in memory (no Redis configured)" if config.redis is None else "redis")
    if len(tokens):
        log.info("api_tokens", source=tokens.source, roles=tokens.roles())
    else:
        log.warning("api_disabled", reason=HOW_TO_CONFIGURE)
    if ready is not None:
        ready(router)
    settle_heap()
    ami_task = asyncio.create_task(router.ami.run(), name="ami")
    lag_task = asyncio.create_task(watch_loop_lag(metrics), name="loop-lag")
    try:
        await stop.wait()
    finally:
        log.info("router_stopping")
        lag_task.cancel()
        try:
            async with asyncio.timeout(SHUTDOWN_TIMEOUT_S):
                await router.ami.stop()
                ami_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ami_task
                with contextlib.suppress(asyncio.CancelledError):
                    await lag_task
                await http.close()
        except TimeoutError:
            log.error("router_stop_timeout", after_s=SHUTDOWN_TIMEOUT_S)
        log.info("router_stopped")


def run_service(config: Config, *, config_path: str = "") -> int:
    """``acd run``: the service, on uvloop, until SIGTERM or SIGINT."""
    try:
        import uvloop

        runner: Callable[..., Any] = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        runner = asyncio.run

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(config, stop)

    runner(main())
    return 0
