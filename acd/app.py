"""The running service: the composition root that wires adapters to the engine.

One event loop, one writer. AMI events, timer ticks, action failures and HTTP intents
all reach :meth:`Router.submit`, which runs ``engine.handle`` synchronously (it never
awaits), so inputs are applied one at a time in arrival order, exactly as through a
queue, without a queue's latency. Outputs are applied at once: actions are written
to the AMI socket, facts are logged and counted (:mod:`acd.metrics`) and,
later, journaled.

No single input stops routing: an exception while applying one input (an event, a
tick, an intent), sending one of its actions or publishing one of its facts is logged
once (``input_failed``, with the input's kind and where it was raised, no value),
counted (``acd_input_errors_total{kind}``), and the router goes on with the next; a
resync's other actions are all sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from acd.ami.actions import Setvar
from acd.ami.client import AmiConnection
from acd.ami.events import AmiEvent, Reload, StatusEntry
from acd.config import Config
from acd.config.secrets import ami_secret
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.engine import Engine, Output
from acd.logs import get_logger, where
from acd.sdnotify import Notifier
from acd.store.leader import Election, start_election
from acd.supervise import Supervisor

if TYPE_CHECKING:
    from acd.store import Store

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
        self._audit_listeners: list[Callable[[dict[str, Any]], None]] = []
        #: extra parts of /healthz (``"store"`` → the durable state's health)
        self.health_sources: dict[str, Callable[[], dict[str, Any]]] = {}
        #: given each input's decision time in seconds (acd_routing_decision_seconds)
        self.decision_observer: Callable[[float], None] | None = None
        names = config.dialplan
        #: channel variables read back from Asterisk at resync
        self.resync_variables = (names.number_var, names.arrived_var, names.priority_var)
        self.started_at = time.time()
        #: set while the AMI session is up and resynchronised (readiness)
        self.link_ready = asyncio.Event()
        #: told ``(True, detail)`` when the link is up and resynchronised, ``(False,
        #: reason)`` when it drops (systemd status, :func:`serve`)
        self._link_listeners: list[Callable[[bool, str], None]] = []
        #: the leader election of an active/standby pair; None: alone, always deciding
        self.election: Election | None = None
        #: actions dropped because this router is not (or no longer) the leader
        self.actions_fenced = 0
        #: monotonic time of the last election won, until the resync that follows
        self._elected_at: float | None = None
        #: more metric families for /metrics (the HTTP server's connection guard)
        self.metric_sources: list[Callable[[], list[Any]]] = []
        #: whether every background task runs (a heartbeat down: degraded, 503)
        self.tasks_ok: Callable[[], bool] = lambda: True
        #: inputs (events, ticks, intents, actions, fact listeners) whose handling
        #: raised, by kind: acd_input_errors_total{kind}
        self.input_errors: dict[str, int] = {}
        _warm_calendar(config)

    # -------------------------------------------------------------- leadership

    def may_act(self) -> bool:
        """Whether this router may send AMI actions now: alone, or the leader whose
        lease has not run out (checked on the monotonic clock at every action)."""
        return self.election is None or self.election.check()

    @property
    def role(self) -> str:
        if self.election is None:
            return "alone"
        return "leader" if self.election.leading else "standby"

    def fence_token(self) -> int | None:
        """The fencing token for writes (None: do not write); 0 when alone."""
        if self.election is None:
            return 0
        return self.election.lock.fence_token()

    def standby(self) -> None:
        """Follow Asterisk's events without deciding (the start of a pair member)."""
        self.engine.decide = False

    def become_leader(self, token: int) -> None:
        """Won the lock: decide again, after a fresh view of Asterisk's channels."""
        self._elected_at = time.monotonic()
        self.engine.decide = True
        self.engine.link_up = False  # no offer before the resync below has landed
        log.warning("router_leading", token=token)
        if self.ami is not None and self.ami.connected:
            self.ami.resync("elected")

    def become_standby(self, reason: str) -> None:
        """Lost the lock (or stopping): stop deciding at once; keep following."""
        self.engine.decide = False
        self._elected_at = None
        log.warning("router_standby", reason=reason)

    def send_heartbeat(self) -> None:
        """Refresh the dialplan's fail-open heartbeat (a global Setvar) with the PBX's
        time; only a router that may act does it, so a silent pair fails open."""
        ami = self.ami
        if ami is None or not ami.connected or not self.engine.link_up \
                or not self.engine.decide or not self.may_act():
            return
        action = Setvar(variable=self.config.dialplan.heartbeat_var,
                        value=str(int(self.clock())))
        ami.send(action).add_done_callback(_heartbeat_done)

    # -------------------------------------------------------------- inputs

    def submit(self, item: object) -> Output:
        """Apply one input now; send its actions; publish its facts."""
        now = self.clock()
        started = time.perf_counter()
        try:
            out = self.engine.handle(item, now)
        except Exception as exc:  # one input must not stop routing for everybody
            self.input_failed(_kind_of(item), exc, type(item).__name__)
            out = Output([], [])
        if self.decision_observer is not None:
            self.decision_observer(time.perf_counter() - started)
        for command in out.commands:
            try:
                self._send(command)
            except Exception as exc:  # the other actions are still sent
                self.input_failed("action", exc, command.name)
        for fact in out.facts:
            self._publish(fact)
        self._schedule_tick()
        return out

    def input_failed(self, kind: str, exc: BaseException | None = None,
                     name: str = "") -> None:
        """Count one input that failed (``kind``: one of INPUT_KINDS) and log it, with
        its type and where it raised, no value (a caller's number could be in it)."""
        self.input_errors[kind] = self.input_errors.get(kind, 0) + 1
        if exc is not None:
            log.error("input_failed", kind=kind, input=name or kind,
                      error=type(exc).__name__, where=where(exc))

    def on_event(self, event: AmiEvent) -> None:
        if self.pbx_clock is not None and event.timestamp is not None:
            self.pbx_clock.observe(event.timestamp)
        if isinstance(event, Reload):
            # a reload may have set the heartbeat global back (a site's [globals] that
            # still lists it, or clearglobalvars = yes): refresh it now, not in a second
            self.send_heartbeat()
        self.submit(event)

    def on_link_up(self, channels: list[StatusEntry], taken_at: float) -> None:
        """``taken_at`` is Asterisk's time when the list was asked for."""
        if self.pbx_clock is not None:
            self.pbx_clock.observe_at_least(taken_at)
        self.submit(i.ChannelsSnapshot(channels, taken_at=taken_at))
        self.send_heartbeat()  # at once: callers in [holding] check it
        self.link_ready.set()
        if self._elected_at is not None and self.engine.decide:
            log.warning("takeover_done", channels=len(channels),
                        after_s=round(time.monotonic() - self._elected_at, 3))
            self._elected_at = None
        for listener in self._link_listeners:
            listener(True, f"{len(channels)} channels resynchronised")

    def on_link_down(self, reason: str) -> None:
        self.link_ready.clear()
        self.submit(i.LinkDown(reason))
        for listener in self._link_listeners:
            listener(False, reason)

    def add_link_listener(self, listener: Callable[[bool, str], None]) -> None:
        self._link_listeners.append(listener)

    def add_fact_listener(self, listener: Callable[[f.Fact], None]) -> None:
        self._fact_listeners.append(listener)

    def add_audit_listener(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """``listener`` gets each audited API write (the durable audit in Redis)."""
        self._audit_listeners.append(listener)

    def publish_audit(self, entry: dict[str, Any]) -> None:
        for listener in self._audit_listeners:
            listener(entry)

    # -------------------------------------------------------------- outputs

    def _send(self, command: Any) -> None:
        if self.ami is None:
            return
        if not self.may_act():
            self.actions_fenced += 1
            log.warning("action_fenced", action=command.name, role=self.role)
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
            try:
                listener(fact)
            except Exception as exc:  # the other listeners still hear of it
                self.input_failed("fact_listener", exc, type(fact).__name__)
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
            "status": "ok" if connected and self.tasks_ok() else "degraded",
            "ami_connected": connected,
            "site": self.config.site.name,
            "calls_active": len(engine.calls),
            "calls_waiting": {q: len(queue) for q, queue in engine.queues.items()},
            "role": self.role,
            "uptime_s": round(time.time() - self.started_at, 1),
            **{name: source() for name, source in self.health_sources.items()},
        }


def _kind_of(item: object) -> str:
    """The ``kind`` label of an input (see :data:`acd.supervise.INPUT_KINDS`)."""
    if isinstance(item, AmiEvent):
        return "ami_event"
    if isinstance(item, i.Tick):
        return "tick"
    if isinstance(item, (i.ChannelsSnapshot, i.Reconcile, i.LinkDown)):
        return "resync"
    if isinstance(item, i.ActionFailed):
        return "action"
    return "intent"


def _heartbeat_done(future: asyncio.Future[Any]) -> None:
    """A heartbeat that failed is only logged: the next one comes a second later."""
    if future.cancelled():
        return
    exc = future.exception()
    if exc is not None:
        log.debug("heartbeat_failed", error=str(exc))


async def run_heartbeat(router: Router) -> None:
    """Every ``[routing] heartbeat_s`` of PBX time (at least every 20 ms of real time)."""
    interval = max(router.config.routing.heartbeat_s / router.speed, 0.02)
    while True:
        router.send_heartbeat()
        await asyncio.sleep(interval)


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
    elif isinstance(fact, f.AgentReskilled):
        log.warning("agent_reskilled", agent=fact.agent, old=fact.old, new=fact.new,
                    by=fact.by, reason=fact.reason)
    elif isinstance(fact, f.AgentStateChanged):
        log.info("agent_state", agent=fact.agent, old=fact.old, new=fact.new, reason=fact.reason)
    elif isinstance(fact, f.StateRestored):
        log.info("state_restored", calls=fact.calls, waiting=fact.waiting, agents=fact.agents,
                 saved_at=fact.saved_at)
    elif isinstance(fact, (f.StateRepaired, f.InputIgnored)):
        log.warning(type(fact).__name__, **{k: getattr(fact, k) for k in fact.__struct_fields__})


def _systemd_reporter(config: Config, notifier: Notifier) -> Callable[[bool, str], None]:
    """Tell systemd ``READY=1`` the first time the AMI session is up and resynchronised
    (the engine has Asterisk's channels: it can route), then keep ``STATUS=`` current."""
    where = f"{config.ami.host}:{config.ami.port}"
    announced = False

    def on_link(up: bool, detail: str) -> None:
        nonlocal announced
        if up and not announced:
            announced = True
            notifier.ready(f"routing: AMI {where} up, {detail}")
        elif up:
            notifier.status(f"routing: AMI {where} up again, {detail}")
        else:
            notifier.status(f"AMI {where} down ({detail}): reconnecting, not routing")

    return on_link


async def serve(config: Config, stop: asyncio.Event, *,
                ready: Callable[[Router], None] | None = None,
                notifier: Notifier | None = None, speed: float = 1.0,
                records_out: str | None = None) -> None:
    """Run the router until ``stop`` is set; then shut down within SHUTDOWN_TIMEOUT_S.

    Under systemd (``Type=notify``), ``READY=1`` is sent once the AMI session is up and
    resynchronised; ``STOPPING=1`` when ``stop`` is set; the watchdog is pinged from
    this event loop while it turns. ``speed``: the PBX's clock runs that much faster
    than real time (a simulator); ``records_out``: append each finished call's record
    to that file (JSON lines).
    """
    from acd.api import start_http
    from acd.metrics import RouterMetrics, watch_loop_lag
    from acd.reconciler import run_reconciler
    from acd.tokens import HOW_TO_CONFIGURE, load_tokens

    notifier = notifier or Notifier()
    router = Router(config, speed=speed)
    # READY=1 goes with the first resync, the last step before routing: the durable
    # store (below) restores the saved state before the AMI task starts.
    router.add_link_listener(_systemd_reporter(config, notifier))
    from acd.failopen_members import FailopenMembers

    FailopenMembers(router).attach()  # the fail-open queue's members follow the agents
    records = RecordsFile(records_out) if records_out else None
    if records is not None:
        router.add_fact_listener(records.on_fact)
    metrics = RouterMetrics(router)
    metrics.attach()
    secret = ami_secret(config)
    tokens = load_tokens(config)  # SecretError if a named tokens file is unusable
    router.ami = AmiConnection(config.ami, secret, router)
    router.ami.on_error = router.input_failed
    supervisor = Supervisor()
    router.health_sources["tasks"] = supervisor.health
    router.tasks_ok = supervisor.ok
    store: Store | None = None
    pair = config.leader is not None and config.leader.enabled
    if pair:  # before the store: its writer asks the election for the fencing token
        def elected(token: int) -> None:
            router.become_leader(token)
            if store is not None:
                store.lead()

        router.standby()
        router.election = start_election(config, on_elected=elected,
                                         on_deposed=router.become_standby)
    if config.redis is not None:
        from acd.store import open_store

        # the saved state is taken back before the AMI session starts; its resync then
        # reconciles it with Asterisk
        store = await open_store(config, router, registry=metrics.registry,
                                 fence_token=router.fence_token if pair else None)
    http = await start_http(router, config.http.bind, config.http.port, metrics=metrics,
                            tokens=tokens, api_config=config.api, limits=config.http)
    log.info("router_started", site=config.site.name, agents=len(config.agents),
             http=f"{config.http.bind}:{http.port}",
             state="in memory (no Redis configured)" if store is None
             else f"redis (namespace {store.namespace}, restore {store.restore_result})")
    if len(tokens):
        log.info("api_tokens", source=tokens.source, roles=tokens.roles())
    else:
        log.warning("api_disabled", reason=HOW_TO_CONFIGURE)
    if ready is not None:
        ready(router)
    settle_heap()
    notifier.status(f"connecting to AMI {config.ami.host}:{config.ami.port}")
    ami_task = asyncio.create_task(router.ami.run(), name="ami")
    background = [asyncio.create_task(watch_loop_lag(metrics), name="loop-lag"),
                  asyncio.create_task(notifier.watchdog(), name="watchdog"),
                  supervisor.start("heartbeat", functools.partial(run_heartbeat, router))]
    if config.ami.reconcile_s > 0:
        background.append(supervisor.start("reconciler", functools.partial(
            run_reconciler, router, config.ami.reconcile_s)))
    election_task = (asyncio.create_task(router.election.run(), name="election")
                     if router.election is not None else None)
    try:
        await stop.wait()
    finally:
        notifier.stopping()
        log.info("router_stopping")
        for task in background:
            task.cancel()
        began = time.monotonic()
        try:
            async with asyncio.timeout(SHUTDOWN_TIMEOUT_S):
                if election_task is not None and router.election is not None:
                    election_task.cancel()  # gives the lock up: the standby takes over
                    with contextlib.suppress(asyncio.CancelledError):
                        await election_task
                    await router.election.close()
                await router.ami.stop()
                ami_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ami_task
                for task in background:
                    try:
                        await task
                    except asyncio.CancelledError:
                        pass
                    except Exception as exc:  # the last flush below must still run
                        log.error("task_failed", task=task.get_name(),
                                  error=type(exc).__name__, where=where(exc))
                await http.close()
                if store is not None:  # a last flush with what is left of the budget
                    left = SHUTDOWN_TIMEOUT_S - (time.monotonic() - began) - 0.5
                    await store.close(max(0.1, left))
        except TimeoutError:
            log.error("router_stop_timeout", after_s=SHUTDOWN_TIMEOUT_S)
        if records is not None:
            records.close()
        log.info("router_stopped")


class RecordsFile:
    """Call records appended to a file, one JSON line each, flushed at once (so a
    process killed with SIGKILL loses none it had written)."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "ab")  # noqa: SIM115 - held for the router's lifetime
        self._encoder = msgspec.json.Encoder()

    def on_fact(self, fact: f.Fact) -> None:
        if isinstance(fact, f.CallEnded):
            self._file.write(self._encoder.encode(fact.record) + b"\n")
            self._file.flush()

    def close(self) -> None:
        self._file.close()


def run_service(config: Config, *, config_path: str = "", speed: float = 1.0,
                records_out: str | None = None) -> int:
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
        # No reload: a SIGHUP (a habit, or a reload by mistake) must not stop the router,
        # which systemd would count as a clean exit and not restart.
        loop.add_signal_handler(signal.SIGHUP, functools.partial(
            log.warning, "sighup_ignored",
            reason="acd reads its config at start only: check it, then restart"))
        await serve(config, stop, speed=speed, records_out=records_out)

    runner(main())
    return 0
