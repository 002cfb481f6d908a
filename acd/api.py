"""HTTP side of the router: ``/healthz`` and ``/metrics``; the supervisor API joins them
on the same port. aiohttp, on the router's own event loop.

Neither route asks for a token: health and metrics carry no personal data (no caller
number or name ever appears in a metric label, see :mod:`acd.metrics`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from acd.app import Router
    from acd.metrics import RouterMetrics

#: the Prometheus text format, version 0.0.4: what ``generate_latest`` writes for our
#: names, and what every Prometheus server reads
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class HttpServer:
    """A started aiohttp site; ``port`` is the bound one (useful with port 0)."""

    def __init__(self, runner: web.AppRunner, port: int) -> None:
        self._runner = runner
        self.port = port

    async def close(self) -> None:
        await self._runner.cleanup()


def build_app(router: Router, metrics: RouterMetrics | None = None) -> web.Application:
    app = web.Application()

    async def healthz(_request: web.Request) -> web.Response:
        health = router.health()
        status = 200 if health["ami_connected"] else 503
        return web.json_response(health, status=status)

    app.router.add_get("/healthz", healthz)
    if metrics is not None:
        async def metrics_text(_request: web.Request) -> web.Response:
            # computed on the loop: the engine has one writer and is read here, O(queues
            # + agents + series), never awaiting
            return web.Response(body=metrics.render(),
                                headers={"Content-Type": METRICS_CONTENT_TYPE})

        app.router.add_get("/metrics", metrics_text)
    return app


async def start_http(router: Router, bind: str, port: int, *,
                     metrics: RouterMetrics | None = None) -> HttpServer:
    runner = web.AppRunner(build_app(router, metrics), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, bind, port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or ()
    bound = int(sockets[0].getsockname()[1]) if sockets else port
    return HttpServer(runner, bound)
