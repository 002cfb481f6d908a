"""Real Redis servers for the tests (the server code lives in
:mod:`acd.tools.simulate.redis_process`).

The suite uses the Redis at 127.0.0.1:6379 when one answers there (these machines run
one), or else starts its own ``redis-server`` on a free port. Tests that stop and start
Redis (an outage) always get a private server of their own: never the shared one.
Tests sharing a server keep apart by key namespace (see the ``redis_namespace``
fixture), never by flushing.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import cast

import redis

from acd.tools.simulate.redis_process import SHARED_URL, RedisProcess, answers, free_port

__all__ = ["SHARED_URL", "RedisProcess", "SentinelProcess", "answers", "entries", "free_port",
           "hash_field"]

#: one entry of a Redis Stream as redis-py returns it (without decode_responses)
StreamEntry = tuple[bytes, dict[bytes, bytes]]


def entries(client: redis.Redis, key: str, count: int | None = None) -> list[StreamEntry]:
    """A stream's entries, oldest first (redis-py types every reply as one broad union)."""
    return cast(list[StreamEntry], client.xrange(key, count=count))


def hash_field(client: redis.Redis, key: str, field: str) -> bytes | None:
    """One field of a hash, or None."""
    return cast(bytes | None, client.hget(key, field))


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
