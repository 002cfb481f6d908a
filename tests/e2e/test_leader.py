"""The leader lock of an active/standby pair, against a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from acd.config import AmiConfig, namespace_of
from acd.config.load import parse_config
from acd.errors import ConfigError
from acd.metrics import RouterMetrics
from acd.sim import FixedBehaviour, OfferOutcome, Phase, start_sim
from acd.store.keys import fence as fence_key
from acd.store.keys import leader as leader_key
from acd.store.leader import LeaderLock
from acd.testing import build_stack
from tests.support.sites import SITE_TOML
from tests.support.wait import until


class FakeClock:
    """The lock's monotonic clock, moved by hand (a pause of the process)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def redis(redis_url: str, redis_namespace: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.delete(leader_key(redis_namespace), fence_key(redis_namespace))
    await client.aclose()


def test_keys_share_the_site_hash_tag() -> None:
    assert leader_key("sas59") == "acd:{sas59}:leader"
    assert fence_key("sas59") == "acd:{sas59}:fence"


def test_namespace_defaults_to_the_site_name() -> None:
    config = parse_config(SITE_TOML)
    assert namespace_of(config) == "sas-test"
    with_ns = parse_config(SITE_TOML + b'\n[redis]\nnamespace = "sas59"\n')
    assert namespace_of(with_ns) == "sas59"


async def test_one_holder_and_a_new_fencing_token_at_each_acquisition(
        redis: Redis, redis_namespace: str) -> None:
    a = LeaderLock(redis, redis_namespace, "node-a", ttl_s=0.3)
    b = LeaderLock(redis, redis_namespace, "node-b", ttl_s=0.3)
    assert await a.try_acquire()
    assert a.token == 1 and a.holds()
    assert await redis.get(leader_key(redis_namespace)) == b"node-a:1"
    assert not await b.try_acquire()  # held
    assert await a.renew()
    await asyncio.sleep(0.45)  # a stops renewing: the lock expires in Redis
    assert await b.try_acquire()
    assert b.token == 2
    assert int(await redis.get(fence_key(redis_namespace)) or 0) == 2
    # a's renew must not extend b's lock: a learns it lost
    assert not await a.renew()
    assert not a.holds() and a.fence_token() is None
    assert await redis.get(leader_key(redis_namespace)) == b"node-b:2"
    await b.release()
    assert await redis.get(leader_key(redis_namespace)) is None


async def test_a_paused_holder_stops_at_its_local_deadline(
        redis: Redis, redis_namespace: str) -> None:
    clock = FakeClock()
    lock = LeaderLock(redis, redis_namespace, "node-a", ttl_s=2.0, clock=clock)
    assert await lock.try_acquire()
    clock.now += 1.9
    assert lock.fence_token() == 1
    clock.now += 0.2  # the process was paused past its lease: the key is still in Redis
    assert await redis.exists(leader_key(redis_namespace))
    assert not lock.holds()
    assert lock.fence_token() is None


async def test_release_only_removes_our_own_lock(redis: Redis, redis_namespace: str) -> None:
    a = LeaderLock(redis, redis_namespace, "node-a", ttl_s=5)
    assert await a.try_acquire()
    await redis.set(leader_key(redis_namespace), b"node-b:7", px=5000)  # someone else's
    await a.release()
    assert await redis.get(leader_key(redis_namespace)) == b"node-b:7"


async def test_a_deposed_router_sends_no_action(redis: Redis, redis_namespace: str) -> None:
    """A leader paused past its lease wakes up, handles events that ask for an offer,
    and sends nothing: the real router and AMI connection against the simulator."""
    config = parse_config(SITE_TOML)
    sim = await start_sim(config, "127.0.0.1", 0, seed=1, speed=10, secret="pair-secret",
                          behaviour=FixedBehaviour(OfferOutcome(answer_after_s=1, talk_s=600)),
                          auth_failure_delay_s=0.05)
    clock = FakeClock()
    lock = LeaderLock(redis, redis_namespace, "node-a", ttl_s=2.0, clock=clock)
    stack = build_stack(config, ami=AmiConfig(port=sim.port, reconnect_initial_s=0.05,
                                              reconnect_max_s=0.2),
                        secret="pair-secret", speed=10, records=False, lock=lock)
    service, router = stack.service, stack.router
    election = service.parts.leadership.election
    assert election is not None
    task = asyncio.create_task(stack.ami.run())
    try:
        await until(router.link_ready.is_set)
        assert service.role == "standby" and not router.engine.decide
        assert sim.actions.counts.get("Setvar", 0) == 0  # a standby sends nothing
        await election.step()
        assert service.role == "leader"
        first = sim.pbx.place_call("15", "Premier", "0600000001", patience_s=3600)
        await until(lambda: first.phase is Phase.TALKING)
        sent = dict(sim.actions.counts)
        assert sent["Redirect"] == 1 and sent["Setvar"] >= 2  # heartbeat, ACD_DIAL
        clock.now += 2.5  # a long pause: the lease ran out, no renew ran
        second = sim.pbx.place_call("15", "Second", "0600000002", patience_s=3600)
        await until(lambda: service.actions_fenced == 2)  # the offer's Setvar + Redirect
        service.parts.heartbeat.beat()
        await asyncio.sleep(0.1)
        assert sim.actions.counts == sent  # nothing more left this router
        assert second.phase is Phase.WAITING
        assert service.role == "standby" and not router.engine.decide
        text = RouterMetrics(service).render().decode()
        assert "\nacd_leader 0.0\n" in text
        assert "\nacd_actions_fenced_total 2.0\n" in text
    finally:
        await stack.ami.stop()
        await task
        await sim.close()


def test_a_pair_without_redis_is_refused() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(SITE_TOML + b"\n[leader]\nttl_s = 2\n", "pair.toml")
    assert "leader" in str(err.value) and "[redis]" in str(err.value)
    with pytest.raises(ConfigError, match="ttl_s"):
        parse_config(SITE_TOML + b'\n[redis]\n[leader]\nttl_s = 0.1\n', "pair.toml")
    pair = parse_config(SITE_TOML + b'\n[redis]\n[leader]\nnode_id = "acd-a"\n')
    assert pair.leader is not None and pair.leader.enabled and pair.leader.ttl_s == 2.0
