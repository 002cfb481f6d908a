"""Background tasks that fail are logged, restarted, and shown in /healthz."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from acd.config.load import parse_config
from acd.testing import build_stack
from tests.support.sites import site_toml


async def test_a_failing_task_is_logged_restarted_and_reported() -> None:
    service = build_stack(parse_config(site_toml("x")), metrics=True).service
    supervisor = service.parts.supervisor
    runs: list[int] = []
    release = asyncio.Event()
    failed = asyncio.Event()
    healths: list[dict[str, object]] = []

    async def heartbeat() -> None:
        runs.append(1)
        if len(runs) == 1:
            failed.set()
            raise ValueError("cannot convert float NaN to integer")
        await release.wait()

    with capture_logs() as logs:
        task = supervisor.start("heartbeat", heartbeat)
        await failed.wait()
        await asyncio.sleep(0)
        healths.append(service.health())  # down until restarted
        restarts = dict(service.task_restarts)
        async with asyncio.timeout(5):
            while len(runs) < 2:
                await asyncio.sleep(0.01)
        assert supervisor.ok()
        release.set()
        await task
    assert healths[0]["status"] == "degraded"
    assert healths[0]["tasks"] == {"heartbeat": {"running": False, "restarts": 0,
                                                 "last_error": "ValueError"}}
    assert supervisor.health()["heartbeat"]["restarts"] == 1
    assert restarts == {"heartbeat": 0, "reconciler": 0}
    assert service.metrics is not None
    exposed = service.metrics.render().decode()
    assert 'acd_task_restarts_total{task="heartbeat"} 1.0' in exposed
    assert 'acd_task_restarts_total{task="reconciler"} 0.0' in exposed
    (failure,) = [e for e in logs if e["event"] == "task_failed"]
    assert failure["task"] == "heartbeat" and failure["error"] == "ValueError"
    assert "NaN" not in str(failure)
    assert [e["event"] for e in logs if e["event"] == "task_restarted"] == ["task_restarted"]


async def test_a_journal_writer_that_dies_is_logged_and_started_again(
        redis_url: str, redis_namespace: str) -> None:
    from acd.store import attach_store

    service = build_stack(parse_config(site_toml("x"))).service
    store = attach_store(service, redis_url, redis_namespace)
    original = store.writer.run
    runs: list[int] = []

    async def run() -> None:  # the first run dies of a bug outside its batches
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("bug")
        await original()

    store.writer.run = run  # type: ignore[method-assign]
    with capture_logs() as logs:
        store.start()
        async with asyncio.timeout(5):
            while len(runs) < 2:
                await asyncio.sleep(0.01)
    health = store.health()
    assert health["writer_running"] is True and health["writer_restarts"] == 1
    assert [e["task"] for e in logs if e["event"] == "task_failed"] == ["journal-writer"]
    await store.close(1.0)
