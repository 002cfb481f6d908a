"""Shared fixtures (the helpers they use live in ``tests.support``)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from acd.config import Config
from tests.support import sites, storeroom
from tests.support.redisproc import SHARED_URL, RedisProcess, answers


@pytest.fixture
def site_config() -> Config:
    return sites.site_config()


# ---------------------------------------------------------------- Redis (a real server)

@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis server for the session: $ACD_TEST_REDIS_URL, the one at
    127.0.0.1:6379, or one started here on a free port."""
    explicit = os.environ.get("ACD_TEST_REDIS_URL")
    if explicit:
        yield explicit
        return
    if answers("127.0.0.1", 6379):
        yield SHARED_URL
        return
    server = RedisProcess()
    server.start()
    try:
        yield server.url
    finally:
        server.close()


@pytest.fixture
def redis_namespace() -> str:
    """A key namespace of this test's own on the shared server."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def private_redis() -> Iterator[RedisProcess]:
    """A Redis server of this test's own, which the test may stop and start."""
    server = RedisProcess()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def persistent_redis() -> Iterator[RedisProcess]:
    """A private Redis with AOF, as production runs it: it keeps its data when killed."""
    server = RedisProcess(aof=True)
    server.start()
    try:
        yield server
    finally:
        server.close()


# ---------------------------------------------------------------- rigs

@pytest.fixture
def room_factory(redis_namespace: str) -> storeroom.RoomFactory:
    """Durable-state rooms (see :mod:`tests.support.storeroom`), cleaned up after use."""
    return storeroom.room_factory(redis_namespace)
