"""Shared fixtures: recorded transcripts and a minimal site config."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from acd.config import Config
from acd.config.load import parse_config
from tests.redisproc import SHARED_URL, RedisProcess, answers

REPO = Path(__file__).resolve().parents[1]
#: the recordings the tests read, kept in the repository (tests/fixtures/ami/README.md)
FIXTURES = REPO / "tests" / "fixtures" / "ami"
#: recorded from a real Asterisk driven by a hand-written router, or $ACD_TRANSCRIPTS
TRANSCRIPTS = Path(os.environ.get("ACD_TRANSCRIPTS") or FIXTURES / "recorded")
#: our router itself against a real Asterisk 22.10.1, with the project's dialplans
LIVE = FIXTURES / "live"

SITE_TOML = b"""
[site]
name = "SAS test"
departement = "59"

[routing]
ring_timeout_s = 10
max_missed_offers = 2
orphan_requeue_s = 3

[skills.ARM_N1]
wrap_up_s = 5
expansion_s = [20, 60]

[skills.AMU_N2]
wrap_up_s = 0
expansion_s = [30]

[numbers."15"]
queue = "ARM_N1"

[numbers."116117"]
queue = "ARM_N1"

[[agents]]
id = "arm01"
device = "PJSIP/arm01"
skills = { ARM_N1 = 1, AMU_N2 = 2 }
logged_in = true

[[agents]]
id = "arm02"
device = "PJSIP/arm02"
skills = { ARM_N1 = 1 }
logged_in = true

[[agents]]
id = "amu01"
device = "PJSIP/amu01"
skills = { AMU_N2 = 1, ARM_N1 = 2 }
logged_in = true

[[agents]]
id = "mg01"
device = "PJSIP/mg01"
skills = { MG = 1 }
"""


@pytest.fixture
def site_config() -> Config:
    return parse_config(SITE_TOML, "test-site.toml")


def transcript(name: str) -> bytes:
    return (TRANSCRIPTS / name).read_bytes()


def all_event_transcripts() -> list[Path]:
    return sorted(TRANSCRIPTS.glob("*.events.ami"))


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
