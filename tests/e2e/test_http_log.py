"""aiohttp's own errors in the router's log: a request it cannot parse is one JSON
line naming the error's class, never a multi-line traceback quoting the request (the
start of an ``Authorization: Bearer …`` header). Real sockets, the real server, the
real JSON log."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import structlog

from acd import logs
from acd.config.load import parse_config
from acd.http import HttpServer, start_http
from acd.testing import build_stack
from tests.support.sites import site_toml

TOKEN = "tok3n-" + "a" * 40
#: one header line longer than aiohttp's 8190-byte limit
OVERSIZED = (b"GET /api/v1/queues HTTP/1.1\r\nHost: acd\r\nAuthorization: Bearer "
             + TOKEN.encode() * 200 + b"\r\n\r\n")
#: Content-Length and Transfer-Encoding together (request smuggling)
CL_TE = (b"POST /api/v1/agents/arm01/ready HTTP/1.1\r\nHost: acd\r\n"
         b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
         b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")


@pytest.fixture
def json_log() -> Iterator[None]:
    """The router's JSON log on standard output, as ``acd run`` writes it."""
    saved = structlog.get_config()
    logs.configure(sys.stdout)
    yield
    structlog.configure(**saved)


@pytest.fixture
async def server(json_log: None) -> AsyncIterator[HttpServer]:
    service = build_stack(parse_config(site_toml("SAS http log"))).service
    started = await start_http(service, "127.0.0.1", 0)
    yield started
    await started.close()


async def send(port: int, request: bytes) -> bytes:
    """``request`` on a fresh connection; the answer, up to the server's close."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(5):
            return await reader.read()
    finally:
        writer.close()


def parsed(lines: list[str]) -> list[dict[str, Any]]:
    out = []
    for line in lines:
        value = json.loads(line)
        assert isinstance(value, dict), line
        out.append(value)
    return out


@pytest.mark.parametrize(("request_bytes", "error"), [
    (OVERSIZED, "LineTooLong"), (CL_TE, "BadHttpMessage")])
async def test_a_request_aiohttp_cannot_parse_is_one_json_line_without_its_text(
        server: HttpServer, capfd: pytest.CaptureFixture[str], request_bytes: bytes,
        error: str) -> None:
    capfd.readouterr()
    answer = await send(server.port, request_bytes)
    assert answer.startswith(b"HTTP/1.1 400 ") or answer.startswith(b"HTTP/1.0 400 ")
    await asyncio.sleep(0.05)
    out, err = capfd.readouterr()
    lines = (out + err).splitlines()
    assert len(lines) == 1, out + err
    (line,) = parsed(lines)
    assert (line["event"], line["error"], line["status"], line["level"]) == (
        "http_bad_request", error, 400, "warning")
    assert TOKEN[:10] not in out + err and "Bearer" not in out + err
    assert "Traceback" not in out + err


async def test_every_bad_request_is_one_line_and_good_ones_still_work(
        server: HttpServer, capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    for request in (OVERSIZED, CL_TE, OVERSIZED):
        await send(server.port, request)
    health = await send(server.port, b"GET /healthz HTTP/1.1\r\nHost: acd\r\n"
                                     b"Connection: close\r\n\r\n")
    assert health.startswith(b"HTTP/1.1 503 ")  # no AMI link here: degraded, answered
    await asyncio.sleep(0.05)
    out, err = capfd.readouterr()
    lines = parsed((out + err).splitlines())
    assert [(line["event"], line["error"]) for line in lines] == [
        ("http_bad_request", "LineTooLong"), ("http_bad_request", "BadHttpMessage"),
        ("http_bad_request", "LineTooLong")]
    assert TOKEN[:10] not in out + err
