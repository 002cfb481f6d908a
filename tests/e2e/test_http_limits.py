"""The HTTP side cannot be starved: a connection cap, a deadline for request headers,
a keep-alive timeout (finding 4 of the hardening review). Real sockets throughout."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from acd.config import HttpConfig
from acd.config.load import parse_config
from acd.http import HttpServer, start_http
from acd.metrics import RouterMetrics
from acd.service.service import Service
from acd.testing import build_stack
from tests.support.sites import site_toml

SITE = site_toml("SAS http")


class Http:
    def __init__(self, service: Service, server: HttpServer) -> None:
        self.service = service
        self.server = server
        self.port = server.port

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def healthz(self) -> int:
        async with aiohttp.ClientSession() as session, \
                session.get(f"http://127.0.0.1:{self.port}/healthz") as response:
            await response.read()
            return response.status

    def exposed(self) -> str:
        return RouterMetrics(self.service).render().decode()


async def closed_by_server(reader: asyncio.StreamReader, timeout: float = 5.0) -> bool:
    """Whether the server ends the connection (EOF or reset) within ``timeout``."""
    try:
        async with asyncio.timeout(timeout):
            while await reader.read(65536):
                pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


async def start(**limits: float) -> Http:
    service = build_stack(parse_config(SITE)).service
    server = await start_http(service, "127.0.0.1", 0,
                              limits=HttpConfig(**limits))  # type: ignore[arg-type]
    return Http(service, server)


@pytest.fixture
async def http_servers() -> AsyncIterator[list[Http]]:
    started: list[Http] = []
    yield started
    for http in started:
        await http.server.close()


async def test_connections_past_the_cap_are_closed_at_once(
        http_servers: list[Http]) -> None:
    http = await start(max_connections=8, header_timeout_s=60)
    http_servers.append(http)
    held = [await http.connect() for _ in range(8)]
    await asyncio.sleep(0.1)
    reader, writer = await http.connect()
    assert await closed_by_server(reader, timeout=5)
    writer.close()
    assert 'acd_http_connections_closed_total{reason="limit"} 1.0' in http.exposed()
    assert "acd_http_connections 8.0" in http.exposed()
    for _, held_writer in held:
        held_writer.close()
    async with asyncio.timeout(5):  # the slots come back as the clients leave
        while True:
            try:
                if await http.healthz() == 503:  # answered (no AMI link here)
                    break
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)


async def test_headers_sent_a_byte_at_a_time_do_not_hold_a_slot(
        http_servers: list[Http]) -> None:
    http = await start(header_timeout_s=0.3)
    http_servers.append(http)
    reader, writer = await http.connect()
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")

    async def trickle() -> None:
        for _ in range(100):
            writer.write(b"X")
            await asyncio.sleep(0.05)

    dripping = asyncio.create_task(trickle())
    try:
        assert await closed_by_server(reader)
    finally:
        dripping.cancel()
        writer.close()
    assert 'acd_http_connections_closed_total{reason="header_timeout"} 1.0' in http.exposed()


async def test_an_idle_connection_is_closed_after_the_keepalive_timeout(
        http_servers: list[Http]) -> None:
    http = await start(keepalive_timeout_s=0.3, header_timeout_s=60)
    http_servers.append(http)
    reader, writer = await http.connect()
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503")
    assert await closed_by_server(reader)
    writer.close()


async def test_healthz_stays_reachable_under_many_idle_sockets(
        http_servers: list[Http]) -> None:
    http = await start(max_connections=32, header_timeout_s=0.3)
    http_servers.append(http)
    idle = [await http.connect() for _ in range(200)]
    try:
        async with asyncio.timeout(5):
            while True:
                try:
                    if await http.healthz() == 503:
                        break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)
    finally:
        for _, writer in idle:
            writer.close()


async def test_acd_run_on_uvloop_caps_connections_and_times_headers_out(
        tmp_path: Path) -> None:
    """The same limits in the service as run (uvloop, whose transports are its own)."""
    from tests.support.acdrun import SECRET, read_log_until, run_config, start_router
    from tests.support.amipeer import AmiPeer

    peer = await AmiPeer(secret=SECRET).start()
    config = tmp_path / "site.toml"
    config.write_text(run_config(peer.port).replace(
        "[http]\n", "[http]\nmax_connections = 8\nheader_timeout_s = 0.5\n"))
    router = await start_router(config, {**os.environ, "ACD_AMI_SECRET": SECRET})
    held: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        lines: list[dict[str, object]] = []
        started = await read_log_until(router, "router_started", lines)
        port = int(str(started["http"]).rsplit(":", 1)[1])
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(8)]
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await closed_by_server(reader)  # the ninth, at once (or the idle, later)
        writer.close()
        for idle_reader, _ in held:  # the idle ones, after header_timeout_s
            assert await closed_by_server(idle_reader)
        async with aiohttp.ClientSession() as session, \
                session.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status in (200, 503)
        await read_log_until(router, "http_connection_closed", lines)
    finally:
        for _, idle_writer in held:
            idle_writer.close()
        router.send_signal(signal.SIGTERM)
        async with asyncio.timeout(8):
            await router.communicate()
        await peer.close()
    assert router.returncode == 0
