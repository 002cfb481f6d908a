"""Limits of the HTTP server: a connection cap and a deadline for request headers.

aiohttp (the server) closes a kept-alive connection that sends no complete request
within its ``keepalive_timeout`` (``[http] keepalive_timeout_s``); it has no cap on
connections and no deadline on a first request's headers sent a byte at a time
(slowloris). :class:`ConnectionGuard` adds both, around aiohttp's own protocol:

* past ``max_connections`` open connections a new one is closed at once (the kernel
  accepted it; leaving it in the backlog would let idle sockets starve ``/healthz``);
* a connection whose first request headers (up to the blank line) have not all
  arrived ``header_timeout_s`` after it opened is closed.

Each is counted (``acd_http_connections_closed_total{reason}``: ``limit``,
``header_timeout``) and logged once per episode: the first after a quiet minute.
The guard sees bytes only to find the end of the headers; it keeps three of them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, cast

from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from acd.logs import get_logger

log = get_logger("acd.http")

#: what closed a connection (the ``reason`` label)
REASONS = ("limit", "header_timeout")
#: seconds without such a close that end an episode (the next one is logged)
QUIET_S = 60.0
_END_OF_HEADERS = b"\r\n\r\n"


class ConnectionGuard:
    """Counts open connections and enforces the two limits (see module docstring)."""

    def __init__(self, max_connections: int, header_timeout_s: float) -> None:
        self.max_connections = max_connections
        self.header_timeout_s = header_timeout_s
        self.open = 0
        self.closed: dict[str, int] = dict.fromkeys(REASONS, 0)
        self._last: dict[str, float] = {}

    def wrap(self, factory: Callable[[], Any]) -> Callable[[], asyncio.Protocol]:
        """A protocol factory for ``loop.create_server`` around aiohttp's."""
        return lambda: _Guarded(self, factory())

    def close_for(self, reason: str) -> None:
        self.closed[reason] += 1
        now = time.monotonic()
        last = self._last.get(reason)
        self._last[reason] = now
        if last is None or now - last >= QUIET_S:
            log.warning("http_connection_closed", reason=reason, open=self.open,
                        max_connections=self.max_connections,
                        header_timeout_s=self.header_timeout_s)

    def metrics(self) -> list[Any]:
        """``acd_http_connections`` and ``acd_http_connections_closed_total``."""
        gauge = GaugeMetricFamily("acd_http_connections", "HTTP connections open now "
                                  "(at most [http] max_connections).")
        gauge.add_metric([], self.open)
        closed = CounterMetricFamily(
            "acd_http_connections_closed", "HTTP connections closed by the server's "
            "limits: limit (max_connections), header_timeout (header_timeout_s).",
            labels=["reason"])
        for reason in REASONS:
            closed.add_metric([reason], self.closed[reason])
        return [gauge, closed]


class _Guarded(asyncio.Protocol):
    """aiohttp's request handler behind the guard (every call passed on as is)."""

    def __init__(self, guard: ConnectionGuard, inner: Any) -> None:
        self._guard = guard
        self._inner = inner
        self._admitted = False
        self._headers_done = False
        self._tail = b""
        self._timer: asyncio.TimerHandle | None = None
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        guard = self._guard
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods
        transport = cast(asyncio.Transport, transport)
        if guard.open >= guard.max_connections:
            guard.close_for("limit")
            transport.abort()
            return
        self._admitted = True
        self._transport = transport
        guard.open += 1
        self._timer = asyncio.get_running_loop().call_later(guard.header_timeout_s,
                                                            self._headers_late)
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self._admitted:
            return
        if not self._headers_done:
            seen = self._tail + data
            if _END_OF_HEADERS in seen:
                self._headers_done = True
                self._cancel_timer()
            else:
                self._tail = seen[-3:]
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        if not self._admitted:
            return None
        result: bool | None = self._inner.eof_received()
        return result

    def pause_writing(self) -> None:
        if self._admitted:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._admitted:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._admitted:
            return
        self._admitted = False
        self._guard.open -= 1
        self._cancel_timer()
        self._inner.connection_lost(exc)

    def _headers_late(self) -> None:
        self._timer = None
        if not self._headers_done and self._transport is not None:
            self._guard.close_for("header_timeout")
            self._transport.abort()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class GuardedSite(web.BaseSite):
    """aiohttp's TCP site with the guard around each connection."""

    __slots__ = ("_guard", "_host", "_port")

    def __init__(self, runner: web.BaseRunner, host: str, port: int,
                 guard: ConnectionGuard, *, backlog: int = 128) -> None:
        super().__init__(runner, backlog=backlog)
        self._host = host
        self._port = port
        self._guard = guard

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            self._guard.wrap(server), self._host, self._port, backlog=self._backlog,
            reuse_address=True)

    @property
    def bound_port(self) -> int:
        sockets = getattr(self._server, "sockets", None) or ()
        return int(sockets[0].getsockname()[1]) if sockets else self._port
