"""The test suite's own Redis servers behave as the Redis tests assume."""

from __future__ import annotations

import redis

from tests.support.redisproc import RedisProcess, answers


def test_shared_server_answers(redis_url: str, redis_namespace: str) -> None:
    client = redis.Redis.from_url(redis_url)
    key = f"{redis_namespace}:probe"
    try:
        client.set(key, b"1", px=5000)
        assert client.get(key) == b"1"
    finally:
        client.delete(key)
        client.close()


def test_private_server_stops_and_starts_on_the_same_port(
        private_redis: RedisProcess) -> None:
    port = private_redis.port
    assert answers("127.0.0.1", port)
    private_redis.stop()
    assert not answers("127.0.0.1", port)
    private_redis.start()
    assert answers("127.0.0.1", port)
    assert private_redis.port == port
