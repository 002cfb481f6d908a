"""``--records-out`` on a disk that fills up: no record is lost, none written twice,
the lines keep their order; routing goes on, ``/healthz`` says ``warn`` (200) with
``records_file`` ``failing``, ``acd_records_file_errors_total`` counts the failed
writes. A real full filesystem: a 64 KiB tmpfs mounted by the test (root only)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from acd.core.model import Outcome
from acd.core.records import CallRecord, LegRecord
from acd.service.recordfile import RETRY_S, RecordsFile
from tests.support.acdrun import SECRET, read_log_until, run_config
from tests.support.amipeer import AmiPeer, recorded_events
from tests.support.fulldisk import PAGE, fill, small_tmpfs
from tests.support.wait import until


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "disk") as where:
        yield where


def record(n: int) -> CallRecord:
    """A call record of about 700 bytes as JSON, told apart by ``n``."""
    at = f"2026-12-06T22:{n // 60 % 60:02d}:{n % 60:02d}.000+01:00"
    return CallRecord(
        uniqueid=f"1795329358.{n}", linkedid=f"1795329358.{n}", number="15",
        caller_name="", queues=["ARM_N1"], arrived_at=at, answered_at=at, ended_at=at,
        outcome=Outcome.ANSWERED, agent="1001", wait_s=1.5, priority=5,
        channel=f"Local/15@incoming-{n:08x};2",
        legs=[LegRecord(queue="ARM_N1", agent="1001", entered_at=at, answered_at=at,
                        ended_at=at, wait_s=1.5, talk_s=120.0, role="ARM_N1")])


def uniqueids(path: Path) -> list[str]:
    """The records of the file, each line whole JSON (a cut or merged line fails)."""
    data = path.read_bytes()
    assert data.endswith(b"\n")
    return [json.loads(line)["uniqueid"] for line in data.decode().splitlines()]


def test_a_full_disk_keeps_the_records_and_the_next_one_writes_them_in_order(
        disk: Path) -> None:
    out = disk / "records.jsonl"
    records = RecordsFile(str(out), retry_s=3600)  # no timer: the next record retries
    fill(disk / "filler", leave=PAGE)  # one page left: about five records
    with capture_logs() as logs:
        for n in range(12):
            records.write(record(n))
        assert 0 < records.pending < 12 and records.errors >= 1
        health = records.health()
        assert health["status"] == "failing" and health["pending"] == records.pending
        assert "No space left on device" in health["error"]
        # the disk took part of a line: it is finished later, never begun again
        assert not out.read_bytes().endswith(b"\n")
        os.unlink(disk / "filler")  # space is back
        records.write(record(12))
    assert records.pending == 0 and records.error is None
    assert uniqueids(out) == [f"1795329358.{n}" for n in range(13)]
    assert records.health() == {"status": "ok", "path": str(out), "pending": 0,
                                "errors": records.errors, "dropped": 0}
    events = [e["event"] for e in logs if e["event"].startswith("records_file")]
    assert events == ["records_file_failed", "records_file_recovered"]
    records.close()


async def test_the_records_are_written_by_the_timer_once_space_is_back(disk: Path) -> None:
    out = disk / "records.jsonl"
    records = RecordsFile(str(out), retry_s=0.05)
    fill(disk / "filler")
    records.write(record(1))
    records.write(record(2))
    assert records.pending == 2
    await until(lambda: records.errors >= 3)  # tried again on the timer, still full
    assert records.pending == 2
    os.unlink(disk / "filler")
    await until(lambda: records.pending == 0)  # written without a new record
    assert uniqueids(out) == ["1795329358.1", "1795329358.2"]
    assert records.health()["status"] == "ok"
    records.close()


def test_past_the_limit_the_oldest_waiting_records_go_and_are_counted(disk: Path) -> None:
    out = disk / "records.jsonl"
    records = RecordsFile(str(out), pending_limit=3, retry_s=3600)
    fill(disk / "filler")
    with capture_logs() as logs:
        for n in range(6):
            records.write(record(n))
    assert records.pending == 3 and records.dropped == 3
    assert [e["event"] for e in logs].count("records_file_dropping") == 1
    os.unlink(disk / "filler")
    assert records.flush()
    assert uniqueids(out) == ["1795329358.3", "1795329358.4", "1795329358.5"]
    records.close()


def test_close_says_what_it_could_not_write(disk: Path) -> None:
    records = RecordsFile(str(disk / "records.jsonl"), retry_s=3600)
    fill(disk / "filler")
    records.write(record(1))
    with capture_logs() as logs, pytest.raises(OSError, match="1 call records not written"):
        records.close()
    (line,) = [e for e in logs if e["event"] == "records_file_unwritten"]
    assert line["lines"] == 1


async def _get(port: int, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, \
            http.get(f"http://127.0.0.1:{port}{path}") as response:
        return response.status, await response.text()


def _sample(metrics: str, name: str) -> float:
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    raise AssertionError(f"{name} not exposed")


@pytest.mark.slow
async def test_acd_run_routes_on_a_full_disk_says_so_and_writes_the_records_later(
        disk: Path, tmp_path: Path) -> None:
    peer = await AmiPeer(secret=SECRET, stream_after_status=True, stream=recorded_events(
        "02-call-answered-via-redirect.events.ami")).start()
    config = tmp_path / "site.toml"
    config.write_text(run_config(peer.port))
    out = disk / "records.jsonl"
    out.touch()
    fill(disk / "filler")
    router = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "acd.cli", "run", "--config", str(config), "--records-out", str(out),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "ACD_AMI_SECRET": SECRET})
    lines: list[dict[str, object]] = []
    try:
        started = await read_log_until(router, "router_started", lines)
        port = int(str(started["http"]).rsplit(":", 1)[1])
        failed = await read_log_until(router, "records_file_failed", lines)
        ended = next((line for line in lines if line["event"] == "call_ended"), None) \
            or await read_log_until(router, "call_ended", lines)
        assert "No space left on device" in str(failed["error"])
        status, body = await _get(port, "/healthz")
        health = json.loads(body)
        # routing, with something to repair: 200, not the 503 of a router that is down
        assert status == 200 and health["status"] == "warn" and health["ami_connected"]
        assert health["records_file"]["status"] == "failing"
        assert health["records_file"]["pending"] == 1
        assert "No space left on device" in health["records_file"]["error"]
        _, metrics = await _get(port, "/metrics")
        assert _sample(metrics, "acd_records_file_errors_total") >= 1
        assert _sample(metrics, "acd_records_file_pending") == 1
        os.unlink(disk / "filler")  # space is back: the timer writes the record
        async with asyncio.timeout(RETRY_S + 5):
            await read_log_until(router, "records_file_recovered", lines)
        status, body = await _get(port, "/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"
        assert uniqueids(out) == [ended["call"]]
        router.send_signal(signal.SIGTERM)
        async with asyncio.timeout(6):
            await router.wait()
        assert router.returncode == 0
    finally:
        if router.returncode is None:
            router.kill()
            await router.wait()
        await peer.close()
