"""A router's durable state: restore at start, then write behind it until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from acd.config import Config, RedisConfig, namespace_of
from acd.config.secrets import redis_password_and_source
from acd.core import inputs as i
from acd.core.state import EngineState
from acd.logs import get_logger, where
from acd.store.metrics import StoreMetrics
from acd.store.state_reader import read_state
from acd.store.writer import JournalWriter

if TYPE_CHECKING:
    from acd.core.ports import StoreHost

log = get_logger("acd.store")

#: a writer task that died of an exception is started again after this many seconds
WRITER_RESTART_S = 0.5


def connect(settings: RedisConfig, password: str | None = None) -> Redis:
    """An asyncio Redis client that fails fast (the writer retries on its own): to
    ``url``, or with ``sentinels`` to the master they name (found again after a
    failover at the next connection)."""
    options: dict[str, Any] = {
        "password": password, "socket_timeout": settings.timeout_s,
        "socket_connect_timeout": settings.timeout_s, "retry": Retry(NoBackoff(), 0),
        "health_check_interval": 0}
    if settings.sentinels:
        from redis.asyncio.sentinel import Sentinel

        sentinel = Sentinel(
            sentinel_addresses(settings),
            sentinel_kwargs={"socket_timeout": settings.timeout_s,
                             "socket_connect_timeout": settings.timeout_s})
        master: Redis = sentinel.master_for(settings.sentinel_service, db=database(settings),
                                            **options)
        return master
    client: Redis = Redis.from_url(settings.url, **options)
    return client


async def disconnect(client: Redis) -> None:
    """Close ``client`` and its connection pool (and, through Sentinel, the
    connections to the sentinels)."""
    manager = getattr(client.connection_pool, "sentinel_manager", None)
    await client.aclose(close_connection_pool=True)
    for sentinel in getattr(manager, "sentinels", ()):
        await sentinel.aclose(close_connection_pool=True)


def sentinel_addresses(settings: RedisConfig) -> list[tuple[str, int]]:
    return [(host, int(port)) for host, port in
            (entry.rsplit(":", 1) for entry in settings.sentinels)]


def database(settings: RedisConfig) -> int:
    """The database number of ``url`` (``redis://host/3`` → 3; default 0)."""
    from urllib.parse import urlsplit

    path = urlsplit(settings.url).path.strip("/")
    return int(path) if path.isdigit() else 0


class Store:
    """The durable state of one router: a :class:`~acd.store.writer.JournalWriter`
    attached to it, and the restore. Build it with :func:`open_store` (the service)
    or :func:`attach_store` (benchmarks, tests)."""

    def __init__(self, router: StoreHost, redis: Redis, namespace: str, settings: RedisConfig,
                 *, registry: CollectorRegistry | None = None,
                 fence_token: Callable[[], int | None] | None = None) -> None:
        self.router = router
        self.redis = redis
        self.namespace = namespace
        self.settings = settings
        self.registry = registry if registry is not None else CollectorRegistry()
        self._writer: JournalWriter | None = None
        self.metrics = StoreMetrics(self.registry, lambda: len(self.writer.buffer))
        self.writer = JournalWriter(redis, namespace, router.engine, settings, self.metrics,
                                    fence_token=fence_token)
        self._task: asyncio.Task[None] | None = None
        #: the writer task ended with an exception and was started again this often
        self.writer_restarts = 0
        #: how the start went: "restored", "empty" (nothing saved), "failed", "skipped"
        self.restore_result = "skipped"

    # ------------------------------------------------------------------ start

    async def restore(self, within_s: float | None = None) -> EngineState | None:
        """Read the saved state and give it to the engine; call before the AMI session
        starts. Keeps trying for ``within_s`` (default ``restore_timeout_s``); if Redis
        stays unreachable the router starts without it (the resync with Asterisk
        still finds every waiting caller, in arrival order, from its channel)."""
        limit = self.settings.restore_timeout_s if within_s is None else within_s
        deadline = time.monotonic() + limit
        attempt = 0
        while True:
            attempt += 1
            try:
                state = await read_state(self.redis, self.namespace)
                break
            except (RedisError, OSError) as exc:
                if time.monotonic() >= deadline:
                    self.restore_result = "failed"
                    log.error("state_restore_failed", error=f"{type(exc).__name__}: {exc}",
                              detail="starting without the saved state: waiting callers "
                              "are found again at the AMI resync; agents start as "
                              "configured")
                    self.metrics.redis_up.set(0)
                    return None
                await asyncio.sleep(min(0.2 * attempt, 1.0))
        self.metrics.redis_up.set(1)
        if state is None:
            self.restore_result = "empty"
            log.info("state_restore", result="nothing saved", namespace=self.namespace)
            return None
        self.router.submit(i.StateRestored(state))
        self.restore_result = "restored"
        return state

    def attach(self) -> None:
        """Start journaling the router's facts and API writes (no I/O here)."""
        self.router.add_fact_listener(self.writer.on_fact)
        self.router.add_audit_listener(self.writer.on_audit)
        self.router.health_sources["store"] = self.health

    def start(self) -> asyncio.Task[None]:
        """Run the writer task (the first batch writes the whole snapshot)."""
        if self._task is None:
            self._task = asyncio.create_task(self.writer.run(), name="journal-writer")
            self._task.add_done_callback(self._writer_ended)
            self.writer.wake()
        return self._task

    def _writer_ended(self, task: asyncio.Task[None]) -> None:
        """The writer ends on purpose when fenced or closed; if it died of an exception
        (a bug: its batches catch their own), log it and start it again."""
        if task is not self._task or task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        assert exc is not None
        self.writer_restarts += 1
        log.error("task_failed", task="journal-writer", error=type(exc).__name__,
                  where=where(exc), restart_in_s=WRITER_RESTART_S)
        self._task = None
        asyncio.get_running_loop().call_later(WRITER_RESTART_S, self._restart_writer)

    def _restart_writer(self) -> None:
        if self._task is None and not self.writer.fenced:
            log.warning("task_restarted", task="journal-writer",
                        restarts=self.writer_restarts)
            self.start()

    def lead(self) -> None:
        """The router won the leader lock: write again (the writer task ends when it is
        fenced, so it is started anew)."""
        self.writer.lead()
        if self._task is not None and self._task.done():
            self._task = None
        self.start()

    # ------------------------------------------------------------------ run, stop

    def health(self) -> dict[str, Any]:
        writer = self.writer
        return {
            "redis_up": bool(writer.up),
            "namespace": self.namespace,
            "buffered": len(writer.buffer),
            "buffer_limit": writer.buffer.limit,
            "dropped": sum(writer.buffer.dropped.values()),
            "fenced": writer.fenced,
            "restore": self.restore_result,
            "writer_running": self._task is not None and not self._task.done(),
            "writer_restarts": self.writer_restarts,
        }

    async def flush(self) -> None:
        """Write everything buffered now (tests, benchmarks); raises if Redis fails."""
        await self.writer.flush()

    async def close(self, within_s: float = 2.0) -> bool:
        """Stop writing: a last flush within ``within_s`` (best effort), then close the
        connection. True if nothing was left unwritten."""
        done = await self.writer.close(self._task, within_s)
        self._task = None
        with contextlib.suppress(TimeoutError, RedisError, OSError):
            await asyncio.wait_for(disconnect(self.redis), 1.0)
        log.info("store_closed", written_all=done, left=len(self.writer.buffer))
        return done


def attach_store(router: StoreHost, url: str, namespace: str, *,
                 settings: RedisConfig | None = None, password: str | None = None,
                 registry: CollectorRegistry | None = None,
                 fence_token: Callable[[], int | None] | None = None) -> Store:
    """A store for ``router`` on the Redis at ``url``, namespace ``namespace``,
    attached (journaling from now on) but not started: call ``store.start()`` (and
    ``await store.restore()`` first to take back a saved state). For benchmarks and
    tests; the service uses :func:`open_store`."""
    settings = settings or RedisConfig(url=url)
    if settings.url != url:
        import msgspec

        settings = msgspec.structs.replace(settings, url=url)
    store = Store(router, connect(settings, password), namespace, settings,
                  registry=registry, fence_token=fence_token)
    store.attach()
    return store


async def open_store(config: Config, router: StoreHost, *,
                     fence_token: Callable[[], int | None] | None = None,
                     registry: CollectorRegistry | None = None,
                     restore: bool = True) -> Store:
    """The service's store: connect to ``[redis]``, take back the saved state (unless
    ``restore`` is False), attach to ``router`` and start writing. Call it before the
    AMI session starts. ``config.redis`` must be set."""
    if config.redis is None:
        raise ValueError("open_store needs a [redis] section")
    password, password_from = redis_password_and_source(config)
    store = Store(router, connect(config.redis, password),
                  namespace_of(config), config.redis, registry=registry,
                  fence_token=fence_token)
    if restore:
        await store.restore()
    store.attach()
    store.start()
    log.info("store_started", namespace=store.namespace, restore=store.restore_result,
             buffer=config.redis.journal_buffer, password_from=password_from)
    return store
