"""The durable-state tests' room: the production Router with its AMI connection
routing simulated calls over loopback TCP, its store writing to a real Redis."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

import msgspec
import redis
from prometheus_client import CollectorRegistry

from acd.config import AmiConfig, Config, RedisConfig
from acd.config.load import parse_config
from acd.core import facts as f
from acd.core.records import CallRecord
from acd.service.router import Router
from acd.sim import FixedBehaviour, OfferOutcome, SimServer, start_sim
from acd.store import Store, attach_store, keys
from acd.testing import build_stack
from tests.support.redisproc import entries
from tests.support.sites import local_agents, site_toml

SECRET = "store-secret"
SPEED = 10.0
SITE = site_toml("SAS store",
                 sections={"routing": {"ring_timeout_s": 15, "orphan_requeue_s": 3}},
                 skills={"ARM_N1": {"wrap_up_s": 1}},
                 agents=local_agents("1001", "1002", "1003"))

_record = msgspec.json.Decoder(CallRecord)


@dataclass
class Room:
    sim: SimServer
    router: Router
    store: Store
    client: redis.Redis
    ns: str
    records: list[CallRecord] = field(default_factory=list)

    def place(self, n: int) -> list[str]:
        return [self.sim.pbx.place_call("15", f"Caller {i}", f"06000000{i:02d}",
                                        patience_s=3600).channel for i in range(n)]

    def stored_records(self) -> list[CallRecord]:
        return [_record.decode(fields[b"r"])
                for _id, fields in entries(self.client, keys.records(self.ns))]

    def sample(self, name: str, **labels: str) -> float:
        value = self.store.registry.get_sample_value(name, labels or None)
        return 0.0 if value is None else value


def settings(url: str, **overrides: object) -> RedisConfig:
    return msgspec.structs.replace(RedisConfig(url=url, retry_initial_s=0.05,
                                               retry_max_s=0.2, timeout_s=0.5), **overrides)


RoomFactory = Callable[..., AbstractAsyncContextManager[Room]]


def room_factory(redis_namespace: str) -> RoomFactory:
    """Rooms whose store writes under ``redis_namespace`` at the URL each is given."""

    @contextlib.asynccontextmanager
    async def make(url: str, **overrides: object) -> AsyncIterator[Room]:
        config: Config = parse_config(SITE)
        behaviour = FixedBehaviour(OfferOutcome(answer_after_s=1.0, talk_s=4.0,
                                                ender="caller"))
        sim = await start_sim(config, "127.0.0.1", 0, seed=1, speed=SPEED, secret=SECRET,
                              behaviour=behaviour, auth_failure_delay_s=0.05)
        ami = AmiConfig(port=sim.port, keepalive_s=0.5, keepalive_timeout_s=0.5,
                        reconnect_initial_s=0.05, reconnect_max_s=0.2, action_timeout_s=2.0)
        stack = build_stack(config, ami=ami, secret=SECRET, speed=SPEED, records=False)
        router = stack.router
        store = attach_store(stack.service, url, redis_namespace,
                             settings=settings(url, **overrides), registry=CollectorRegistry())
        client = redis.Redis.from_url(url)
        room = Room(sim, router, store, client, redis_namespace)
        router.add_fact_listener(lambda fact: room.records.append(fact.record)
                                 if isinstance(fact, f.CallEnded) else None)
        store.start()
        try:
            await stack.start()
            yield room
        finally:
            await stack.stop()
            await store.close(1.0)
            await sim.close()
            with contextlib.suppress(redis.RedisError):
                client.delete(*keys.all_keys(redis_namespace))
            client.close()

    return make
