"""The composition root of ``acd run``: the router, its adapters (AMI, durable store,
HTTP with the API and the event stream, metrics) and its background tasks, wired once;
then a bounded shutdown. The only module that imports every adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from acd.aiotasks import cancel_and_wait
from acd.ami.client import AmiConnection
from acd.config import Config
from acd.config.secrets import ami_secret
from acd.http import start_http
from acd.http.tokens import HOW_TO_CONFIGURE, load_tokens
from acd.logs import get_logger, where
from acd.metrics import RouterMetrics, watch_loop_lag
from acd.service.failopen_members import FailopenMembers
from acd.service.heartbeat import run_heartbeat
from acd.service.reconciler import run_reconciler
from acd.service.recordfile import RecordsFile
from acd.service.router import Router
from acd.service.sdnotify import Notifier
from acd.service.supervise import Supervisor
from acd.store.leader import start_election

if TYPE_CHECKING:
    from acd.store import Store

log = get_logger("acd.router")

#: SIGTERM → stopped within this many seconds, whatever is in flight
SHUTDOWN_TIMEOUT_S = 5.0


def settle_heap() -> None:
    """Move everything built at start (modules, config, agents, calendar) out of the
    garbage collector's sight: a full collection then walks only what routing made
    since, which keeps its pause on the event loop short."""
    import gc

    gc.collect()
    gc.freeze()


def systemd_reporter(config: Config, notifier: Notifier) -> Callable[[bool, str], None]:
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

    notifier = notifier or Notifier()
    router = Router(config, speed=speed)
    # READY=1 goes with the first resync, the last step before routing: the durable
    # store (below) restores the saved state before the AMI task starts.
    router.add_link_listener(systemd_reporter(config, notifier))
    failopen = FailopenMembers(router)  # the fail-open queue's members follow the agents
    failopen.attach()
    records = RecordsFile(records_out) if records_out else None
    if records is not None:
        router.add_fact_listener(records.on_fact)
        router.health_sources["records_file"] = records.health
        router.metric_sources.append(records.metrics)
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
            run_reconciler, router, config.ami.reconcile_s, failopen=failopen)))
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
                    # gives the lock up: the standby takes over
                    await cancel_and_wait(election_task)
                    await router.election.close()
                await router.ami.stop()
                await cancel_and_wait(ami_task)
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
            with contextlib.suppress(OSError):  # logged: records_file_unwritten
                records.close()
        log.info("router_stopped")


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
