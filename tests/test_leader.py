"""The leader lock of an active/standby pair, against a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from acd.ami import events as ev
from acd.app import Router
from acd.config import parse_config
from acd.errors import ConfigError
from acd.store.leader import Election, LeaderLock, fence_key, leader_key, site_namespace
from tests.conftest import SITE_TOML


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
    assert site_namespace(config) == "sas-test"
    with_ns = parse_config(SITE_TOML + b'\n[redis]\nnamespace = "sas59"\n')
    assert site_namespace(with_ns) == "sas59"


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
    config = parse_config(SITE_TOML)
    router = Router(config, clock=lambda: 1_800_000_000.0)
    sent: list[str] = []

    class Ami:
        connected = True

        def send(self, action: object) -> asyncio.Future[object]:
            sent.append(type(action).__name__)
            future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
            future.set_result(None)
            return future

        def resync(self, why: str) -> None:
            router.on_link_up([], 1_800_000_000.0)

    clock = FakeClock()
    lock = LeaderLock(redis, redis_namespace, "node-a", ttl_s=2.0, clock=clock)
    router.standby()
    router.election = Election(lock, on_elected=router.become_leader,
                               on_deposed=router.become_standby)
    router.ami = Ami()  # type: ignore[assignment]
    router.on_link_up([], 1_800_000_000.0)
    assert router.role == "standby" and not router.engine.decide
    await router.election.step()
    assert router.role == "leader" and router.engine.decide and router.engine.link_up
    router.submit(waiting_call("u1"))
    assert sent == ["Setvar", "Setvar", "Redirect"]  # heartbeat, the offer: Setvar+Redirect
    clock.now += 2.5  # a long pause: the lease ran out, no renew ran
    # the paused ex-leader wakes up and processes an event that asks for an offer
    router.submit(ev.UserEvent(channel="PJSIP/arm02-00000001", name="AcdAgentReady",
                               headers={}))
    router.submit(waiting_call("u2"))
    assert sent == ["Setvar", "Setvar", "Redirect"]  # nothing more left this router
    assert router.actions_fenced == 2  # the Setvar and the Redirect of the offer to u2
    assert router.role == "standby" and not router.engine.decide
    router.send_heartbeat()
    assert len(sent) == 3  # a standby never refreshes the fail-open heartbeat


def waiting_call(uid: str) -> ev.UserEvent:
    return ev.UserEvent(channel=f"PJSIP/trunk-{uid}", uniqueid=uid, linkedid=uid,
                        name="AcdCallWaiting", headers={"Number": "15", "Uniqueid": uid})


def test_a_pair_without_redis_is_refused() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(SITE_TOML + b"\n[leader]\nttl_s = 2\n", "pair.toml")
    assert "leader" in str(err.value) and "[redis]" in str(err.value)
    with pytest.raises(ConfigError, match="ttl_s"):
        parse_config(SITE_TOML + b'\n[redis]\n[leader]\nttl_s = 0.1\n', "pair.toml")
    pair = parse_config(SITE_TOML + b'\n[redis]\n[leader]\nnode_id = "acd-a"\n')
    assert pair.leader is not None and pair.leader.enabled and pair.leader.ttl_s == 2.0
