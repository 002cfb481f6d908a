"""``acd replay`` on every recorded transcript gives the outcomes INDEX.md describes."""

from __future__ import annotations

import collections
import json
import subprocess
import sys
from datetime import datetime

import msgspec
import pytest

from acd.config import DialplanNames
from acd.core.records import CallRecord
from acd.tools.replay import default_replay_config, replay_files
from tests.support.paths import TRANSCRIPTS, all_event_transcripts


def replay(name: str) -> list[CallRecord]:
    return list(replay_files([TRANSCRIPTS / name]))


def test_answered_call_has_its_real_wait() -> None:
    (record,) = replay("02-call-answered-via-redirect.events.ami")
    assert record.outcome == "answered"
    assert record.agent == "1001"
    assert record.number == "15"
    assert record.queues == ["ARM_N1"]
    # AcdCallWaiting at 1795329359.206512, agent's DialEnd ANSWER at 1795329365.214389
    assert record.wait_s == pytest.approx(6.008, abs=0.001)
    assert record.uniqueid == "1795329358.1"
    assert record.linkedid == "1795329358.0"
    arrived = datetime.fromisoformat(record.arrived_at)
    assert arrived.utcoffset() is not None
    assert arrived.timestamp() == pytest.approx(1795329359.206, abs=0.001)


def test_abandoned_call() -> None:
    (record,) = replay("03-call-abandoned-while-waiting.events.ami")
    assert record.outcome == "abandoned"
    assert record.number == "116117"
    assert record.wait_s is None
    assert record.answered_at is None
    assert record.agent is None


def test_accented_name_intact() -> None:
    (record,) = replay("07-non-ascii-callerid.events.ami")
    assert record.caller_name == "Hélène Dupré"
    assert record.outcome == "answered"


def test_burst_of_fifty_calls() -> None:
    records = replay("10-burst-50-calls.events.ami")
    assert len(records) == 50
    outcomes = collections.Counter(r.outcome for r in records)
    assert outcomes == {"answered": 49, "abandoned": 1}
    assert collections.Counter(r.number for r in records) == {"15": 33, "116117": 17}
    answered = [r for r in records if r.outcome == "answered"]
    assert all(r.wait_s is not None and 0.9 < r.wait_s < 60 for r in answered)
    assert len({r.uniqueid for r in records}) == 50
    assert {r.agent for r in answered} == {f"10{n:02d}" for n in range(1, 11)}


@pytest.mark.parametrize("name", ["04a-transfer-via-redirect.events.ami",
                                  "04b-transfer-via-blindtransfer.events.ami",
                                  "12-single-connection-call-and-transfer.events.ami"])
def test_transferred_call_keeps_one_record_with_two_legs(name: str) -> None:
    (record,) = replay(name)
    assert record.outcome == "answered"
    assert record.agent == "1001"
    assert [leg.agent for leg in record.legs] == ["1001", "1002"]
    assert all(leg.talk_s is not None and leg.talk_s > 0 for leg in record.legs)


def test_native_queue_calls_are_followed() -> None:
    """The recording's queue ``test_q`` stands for the fail-open queue."""
    config = msgspec.structs.replace(default_replay_config(), dialplan=DialplanNames(
        failopen_queue="test_q"))
    records = {r.number: r for r in replay_files(
        [TRANSCRIPTS / "05-native-app-queue.events.ami"], config)}
    assert records["100"].outcome == "answered"
    assert records["100"].queues == ["test_q"]
    assert len(records["100"].legs) == 1
    assert records["101"].outcome == "abandoned"


def test_only_the_failopen_queue_is_followed() -> None:
    """Callers of any other Asterisk queue are not ACD calls: no record."""
    assert replay("05-native-app-queue.events.ami") == []


def test_status_lists_do_not_create_calls() -> None:
    records = replay("08-status-and-coreshowchannels-lists.events.ami")
    assert collections.Counter(r.outcome for r in records) == {"answered": 2, "abandoned": 2}


@pytest.mark.parametrize("path", all_event_transcripts(), ids=lambda p: p.name[:3])
def test_cli_replays_every_transcript(path) -> None:  # type: ignore[no-untyped-def]
    result = subprocess.run([sys.executable, "-m", "acd.cli", "replay", str(path)],
                            capture_output=True, check=True)
    lines = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    # only the fail-open queue's callers are the ACD's (05's test_q is not)
    expected_calls = path.read_bytes().count(b"UserEvent: AcdCallWaiting") + \
        path.read_bytes().count(b"Queue: acd-front-office\r\nPosition:")
    assert len(lines) == expected_calls
    for line in lines:
        assert set(line) >= {"uniqueid", "linkedid", "number", "caller_name", "queues",
                             "arrived_at", "answered_at", "ended_at", "outcome", "agent",
                             "wait_s"}
        assert line["outcome"] in ("answered", "abandoned")
    if path.name.startswith("07"):
        assert "Hélène Dupré".encode() in result.stdout


def test_cli_replay_missing_file_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = subprocess.run([sys.executable, "-m", "acd.cli", "replay",
                             str(tmp_path / "nope.ami")], capture_output=True, text=True)
    assert result.returncode == 1
    assert "nope.ami: no such file" in result.stderr
