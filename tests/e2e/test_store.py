"""The durable state against a real Redis, with the router routing simulated calls.

The router (production Router + AMI connection) routes calls from ``acd.sim`` over
loopback TCP while its store writes behind it to a real ``redis-server``: the shared
one (each test in a namespace of its own) or a private one the test stops and starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from pathlib import Path

import aiohttp
import msgspec
import redis
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from acd.config.load import parse_config
from acd.core import facts as f
from acd.store import attach_store, keys
from acd.testing import build_stack
from tests.support.redisproc import RedisProcess, entries, hash_field
from tests.support.storeroom import SITE, SPEED, RoomFactory, settings
from tests.support.wait import until


async def test_journal_records_and_snapshot_are_written_in_batches(
        room_factory: RoomFactory, redis_url: str) -> None:
    async with room_factory(redis_url) as room:
        placed = room.place(4)
        await until(lambda: {r.channel for r in room.records} >= set(placed))
        await room.store.flush()
        stored = room.stored_records()
        assert sorted(r.channel for r in stored) == sorted(placed)
        assert {r.outcome for r in stored} == {"answered"}
        journal = entries(room.client, keys.journal(room.ns))
        types = [fields[b"t"].decode() for _id, fields in journal]
        assert types.count("CallEnded") == 4 and types.count("CallQueued") >= 4
        assert room.store.writer.batches < len(journal)  # many entries per batch
        assert room.client.hlen(keys.calls(room.ns)) == 0  # every call ended
        agents = room.client.hgetall(keys.agents(room.ns))
        assert sorted(agents) == [b"1001", b"1002", b"1003"]
        assert room.sample("acd_redis_up") == 1.0
        assert room.sample("acd_journal_writes_total") >= len(journal) + 4
        assert room.sample("acd_journal_lag_seconds_count") >= len(journal)
        assert room.store.health()["redis_up"] is True


async def test_waiting_calls_are_in_the_snapshot_in_queue_order(
        room_factory: RoomFactory, redis_url: str) -> None:
    async with room_factory(redis_url) as room:
        for agent in ("1001", "1002", "1003"):
            room.sim.pbx.agent_feature(agent, "*7342")
        await until(lambda: all(a.state.value == "paused"
                                     for a in room.router.engine.agents.values()))
        placed = room.place(3)
        await until(lambda: len(room.router.engine.waiting_calls("ARM_N1")) == 3)
        await room.store.flush()
        order = msgspec.json.decode(hash_field(room.client, keys.queues(room.ns), "ARM_N1")
                                    or b"null")
        by_id = {c.id: c.channel for c in room.router.engine.calls.values()}
        assert [by_id[i] for i in order] == placed
        saved = room.client.hgetall(keys.agents(room.ns))
        assert {msgspec.json.decode(v)["pause_reason"] for v in saved.values()} == {"42"}


async def test_redis_down_routing_goes_on_and_the_journal_catches_up(
        room_factory: RoomFactory, persistent_redis: RedisProcess) -> None:
    private_redis = persistent_redis
    async with room_factory(private_redis.url) as room:
        placed = room.place(2)
        await until(lambda: {r.channel for r in room.records} >= set(placed))
        await room.store.flush()  # after the batch in flight, if any
        assert sorted(r.channel for r in room.stored_records()) == sorted(placed)
        private_redis.stop()  # SIGKILL
        with capture_logs() as logs:
            during = room.place(3)
            await until(lambda: {r.channel for r in room.records} >= set(during))
            await until(lambda: room.sample("acd_redis_up") == 0)
        assert [r.outcome for r in room.records[-3:]] == ["answered"] * 3  # never paused
        assert room.sample("acd_journal_buffer_entries") > 0
        assert room.store.health()["redis_up"] is False
        assert [e["event"] for e in logs].count("redis_down") == 1
        private_redis.start()
        await until(lambda: room.sample("acd_redis_up") == 1)
        await room.store.flush()
        assert room.sample("acd_journal_buffer_entries") == 0
        stored = room.stored_records()
        assert sorted(r.channel for r in stored) == sorted(placed + during)
        assert room.client.hlen(keys.agents(room.ns)) == 3  # snapshot rewritten in full
        assert room.sample("acd_journal_dropped_total", kind="journal") == 0
        assert room.sim.pbx.callers_hung_up_by("router-action") == []


async def test_a_full_buffer_drops_history_first_and_keeps_records(
        room_factory: RoomFactory, private_redis: RedisProcess) -> None:
    async with room_factory(private_redis.url, journal_buffer=100) as room:
        await room.store.flush()
        private_redis.stop()
        writer = room.store.writer
        with capture_logs() as logs:
            for n in range(150):  # facts of a busy room while Redis is away
                writer.on_fact(f.CallReturned(at=float(n), call="x", queue="ARM_N1",
                                              agent=None, reason="test"))
            placed = room.place(2)
            await until(lambda: {r.channel for r in room.records} >= set(placed))
        assert len(writer.buffer) == 100
        assert [e["event"] for e in logs].count("journal_buffer_full") == 1
        assert room.sample("acd_journal_dropped_total", kind="journal") > 50
        assert room.sample("acd_journal_dropped_total", kind="record") == 0
        private_redis.start()
        await until(lambda: room.sample("acd_redis_up") == 1)
        await room.store.flush()
        assert sorted(r.channel for r in room.stored_records()) == sorted(placed)


async def test_a_fenced_writer_writes_no_more(
        room_factory: RoomFactory, redis_url: str,
        redis_namespace: str) -> None:
    client = redis.Redis.from_url(redis_url)
    token = client.incr(keys.fence(redis_namespace))  # this router took the lead
    config = parse_config(SITE)
    service = build_stack(config, speed=SPEED).service
    store = attach_store(service, redis_url, redis_namespace, settings=settings(redis_url),
                         fence_token=lambda: int(token))
    store.writer.on_fact(f.CallReturned(at=1.0, call="x", queue="ARM_N1", agent=None,
                                        reason="one"))
    await store.flush()  # the token is the fence's value: written
    assert client.xlen(keys.journal(redis_namespace)) == 1
    assert client.hlen(keys.agents(redis_namespace)) == 3
    client.incr(keys.fence(redis_namespace))  # another router took the lead
    with capture_logs() as logs:
        store.writer.on_fact(f.CallReturned(at=2.0, call="x", queue="ARM_N1", agent=None,
                                            reason="two"))
        task = store.start()
        await asyncio.wait_for(task, 5)  # the writer stops by itself
    assert store.writer.fenced and store.health()["fenced"] is True
    assert [e["event"] for e in logs] == ["journal_fenced"]
    assert client.xlen(keys.journal(redis_namespace)) == 1  # the batch was refused whole
    store.writer.on_fact(f.CallReturned(at=3.0, call="x", queue="ARM_N1", agent=None,
                                        reason="three"))
    assert len(store.writer.buffer) == 1  # the refused batch, kept; nothing more taken
    await store.close(0.5)
    client.delete(*keys.all_keys(redis_namespace))
    client.close()


async def test_a_standby_journals_nothing_and_writes_everything_once_it_leads(
        redis_url: str, redis_namespace: str) -> None:
    """In a pair the standby follows the same events as the leader, which writes them:
    the standby keeps nothing (no buffer growing for hours); once it wins the lock it
    writes its own whole state, even after an earlier term ended fenced."""
    client = redis.Redis.from_url(redis_url)
    holder: dict[str, int | None] = {"token": None}  # None: not the leader now
    service = build_stack(parse_config(SITE), speed=SPEED).service
    store = attach_store(service, redis_url, redis_namespace, settings=settings(redis_url),
                         fence_token=lambda: holder["token"])
    try:
        store.writer.on_fact(f.CallReturned(at=1.0, call="x", queue="ARM_N1", agent=None,
                                            reason="standby"))
        assert len(store.writer.buffer) == 0
        holder["token"] = int(client.incr(keys.fence(redis_namespace)))  # elected
        store.lead()
        store.writer.on_fact(f.CallReturned(at=2.0, call="x", queue="ARM_N1", agent=None,
                                            reason="leader"))
        await store.flush()
        assert client.xlen(keys.journal(redis_namespace)) == 1
        assert client.hlen(keys.agents(redis_namespace)) == 3  # the whole snapshot
        client.incr(keys.fence(redis_namespace))  # deposed: another router leads
        store.writer.on_fact(f.CallReturned(at=3.0, call="x", queue="ARM_N1", agent=None,
                                            reason="deposed"))
        task = store.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), 5)
        writer = store.writer
        assert writer.fenced
        client.delete(keys.agents(redis_namespace))  # the other leader's state, say
        holder["token"] = int(client.incr(keys.fence(redis_namespace)))  # elected again
        store.lead()
        assert not store.writer.fenced  # (read afresh: lead() changed it)
        await store.flush()
        assert client.hlen(keys.agents(redis_namespace)) == 3  # rewritten in full
    finally:
        await store.close(0.5)
        client.delete(*keys.all_keys(redis_namespace))
        client.close()


async def test_acd_report_reads_the_records_kept_in_redis(
        room_factory: RoomFactory, redis_url: str, tmp_path: Path) -> None:
    async with room_factory(redis_url) as room:
        placed = room.place(3)
        await until(lambda: {r.channel for r in room.records} >= set(placed))
        await room.store.flush()
        first = entries(room.client, keys.records(room.ns), count=1)[0][1]
        # written twice (a retried batch)
        room.client.xadd(keys.records(room.ns), {k: v for k, v in first.items()})
        config = tmp_path / "site.toml"
        config.write_text(SITE.decode() + f'\n[redis]\nurl = "{redis_url}"\n'
                          f'namespace = "{room.ns}"\n')
        day = room.records[0].arrived_at[:10]
        result = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "acd.cli", "report", "--from", day,
                             "--to", day, "--redis", str(config), "--format", "json"],
            capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["records_read"] == 3
        month = report["months"][day[:7]]["all"]
        assert month["answered"] == 3


async def test_acd_report_names_an_unreachable_redis(tmp_path: Path) -> None:
    from tests.support.redisproc import free_port

    config = tmp_path / "site.toml"
    url = f"redis://127.0.0.1:{free_port()}/0"
    config.write_text(SITE.decode() + f'\n[redis]\nurl = "{url}"\ntimeout_s = 0.2\n')
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "acd.cli", "report", "--from", "2026-01-01",
                         "--to", "2026-01-31", "--redis", str(config)],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith(f"acd: redis_records: cannot read the call records "
                                    f"from {url} (acd:{{sas-store}}:records)")


async def test_api_writes_are_audited_in_redis(redis_url: str, redis_namespace: str) -> None:
    from acd.core import inputs as i
    from acd.http import start_http
    from acd.http.tokens import parse_tokens
    from tests.support.apiroom import SITE as API_SITE
    from tests.support.apiroom import SUPERVISOR, TOKENS_TOML

    service = build_stack(parse_config(API_SITE)).service
    service.submit(i.ChannelsSnapshot([], taken_at=0.0))
    store = attach_store(service, redis_url, redis_namespace, settings=settings(redis_url))
    http = await start_http(service, "127.0.0.1", 0,
                            tokens=parse_tokens(TOKENS_TOML.encode(), "tokens.toml"))
    client = redis.Redis.from_url(redis_url)
    try:
        async with aiohttp.ClientSession() as session, session.post(
                f"http://127.0.0.1:{http.port}/api/v1/agents/arm01/pause",
                json={"reason": "briefing"},
                headers={"Authorization": f"Bearer {SUPERVISOR}"}) as response:
            assert response.status == 200
        await store.flush()
        audited = [json.loads(fields[b"a"])
                   for _id, fields in entries(client, keys.audit(redis_namespace))]
        assert [(a["who"], a["path"], a["body"], a["status"]) for a in audited] == [
            ("sup-martin", "/api/v1/agents/arm01/pause", {"reason": "briefing"}, 200)]
        agent = json.loads(hash_field(client, keys.agents(redis_namespace), "arm01") or b"{}")
        assert (agent["state"], agent["pause_reason"]) == ("paused", "briefing")
    finally:
        await http.close()
        await store.close(1.0)
        client.delete(*keys.all_keys(redis_namespace))
        client.close()


async def test_a_router_starts_without_redis_and_writes_once_it_is_back(
        persistent_redis: RedisProcess, redis_namespace: str) -> None:
    persistent_redis.stop()
    service = build_stack(parse_config(SITE)).service
    store = attach_store(service, persistent_redis.url, redis_namespace,
                         settings=settings(persistent_redis.url),
                         registry=CollectorRegistry())
    with capture_logs() as logs:
        assert await store.restore(within_s=0.3) is None
    assert store.restore_result == "failed"
    assert [e["event"] for e in logs] == ["state_restore_failed"]
    store.start()
    store.writer.on_fact(f.CallReturned(at=1.0, call="x", queue="ARM_N1", agent=None,
                                        reason="while Redis was away"))
    async with asyncio.timeout(5):
        while store.writer.up is not False:
            await asyncio.sleep(0.02)
    persistent_redis.start()
    client = redis.Redis.from_url(persistent_redis.url)
    try:
        async with asyncio.timeout(10):
            while client.xlen(keys.journal(redis_namespace)) < 1:
                await asyncio.sleep(0.02)
        assert client.hlen(keys.agents(redis_namespace)) == 3
        assert store.health()["redis_up"] is True
    finally:
        await store.close(1.0)
        client.close()


async def test_an_entry_that_cannot_be_encoded_is_dropped_and_the_rest_written(
        redis_url: str, redis_namespace: str) -> None:
    service = build_stack(parse_config(SITE)).service
    store = attach_store(service, redis_url, redis_namespace, settings=settings(redis_url),
                         registry=CollectorRegistry())
    client = redis.Redis.from_url(redis_url)
    try:
        with capture_logs() as logs:
            store.writer.on_audit({"who": "x", "body": object()})  # not JSON
            store.writer.on_audit({"who": "y"})
            await store.flush()
        assert [e["event"] for e in logs] == ["journal_entry_unwritable"]
        assert [json.loads(fields[b"a"]) for _id, fields in
                entries(client, keys.audit(redis_namespace))] == [{"who": "y"}]
        assert store.registry.get_sample_value("acd_journal_dropped_total",
                                               {"kind": "audit"}) == 1.0
    finally:
        await store.close(1.0)
        client.delete(*keys.all_keys(redis_namespace))
        client.close()


async def test_the_store_finds_its_redis_through_sentinel(
        private_redis: RedisProcess, redis_namespace: str) -> None:
    from tests.support.redisproc import SentinelProcess

    sentinel = SentinelProcess(private_redis, "acdtest")
    service = build_stack(parse_config(SITE)).service
    try:
        config = settings("redis://unused/0", sentinels=[f"127.0.0.1:{sentinel.port}"],
                          sentinel_service="acdtest")
        store = attach_store(service, config.url, redis_namespace, settings=config,
                             registry=CollectorRegistry())
        store.writer.on_fact(f.CallReturned(at=1.0, call="x", queue="ARM_N1", agent=None,
                                            reason="via sentinel"))
        await store.flush()
        await store.close(1.0)
        master = redis.Redis.from_url(private_redis.url)
        assert master.xlen(keys.journal(redis_namespace)) == 1
        assert master.hlen(keys.agents(redis_namespace)) == 3
        master.close()
    finally:
        sentinel.close()
