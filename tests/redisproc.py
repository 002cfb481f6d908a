"""Real Redis servers for the tests (the code lives in :mod:`acd.redis_process`).

The suite uses the Redis at 127.0.0.1:6379 when one answers there (these machines run
one), or else starts its own ``redis-server`` on a free port. Tests that stop and start
Redis (an outage) always get a private server of their own: never the shared one.
Tests sharing a server keep apart by key namespace (see the ``redis_namespace``
fixture), never by flushing.
"""

from acd.redis_process import SHARED_URL, RedisProcess, answers, free_port

__all__ = ["SHARED_URL", "RedisProcess", "answers", "free_port"]
