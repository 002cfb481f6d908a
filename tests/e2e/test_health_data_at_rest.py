"""No caller's number or name at rest in Redis (finding 7 of the hardening review).

The router routes simulated calls while its store writes to a private ``redis-server``
with an append-only file, as production runs it; the AOF's bytes are then searched
for every caller's number and name. A second router restored from that Redis gets
them back from Asterisk at its resync."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from acd.config import AmiConfig
from acd.core.model import CallState
from acd.store import attach_store
from acd.testing import build_stack
from tests.support.redisproc import RedisProcess
from tests.support.storeroom import SECRET, Room, RoomFactory, settings
from tests.support.wait import until

CALLERS = [("Zébulon Quintard", "0698765401"), ("Anaïs Brévannes", "0698765402"),
           ("Théodule Vasquez", "+33698765403")]


def aof_bytes(server: RedisProcess) -> bytes:
    return b"".join(p.read_bytes() for p in Path(server.dir).rglob("*") if p.is_file())


def place(room: Room) -> list[str]:
    return [room.sim.pbx.place_call("15", name, number, patience_s=3600).channel
            for name, number in CALLERS]


async def test_no_caller_number_nor_name_reaches_the_aof(
        room_factory: RoomFactory, persistent_redis: RedisProcess) -> None:
    async with room_factory(persistent_redis.url) as room:
        for agent in ("1001", "1002", "1003"):
            room.sim.pbx.agent_feature(agent, "*7342")  # paused: the calls wait
        await until(lambda: all(a.state.value == "paused"
                                     for a in room.router.engine.agents.values()))
        placed = place(room)
        await until(lambda: len(room.router.engine.waiting_calls("ARM_N1")) == 3)
        assert {c.caller_num for c in room.router.engine.calls.values()} == {
            number for _name, number in CALLERS}  # the live engine has them
        await room.store.flush()
        for agent in ("1001", "1002", "1003"):
            room.sim.pbx.agent_feature(agent, "*74")  # ready: the calls are answered
        await until(lambda: {r.channel for r in room.records} >= set(placed))
        await room.store.flush()
        stored = room.stored_records()
        assert {r.caller_name for r in stored} == {""}  # the field stays, empty
    data = aof_bytes(persistent_redis)
    assert b"Local/15@incoming" in data  # the AOF holds the calls' state ...
    for name, number in CALLERS:  # ... but nobody's number or name
        assert number.encode() not in data and number[-8:].encode() not in data
        assert name.encode() not in data
        assert name.encode("unicode_escape") not in data


async def test_a_restored_call_gets_its_number_and_name_back_from_asterisk(
        room_factory: RoomFactory, redis_url: str, redis_namespace: str) -> None:
    async with room_factory(redis_url) as room:
        for agent in ("1001", "1002", "1003"):
            room.sim.pbx.agent_feature(agent, "*7342")
        await until(lambda: all(a.state.value == "paused"
                                     for a in room.router.engine.agents.values()))
        place(room)
        await until(lambda: len(room.router.engine.waiting_calls("ARM_N1")) == 3)
        await room.store.flush()
        assert room.router.ami is not None
        await room.router.ami.stop()
        # a second router, restored from Redis, then resynchronised with Asterisk
        second = build_stack(room.router.engine.config, speed=room.router.speed,
                             ami=AmiConfig(port=room.sim.port, reconnect_initial_s=0.05),
                             secret=SECRET, records=False)
        store = attach_store(second.service, redis_url, redis_namespace,
                             settings=settings(redis_url), registry=CollectorRegistry())
        await store.restore()
        restored = list(second.router.engine.calls.values())
        assert len(restored) == 3
        assert {(c.caller_num, c.caller_name) for c in restored} == {("", "")}
        try:
            await second.start()
            calls = second.router.engine.calls.values()
            assert {(c.caller_name, c.caller_num) for c in calls} == set(CALLERS)
            assert {c.state for c in calls} == {CallState.WAITING}
        finally:
            await second.stop()
            await store.close(1.0)


async def test_records_keep_the_name_only_when_the_setting_says_so(
        room_factory: RoomFactory, redis_url: str) -> None:
    async with room_factory(redis_url, records_caller_name=True) as room:
        placed = place(room)
        await until(lambda: {r.channel for r in room.records} >= set(placed))
        await room.store.flush()
        assert {r.caller_name for r in room.stored_records()} == {n for n, _ in CALLERS}
