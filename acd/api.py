"""HTTP side of the router: ``/healthz`` now; ``/metrics`` and the supervisor API join
it on the same port. aiohttp, on the router's own event loop."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from acd.app import Router


class HttpServer:
    """A started aiohttp site; ``port`` is the bound one (useful with port 0)."""

    def __init__(self, runner: web.AppRunner, port: int) -> None:
        self._runner = runner
        self.port = port

    async def close(self) -> None:
        await self._runner.cleanup()


def build_app(router: Router) -> web.Application:
    app = web.Application()

    async def healthz(_request: web.Request) -> web.Response:
        health = router.health()
        status = 200 if health["ami_connected"] else 503
        return web.json_response(health, status=status)

    app.router.add_get("/healthz", healthz)
    return app


async def start_http(router: Router, bind: str, port: int) -> HttpServer:
    runner = web.AppRunner(build_app(router), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, bind, port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or ()
    bound = int(sockets[0].getsockname()[1]) if sockets else port
    return HttpServer(runner, bound)
