"""A caller who hangs up during the announcement, through real AMI bytes: the
production Router and AMI connection against a fake Asterisk over TCP
(:mod:`tests.support.amipeer`) sending what Asterisk sent in live recording 03 for a
caller on 15 up to its ``Answer()`` (the ``[acd-announce]`` of that time), with the
current dialplan's ``AcdCallArrived`` before it, then the recording's own hang-up
sequence 0.3 s later, inside ``Answer()``'s half second. The room has a free agent:
a caller the router believed waiting would be offered at once."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from structlog.testing import capture_logs

from acd.ami.frames import FrameReader, parse_frame
from acd.config.load import parse_config
from acd.core import facts as f
from acd.service.router import Router
from acd.testing import Stack, build_stack
from tests.support.amipeer import AmiPeer, ami_config
from tests.support.paths import LIVE
from tests.support.sites import local_agents, site_toml
from tests.support.wait import until

SECRET = "s3cret"
SITE = site_toml("SAS announcement", agents=local_agents("1001"))
RECORDING = LIVE / "03-abandon-while-waiting.events.ami"
PHONE, CALLER = "Local/15@from-trunk-00000002;1", "Local/15@from-trunk-00000002;2"
_STAMP = re.compile(rb"\r\nTimestamp: [0-9.]+\r\n")


def recorded_frames() -> list[bytes]:
    data = RECORDING.read_bytes().split(b"\r\n", 1)[1]
    return [frame for frame in FrameReader().feed(data) if frame]


def stamped(frame: bytes, at: float) -> bytes:
    return _STAMP.sub(f"\r\nTimestamp: {at:.6f}\r\n".encode(), frame) + b"\r\n\r\n"


def arrival_of(waiting: bytes) -> bytes:
    """The recording's ``AcdCallWaiting`` as ``[acd-announce]`` now sends
    ``AcdCallArrived`` before ``Answer()``: the channel still ringing, at priority 3,
    headers ``Number`` and ``Uniqueid`` only."""
    lines = []
    for line in waiting.split(b"\r\n"):
        name, _, value = line.partition(b": ")
        if name == b"CallerName":
            continue
        value = {b"UserEvent": b"AcdCallArrived", b"ChannelState": b"4",
                 b"ChannelStateDesc": b"Ring"}.get(name, value)
        if name == b"Priority" and value.isdigit():
            value = b"3"
        lines.append(name + b": " + value)
    return b"\r\n".join(lines)


def announcement_then_hangup() -> tuple[list[bytes], list[bytes]]:
    """The caller's frames up to its ``Answer()`` (with the arrival event before it),
    and its hang-up frames."""
    frames = recorded_frames()
    messages = [parse_frame(frame) for frame in frames]

    def caller(n: int) -> bool:
        m = messages[n]
        return m.get("Channel", "").startswith(CALLER[:-2]) or m.get("Event") in (
            "LocalBridge", "DialBegin", "DialEnd")

    first = next(n for n, m in enumerate(messages) if m.get("Event") == "Newchannel")
    answer = next(n for n, m in enumerate(messages) if m.get("Application") == "Answer")
    after = next(n for n, m in enumerate(messages)
                 if n > answer and m.get("Channel") == "none")  # the next heartbeat
    waiting = next(frames[n] for n, m in enumerate(messages)
                   if m.get("UserEvent") == "AcdCallWaiting")
    hangup = next(n for n, m in enumerate(messages)
                  if m.get("Channel") == PHONE and m.get("Application") == "Hangup")
    announced = [frames[n] for n in range(first, after) if caller(n)]
    announced.insert(announced.index(frames[answer]), arrival_of(waiting))
    gone = [frames[n] for n in range(hangup, len(frames)) if caller(n)
            and messages[n].get("Event") != "MusicOnHoldStop"]
    assert [parse_frame(g)["Event"] for g in gone] == [
        "Newexten", "SoftHangupRequest", "HangupRequest", "Hangup", "SoftHangupRequest",
        "Hangup"]
    return announced, gone


class Room:
    def __init__(self) -> None:
        self.stack: Stack | None = None
        self.facts: list[f.Fact] = []
        self.peer: AmiPeer | None = None
        self.task: asyncio.Task[None] | None = None

    async def connect(self) -> AmiPeer:
        self.peer = peer = await AmiPeer(secret=SECRET,
                                         ping_timestamp=lambda: f"{time.time():.6f}").start()
        self.stack = build_stack(parse_config(SITE), ami=ami_config(peer.port), secret=SECRET,
                                 records=False, metrics=True)
        self.router.add_fact_listener(self.facts.append)
        self.task = asyncio.create_task(self.stack.ami.run())
        await until(lambda: self.router.engine.link_up)
        return peer

    def ended(self) -> list[f.CallEnded]:
        return [x for x in self.facts if isinstance(x, f.CallEnded)]

    @property
    def router(self) -> Router:
        assert self.stack is not None, "not connected yet"
        return self.stack.router

    def sample(self, name: str) -> float:
        assert self.stack is not None and self.stack.metrics is not None
        text = self.stack.metrics.render().decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith(name + "{") and 'queue="ARM_N1"' in line)

    async def close(self) -> None:
        if self.stack is None:
            return
        await self.stack.ami.stop()
        if self.task is not None:
            async with asyncio.timeout(2):
                await self.task
        if self.peer is not None:
            await self.peer.close()
        self.router.cancel_timer()


@pytest.fixture
async def room() -> AsyncIterator[Room]:
    room = Room()
    yield room
    await room.close()


async def test_a_hang_up_during_the_announcement_gives_one_record_and_no_action(
        room: Room) -> None:
    peer = await room.connect()
    announced, gone = announcement_then_hangup()
    start = time.time()
    with capture_logs() as logs:
        await peer.send(b"".join(stamped(frame, start + n * 1e-5)
                                 for n, frame in enumerate(announced)))
        await until(lambda: CALLER in room.router.engine.state.arriving)
        assert room.router.engine.calls == {}
        await asyncio.sleep(0.3)
        await peer.send(b"".join(stamped(frame, start + 0.3 + n * 1e-5)
                                 for n, frame in enumerate(gone)))
        await until(lambda: room.ended() != [])
        await asyncio.sleep(0.1)  # nothing more comes
    (line,) = [e for e in logs if e["event"] == "call_ended"]
    assert (line["outcome"], line["in_announcement"], line["queue"]) == (
        "abandoned", True, "ARM_N1")
    assert not any(e["event"] == "call_queued" for e in logs)
    (ended,) = room.ended()
    record = ended.record
    assert (record.outcome, record.in_announcement) == ("abandoned", True)
    assert record.channel == CALLER and record.number == "15"
    assert record.queues == ["ARM_N1"] and record.legs == []
    assert (record.wait_s, record.answered_at, record.agent) == (None, None, None)
    assert record.ended_at is not None
    lasted = (datetime.fromisoformat(record.ended_at)
              - datetime.fromisoformat(record.arrived_at)).total_seconds()
    assert lasted == pytest.approx(0.3, abs=0.05)
    touched = [a for a in peer.all_actions()
               if a.get("Channel") in (CALLER, PHONE) or a["Action"] in ("Redirect", "Hangup")]
    assert touched == []
    assert room.router.engine.state.arriving == {}
    assert room.router.engine.agents["1001"].state.value == "available"
    for name in ("acd_calls_offered_total", "acd_calls_abandoned_total",
                 "acd_calls_short_abandoned_total",
                 "acd_calls_abandoned_in_announcement_total"):
        assert room.sample(name) == 1.0, name
    assert room.sample("acd_calls_answered_total") == 0.0
