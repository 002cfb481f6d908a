"""A ``redis-server`` process of our own, on a free port, that can be stopped and
started again: for ``acd simulate --chaos`` (``redis-stop``) and for the tests.

The test suite uses the Redis at 127.0.0.1:6379 when one answers there, or else starts
its own with this. Runs that stop and start Redis (an outage) always get a private
server: never a shared one. Nothing is persisted unless asked (``aof``: an append-only
file fsynced at every write, as production runs it, kept across stop/start).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SHARED_URL = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether a Redis server answers PING at host:port."""
    return _reply_to_ping(host, port, timeout).startswith(b"+PONG")


def _reply_to_ping(host: str, port: int, timeout: float) -> bytes:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16)
    except OSError:
        return b""


class RedisProcess:
    """A ``redis-server`` of our own on a fixed port, which can be stopped and started
    again on the same port (an outage, as the router sees it)."""

    def __init__(self, port: int | None = None, *, aof: bool = False,
                 password: str | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found: install Debian's redis-server "
                               "package (apt-get install redis-server), as .ci/run does")
        self.binary = binary
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="acd-redis-"))
        self.process: subprocess.Popen[bytes] | None = None
        #: keep data across stop()/start() as production does (AOF, fsync at every write)
        self.aof = aof
        #: set, the server requires it (``requirepass``): PING without it is refused
        self.password = password

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "yes" if self.aof else "no",
             "--appendfsync", "always", "--dir", str(self.dir),
             *(["--requirepass", self.password] if self.password else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not self._listening():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def _listening(self) -> bool:
        """Up: PONG, or (with a password) the refusal of a PING without it."""
        reply = _reply_to_ping("127.0.0.1", self.port, 0.5)
        return reply.startswith(b"+PONG") or (
            self.password is not None and reply.startswith(b"-NOAUTH"))

    def stop(self) -> None:
        """Kill the server (SIGKILL: an outage, not a clean shutdown)."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
