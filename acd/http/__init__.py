"""HTTP side of the router, aiohttp on the router's own event loop: ``/healthz``,
``/metrics`` and the supervisor and agent API ``/api/v1/`` (:mod:`acd.http.v1`, with
its live event stream :mod:`acd.http.cti`), and the supervisor's console, a page at ``/``
(:mod:`acd.http.console`), all on ``[http]`` bind and port.

``/healthz`` and ``/metrics`` ask for no token: health and metrics carry no personal
data (no caller number or name ever appears in a metric label, see
:mod:`acd.metrics`). Every ``/api/`` route needs a token (:mod:`acd.http.tokens`); with
none configured they all answer 401. The bind address defaults to 127.0.0.1: binding
another address puts the API on the network, so configure tokens first (and put TLS in
front: tokens travel in a header).

The server is limited so that no client, idle or slow, can starve the others: at
most ``[http] max_connections`` connections, request headers within
``header_timeout_s`` of connecting, a next request within ``keepalive_timeout_s`` on a
kept-alive connection (:mod:`acd.http.guard`). aiohttp's own errors (a request it cannot
parse, a handler that raised) are one JSON line each, without the request's text
(:mod:`acd.http.serverlog`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from acd.config import HttpConfig
from acd.http.console import Console
from acd.http.guard import ConnectionGuard, GuardedSite
from acd.http.serverlog import SERVER_LOGGER
from acd.http.v1 import Api
from acd.http.wire import json_errors

if TYPE_CHECKING:
    from acd.config import ApiConfig
    from acd.http.room import ConsoleHost
    from acd.http.tokens import TokenSet
    from acd.metrics import RouterMetrics

__all__ = ["METRICS_CONTENT_TYPE", "Api", "HttpServer", "build_app", "start_http"]

#: the Prometheus text format, version 0.0.4: what ``generate_latest`` writes for our
#: names, and what every Prometheus server reads
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: request bodies of the API are small JSON objects
MAX_BODY_BYTES = 64 * 1024
#: seconds aiohttp waits for requests in flight when the server stops
HTTP_SHUTDOWN_S = 1.0
API_KEY: web.AppKey[Api] = web.AppKey("api", Api)
CONSOLE_KEY: web.AppKey[Console] = web.AppKey("console", Console)


class HttpServer:
    """A started aiohttp site; ``port`` is the bound one (useful with port 0)."""

    def __init__(self, runner: web.AppRunner, port: int) -> None:
        self._runner = runner
        self.port = port
        self.api: Api = runner.app[API_KEY]
        self.console: Console = runner.app[CONSOLE_KEY]

    async def close(self) -> None:
        """End the event streams (a ``closing`` event each), then stop serving."""
        await self.api.close()
        await self._runner.cleanup()


def build_app(router: ConsoleHost, metrics: RouterMetrics | None = None, *,
              tokens: TokenSet | None = None,
              api_config: ApiConfig | None = None) -> web.Application:
    """The application; its :class:`~acd.http.v1.Api` (audit, event stream) is
    ``app[API_KEY]``. Without ``tokens`` the API answers 401 everywhere."""
    app = web.Application(middlewares=[json_errors], client_max_size=MAX_BODY_BYTES)

    async def healthz(_request: web.Request) -> web.Response:
        health = router.health()
        # 503 only when not routing (degraded): "warn" is a router that routes with
        # something to repair (a records file it cannot write), not one to replace
        status = 200 if health["status"] in ("ok", "warn") else 503
        return web.json_response(health, status=status)

    app.router.add_get("/healthz", healthz)
    if metrics is not None:
        async def metrics_text(_request: web.Request) -> web.Response:
            # computed on the loop (the engine has one writer and is read here), one
            # collector at a time so a scrape never holds the loop for long
            return web.Response(body=await metrics.render_async(),
                                headers={"Content-Type": METRICS_CONTENT_TYPE})

        app.router.add_get("/metrics", metrics_text)
    api = Api(router, tokens, api_config)
    api.routes(app)
    app[API_KEY] = api
    console = app[CONSOLE_KEY] = Console(api, router)
    console.routes(app)
    return app


async def start_http(router: ConsoleHost, bind: str, port: int, *,
                     metrics: RouterMetrics | None = None,
                     tokens: TokenSet | None = None,
                     api_config: ApiConfig | None = None,
                     limits: HttpConfig | None = None) -> HttpServer:
    limits = limits or HttpConfig()
    app = build_app(router, metrics, tokens=tokens, api_config=api_config)
    # handler_cancellation: a client that goes away ends its event stream at once (a
    # write is applied synchronously, so cancelling one never leaves it half done);
    # logger: aiohttp's parse and handler errors as one JSON line, no request text
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=HTTP_SHUTDOWN_S,
                           handler_cancellation=True, logger=SERVER_LOGGER,
                           keepalive_timeout=limits.keepalive_timeout_s)
    await runner.setup()
    guard = ConnectionGuard(limits.max_connections, limits.header_timeout_s)
    router.metric_sources.append(guard.metrics)
    site = GuardedSite(runner, bind, port, guard)
    await site.start()
    return HttpServer(runner, site.bound_port)
