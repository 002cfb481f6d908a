"""Real Redis servers for the tests.

The suite uses the Redis at 127.0.0.1:6379 when one answers there (these machines run
one), or else starts its own ``redis-server`` on a free port. Tests that stop and start
Redis (an outage) always get a private server of their own: never the shared one.
Tests sharing a server keep apart by key namespace (see the ``redis_namespace``
fixture), never by flushing.
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
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisProcess:
    """A ``redis-server`` of our own on a fixed port, which can be stopped and started
    again on the same port (an outage, as the router sees it)."""

    def __init__(self, port: int | None = None, *, aof: bool = False) -> None:
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

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "yes" if self.aof else "no",
             "--appendfsync", "always", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not answers("127.0.0.1", self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

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


class SentinelProcess:
    """A Redis Sentinel of our own watching ``master`` under the name ``service``."""

    def __init__(self, master: RedisProcess, service: str) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="acd-sentinel-"))
        conf = self.dir / "sentinel.conf"
        conf.write_text(f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\n"
                        f"sentinel monitor {service} 127.0.0.1 {master.port} 1\n"
                        f"sentinel down-after-milliseconds {service} 1000\n")
        self.process = subprocess.Popen([binary, str(conf), "--sentinel"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not answers("127.0.0.1", self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis sentinel did not start on port {self.port}")
            time.sleep(0.02)

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
