"""``acd run``: the service composed (:func:`acd.service.build.build`), its durable
store and HTTP server opened, its background tasks started; then a bounded shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from acd.aiotasks import cancel_and_wait
from acd.config import Config
from acd.config.secrets import ami_secret
from acd.http import HttpServer
from acd.http.tokens import HOW_TO_CONFIGURE, TokenSet, load_tokens
from acd.logs import get_logger, where
from acd.metrics import watch_loop_lag
from acd.service.build import build
from acd.service.clock import engine_clock
from acd.service.link import LinkChange
from acd.service.sdnotify import Notifier
from acd.service.service import Service
from acd.store.leader import leader_lock

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


def systemd_reporter(config: Config, notifier: Notifier) -> Callable[[LinkChange], None]:
    """Tell systemd ``READY=1`` the first time the AMI session is up and resynchronised
    (the engine has Asterisk's channels: it can route), then keep ``STATUS=`` current."""
    where = f"{config.ami.host}:{config.ami.port}"
    announced = False

    def on_link(change: LinkChange) -> None:
        nonlocal announced
        up, detail = change.up, change.detail
        if up and not announced:
            announced = True
            notifier.ready(f"routing: AMI {where} up, {detail}")
        elif up:
            notifier.status(f"routing: AMI {where} up again, {detail}")
        else:
            notifier.status(f"AMI {where} down ({detail}): reconnecting, not routing")

    return on_link


async def serve(config: Config, stop: asyncio.Event, *,
                ready: Callable[[Service], None] | None = None,
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
    secret = ami_secret(config)
    tokens = load_tokens(config)  # SecretError if a named tokens file is unusable
    pair = config.leader is not None and config.leader.enabled
    service = build(config, clock=engine_clock(speed=speed), ami=config.ami, secret=secret,
                    lock=leader_lock(config) if pair else None, records_out=records_out)
    # READY=1 goes with the first resync, the last step before routing: the durable
    # store (below) restores the saved state before the AMI task starts.
    service.router.add_link_listener(systemd_reporter(config, notifier))
    if config.redis is not None:
        await service.open_store()
    http = await service.open_http(tokens)
    _log_started(service, http.port, tokens)
    if ready is not None:
        ready(service)
    settle_heap()
    notifier.status(f"connecting to AMI {config.ami.host}:{config.ami.port}")
    running = _start(service, notifier)
    try:
        await stop.wait()
    finally:
        notifier.stopping()
        log.info("router_stopping")
        await _stop(service, running, http)
        log.info("router_stopped")


@dataclass
class _Running:
    """The tasks of a running service: its AMI session, its election (a pair member)
    and the background tasks cancelled first at shutdown."""

    ami: asyncio.Task[None]
    election: asyncio.Task[None] | None
    background: list[asyncio.Task[None]]


def _start(service: Service, notifier: Notifier) -> _Running:
    """Start the AMI session, the election and the background tasks (the heartbeat
    and the reconciler supervised: restarted if they fail)."""
    assert service.ami is not None
    assert service.metrics is not None
    config, parts = service.config, service.parts
    supervisor = parts.supervisor
    ami = asyncio.create_task(service.ami.run(), name="ami")
    background = [asyncio.create_task(watch_loop_lag(service.metrics), name="loop-lag"),
                  asyncio.create_task(notifier.watchdog(), name="watchdog"),
                  supervisor.start("heartbeat", parts.heartbeat.run)]
    if config.ami.reconcile_s > 0 and parts.reconciler is not None:
        background.append(supervisor.start("reconciler", functools.partial(
            parts.reconciler.run, config.ami.reconcile_s)))
    election = parts.leadership.election
    return _Running(ami, None if election is None else asyncio.create_task(
        election.run(), name="election"), background)


async def _stop(service: Service, running: _Running, http: HttpServer) -> None:
    """Stop everything within SHUTDOWN_TIMEOUT_S: give the leader lock up (the standby
    takes over), end the AMI session, the background tasks, the HTTP server, then a
    last flush of the durable store with what is left of the budget."""
    for task in running.background:
        task.cancel()
    began = time.monotonic()
    try:
        async with asyncio.timeout(SHUTDOWN_TIMEOUT_S):
            election = service.parts.leadership.election
            if running.election is not None and election is not None:
                await cancel_and_wait(running.election)
                await election.close()
            assert service.ami is not None
            await service.ami.stop()
            await cancel_and_wait(running.ami)
            await _ended(running.background)
            await http.close()
            if service.store is not None:
                left = SHUTDOWN_TIMEOUT_S - (time.monotonic() - began) - 0.5
                await service.store.close(max(0.1, left))
    except TimeoutError:
        log.error("router_stop_timeout", after_s=SHUTDOWN_TIMEOUT_S)
    records_file = service.parts.records_file
    if records_file is not None:
        with contextlib.suppress(OSError):  # logged: records_file_unwritten
            records_file.close()


async def _ended(tasks: list[asyncio.Task[None]]) -> None:
    """Wait for cancelled tasks; one that had failed is logged (the last flush after
    them must still run)."""
    for task in tasks:
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception as exc:
            log.error("task_failed", task=task.get_name(),
                      error=type(exc).__name__, where=where(exc))


def _log_started(service: Service, http_port: int, tokens: TokenSet) -> None:
    config, store = service.config, service.store
    log.info("router_started", site=config.site.name, agents=len(config.agents),
             http=f"{config.http.bind}:{http_port}",
             state="in memory (no Redis configured)" if store is None
             else f"redis (namespace {store.namespace}, restore {store.restore_result})")
    if len(tokens):
        log.info("api_tokens", source=tokens.source, roles=tokens.roles())
    else:
        log.warning("api_disabled", reason=HOW_TO_CONFIGURE)


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
