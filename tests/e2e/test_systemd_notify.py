"""``acd run`` as systemd runs it (``deploy/systemd/acd.service``): ``$NOTIFY_SOCKET``,
``$WATCHDOG_USEC``, secrets in ``$CREDENTIALS_DIRECTORY``, SIGTERM, and (where the kernel
has ``PR_SET_MDWE``, Linux 6.3+) no memory both writable and executable, as
``MemoryDenyWriteExecute=yes`` enforces. The PBX is ``acd sim``, a real process."""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from acd.service.sdnotify import Notifier
from tests.support.redisproc import free_port
from tests.support.sites import local_agents, site_toml

SECRET = "ami-secret-from-a-credential"
TOKEN = "supervisor-token-from-a-credential"

def unit_config(port: int) -> str:
    """The site ``acd run`` serves under systemd: AMI at ``port``, HTTP on a free port."""
    return site_toml("SAS under systemd",
                     sections={"ami": {"port": port, "reconnect_initial_s": 0.1,
                                       "reconnect_max_s": 0.3},
                               "http": {"port": 0}},
                     agents=local_agents("1001")).decode()

PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1


def _deny_write_execute() -> None:  # pragma: no cover - runs in the child
    """prctl(PR_SET_MDWE): kept across execve, like systemd's MemoryDenyWriteExecute."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0)


def _mdwe_supported() -> bool:
    return tuple(int(x) for x in os.uname().release.split(".")[:2]
                 if x.isdigit()) >= (6, 3)


@pytest.fixture
def notify_socket() -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket standing in for systemd's (a short path: sun_path is 108 bytes)."""
    directory = tempfile.mkdtemp(prefix="acd-sd-")
    path = os.path.join(directory, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    try:
        yield sock, path
    finally:
        sock.close()
        os.unlink(path)
        os.rmdir(directory)


def _pending(sock: socket.socket) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = []
    while True:
        try:
            raw = sock.recv(4096)
        except BlockingIOError:
            return messages
        messages.append(dict(line.split("=", 1) for line in raw.decode().splitlines()))


async def _until(sock: socket.socket, key: str, seen: list[dict[str, str]]) -> dict[str, str]:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(10):
        while True:
            raw = await loop.sock_recv(sock, 4096)
            message = dict(line.split("=", 1) for line in raw.decode().splitlines())
            seen.append(message)
            if key in message:
                return message


async def _log_line(process: asyncio.subprocess.Process, event: str,
                    lines: list[dict[str, object]]) -> dict[str, object]:
    assert process.stdout is not None
    async with asyncio.timeout(10):
        while True:
            raw = await process.stdout.readline()
            assert raw, f"process exited before logging {event}: {lines}"
            lines.append(json.loads(raw))
            if lines[-1]["event"] == event:
                return lines[-1]


async def _healthz(port: int) -> int:
    async with aiohttp.ClientSession() as http, \
            http.get(f"http://127.0.0.1:{port}/healthz") as response:
        return response.status


@pytest.mark.slow
async def test_ready_only_once_the_ami_session_is_up_then_watchdog_and_stopping(
        tmp_path: Path, notify_socket: tuple[socket.socket, str]) -> None:
    sock, path = notify_socket
    ami_port = free_port()
    config = tmp_path / "acd.toml"
    config.write_text(unit_config(ami_port))
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "ami-secret").write_text(SECRET + "\n")
    (credentials / "api-tokens").write_text(f'["{TOKEN}"]\nrole = "supervisor"\n'
                                            'name = "night supervisor"\n')
    base = {k: v for k, v in os.environ.items()
            if k not in ("ACD_AMI_SECRET", "ACD_API_TOKENS_FILE", "CREDENTIALS_DIRECTORY")}
    env = {**base, "NOTIFY_SOCKET": path, "CREDENTIALS_DIRECTORY": str(credentials),
           "WATCHDOG_USEC": "200000"}
    router = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "acd.cli", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        preexec_fn=_deny_write_execute if _mdwe_supported() else None)
    sim: asyncio.subprocess.Process | None = None
    lines: list[dict[str, object]] = []
    seen: list[dict[str, str]] = []
    try:
        started = await _log_line(router, "router_started", lines)
        http_port = int(str(started["http"]).rsplit(":", 1)[1])
        tokens = await _log_line(router, "api_tokens", lines)
        assert tokens["source"] == str(credentials / "api-tokens")
        # No Asterisk yet: the router runs, retries, and is not ready.
        await _log_line(router, "ami_session_failed", lines)
        seen += _pending(sock)
        assert seen and not any("READY" in m for m in seen), seen
        assert any(m.get("STATUS", "").startswith("connecting to AMI") for m in seen)
        assert await _healthz(http_port) == 503

        sim = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "acd.cli", "sim", "--config", str(config),
            "--port", str(ami_port), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env={**base, "ACD_AMI_SECRET": SECRET})
        ready = await _until(sock, "READY", seen)
        assert ready["READY"] == "1"
        assert ready["STATUS"].startswith(f"routing: AMI 127.0.0.1:{ami_port} up")
        # READY means what /healthz means: the session is up and resynchronised.
        assert await _healthz(http_port) == 200
        async with aiohttp.ClientSession() as http, http.get(
                f"http://127.0.0.1:{http_port}/api/v1/queues",
                headers={"Authorization": f"Bearer {TOKEN}"}) as response:
            assert response.status == 200
        await _until(sock, "WATCHDOG", seen)
        router.send_signal(signal.SIGHUP)  # no reload, and no stop either
        await _log_line(router, "sighup_ignored", lines)
        await _until(sock, "WATCHDOG", seen)
        assert await _healthz(http_port) == 200

        router.send_signal(signal.SIGTERM)
        stopping = await _until(sock, "STOPPING", seen)
        assert stopping["STOPPING"] == "1"
        async with asyncio.timeout(10):
            out, err = await router.communicate()
        assert router.returncode == 0, err.decode()
    finally:
        for process in (router, sim):
            if process is not None and process.returncode is None:
                process.terminate()
                await process.wait()
    lines += [json.loads(line) for line in out.decode().splitlines()]
    assert lines[-1]["event"] == "router_stopped"
    everything = json.dumps(lines) + err.decode() + json.dumps(seen)
    assert SECRET not in everything and TOKEN not in everything


def test_without_notify_socket_nothing_is_sent_and_no_watchdog() -> None:
    notifier = Notifier({"WATCHDOG_USEC": "1000000"})
    assert not notifier.enabled
    assert notifier.ready("routing") is False
    assert notifier.watchdog_s is None


def test_watchdog_interval_is_half_of_watchdog_sec_and_only_for_this_process() -> None:
    ours = Notifier({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000",
                     "WATCHDOG_PID": str(os.getpid())})
    assert ours.watchdog_s == 15.0
    other = Notifier({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000",
                      "WATCHDOG_PID": "1"})
    assert other.watchdog_s is None


def test_abstract_socket_and_a_gone_systemd(
        notify_socket: tuple[socket.socket, str]) -> None:
    sock, path = notify_socket
    name = f"acd-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as abstract:
        abstract.bind("\0" + name)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).notify(STATUS="x") is True
        assert abstract.recv(100) == b"STATUS=x"
    assert Notifier({"NOTIFY_SOCKET": path}).ready("routing") is True
    assert _pending(sock) == [{"READY": "1", "STATUS": "routing"}]
    gone = Notifier({"NOTIFY_SOCKET": path + "-gone"})
    assert gone.ready("routing") is False  # logged, never raised
