"""Time that a single event cannot move, through real AMI bytes: the production
Router and AMI connection against a fake Asterisk over real TCP
(:mod:`tests.support.amipeer`) whose clock is the test's, a caller offered to the one
agent (ringing, ``max_missed_offers = 1``: an expired offer would pause him)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from structlog.testing import capture_logs

from acd.ami import events as ev
from acd.config.load import parse_config
from acd.core import facts as f
from acd.core.model import Agent, AgentState, Call, CallState
from acd.service.router import Router
from acd.service.service import Service
from acd.testing import Stack, build_stack
from tests.support.amipeer import AmiPeer, ami_config
from tests.support.sites import local_agents, site_toml
from tests.support.wait import until

SECRET = "s3cret"
SITE = site_toml("SAS clock", sections={"routing": {"max_missed_offers": 1}},
                 agents=local_agents("1001"))
CALLER = "Local/15@incoming-00000001;2"


def stamp(at: float) -> str:
    return f"{at:.6f}"


def newstate(channel: str, uniqueid: str, at: float) -> bytes:
    """A channel of nobody the router follows changes state."""
    return (f"Event: Newstate\r\nPrivilege: call,all\r\nTimestamp: {stamp(at)}\r\n"
            f"Channel: {channel}\r\nChannelState: 6\r\nChannelStateDesc: Up\r\n"
            f"CallerIDNum: 0320000000\r\nContext: ivr\r\nExten: s\r\nPriority: 1\r\n"
            f"Uniqueid: {uniqueid}\r\nLinkedid: {uniqueid}\r\n\r\n").encode()


class Room:
    """A router offering one waiting caller to its one agent; the peer's clock is the
    test's (real time, moved by ``ahead`` seconds)."""

    def __init__(self) -> None:
        self.stack: Stack | None = None
        self.facts: list[f.Fact] = []
        self.task: asyncio.Task[None] | None = None
        self.peer: AmiPeer | None = None
        self.ahead = 0.0

    def pbx_now(self) -> float:
        return time.time() + self.ahead

    async def offer(self, arrived: str | None = None) -> AmiPeer:
        arrived = arrived or f"{self.pbx_now() - 4.0:.3f}"
        caller = {"Channel": CALLER, "Uniqueid": "1.1", "Linkedid": "1.1",
                  "Context": "holding", "Exten": "s", "Application": "MusicOnHold",
                  "CallerIDNum": "0612345678", "Seconds": "5",
                  "Variables": f"ACD_NUMBER=15|ACD_ARRIVED={arrived}"}
        self.peer = peer = await AmiPeer(secret=SECRET, status_channels=[caller],
                                         ping_timestamp=lambda: stamp(self.pbx_now())
                                         ).start()
        self.stack = build_stack(parse_config(SITE), ami=ami_config(peer.port), secret=SECRET,
                                 records=False, metrics=True)
        self.router.add_fact_listener(self.facts.append)
        self.task = asyncio.create_task(self.stack.ami.run())
        await until(lambda: self.redirects() == [CALLER])
        assert self.call().state is CallState.OFFERED
        assert self.agent().state is AgentState.RINGING
        return peer

    async def send(self, *frames: bytes) -> None:
        assert self.peer is not None
        last = ev.decode_frame(frames[-1].rstrip(b"\r\n"))
        assert last is not None and last.timestamp is not None
        await self.peer.send(b"".join(frames))
        await until(lambda: self.router.pbx_time.latest == last.timestamp)

    def heartbeats(self) -> list[int]:
        assert self.peer is not None
        return [int(a["Value"]) for a in self.peer.all_actions()
                if a["Action"] == "Setvar" and a.get("Variable") == "ACD_HEARTBEAT"]

    def redirects(self) -> list[str]:
        assert self.peer is not None
        return [a.get("Channel", "") for a in self.peer.all_actions()
                if a["Action"] == "Redirect"]

    def call(self) -> Call:
        return self.router.engine.calls["1.1"]

    def agent(self) -> Agent:
        return self.router.engine.agents["1001"]

    def untouched(self) -> None:
        """The offer rings on: not expired, nobody paused, nothing offered again."""
        call, agent = self.router.engine.calls["1.1"], self.router.engine.agents["1001"]
        assert call.state is CallState.OFFERED and call.agent == "1001"
        assert agent.state is AgentState.RINGING and agent.missed_offers == 0
        assert self.redirects() == [CALLER]
        assert not any(isinstance(x, f.CallReturned) for x in self.facts)
        assert not any(isinstance(x, f.AgentStateChanged) and x.new == "paused"
                       for x in self.facts)

    @property
    def service(self) -> Service:
        assert self.stack is not None, "no offer yet"
        return self.stack.service

    @property
    def router(self) -> Router:
        return self.service.router

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


def skews(service: Service) -> str:
    assert service.metrics is not None
    text = service.metrics.render().decode()
    return next(line for line in text.splitlines()
                if line.startswith('acd_clock_skew_events_total{kind="asterisk"}'))


async def test_a_newstate_of_an_unknown_channel_stamped_an_hour_ahead_moves_no_timer(
        room: Room) -> None:
    await room.offer()
    with capture_logs() as logs:
        await room.send(newstate("PJSIP/ivr-00000009", "9.9", room.pbx_now() + 3600.0))
        await asyncio.sleep(0.1)
        await room.send(newstate("PJSIP/ivr-00000009", "9.9", room.pbx_now()))
    room.untouched()
    assert skews(room.service) == 'acd_clock_skew_events_total{kind="asterisk"} 1.0'
    assert [e["clock"] for e in logs if e["event"] == "clock_skew"] == ["asterisk"]


async def test_a_stepped_asterisk_clock_is_counted_once_logged_once_and_moves_no_timer(
        room: Room) -> None:
    await room.offer()
    with capture_logs() as logs:
        room.ahead = 3600.0  # NTP steps Asterisk's host an hour ahead
        for n in range(8):
            await room.send(newstate(f"PJSIP/ivr-{n:08x}", f"9.{n}", room.pbx_now()))
            await asyncio.sleep(0.02)
        before = len(room.heartbeats())
        room.service.parts.heartbeat.beat()
        await until(lambda: len(room.heartbeats()) > before)
    room.untouched()
    assert skews(room.service) == 'acd_clock_skew_events_total{kind="asterisk"} 1.0'
    steps = [e for e in logs if e["event"] == "clock_skew"]
    assert len(steps) == 1 and round(steps[0]["step_s"]) == -3600
    # the dialplan's fail-open check compares the heartbeat with Asterisk's ${EPOCH}:
    # it follows the step, or every caller would fail open
    assert abs(room.heartbeats()[-1] - room.pbx_now()) < 2


async def test_a_clock_that_keeps_disagreeing_is_counted_every_time_and_logged_once(
        room: Room) -> None:
    """Stray timestamps one after another (a drifting clock, a replay far faster than
    real time): every episode counts in the metric, one line is logged a minute."""
    await room.offer()
    with capture_logs() as logs:
        for n in range(6):
            stray = room.pbx_now() + (3600.0 if n % 2 == 0 else 0.0)
            await room.send(newstate(f"PJSIP/ivr-{n:08x}", f"8.{n}", stray))
            await asyncio.sleep(0.02)
    room.untouched()
    assert skews(room.service) == 'acd_clock_skew_events_total{kind="asterisk"} 3.0'
    assert len([e for e in logs if e["event"] == "clock_skew"]) == 1


async def test_timestamps_a_few_milliseconds_out_of_order_change_nothing(room: Room) -> None:
    await room.offer()
    with capture_logs() as logs:
        now = room.pbx_now()
        await room.send(*(newstate(f"PJSIP/ivr-{n:08x}", f"9.{n}", now - skew)
                          for n, skew in enumerate((0.003, 0.001, 0.006, 0.0, 0.004))))
    room.untouched()
    assert skews(room.service) == 'acd_clock_skew_events_total{kind="asterisk"} 0.0'
    assert not [e for e in logs if e["event"] == "clock_skew"]


async def test_a_wait_from_acd_arrived_in_milliseconds_is_exact_to_the_millisecond(
        room: Room) -> None:
    """A caller the router found waiting (it missed the announcement): the wait runs
    from the dialplan's ACD_ARRIVED, in milliseconds, to the answer's Timestamp."""
    arrived = f"{room.pbx_now() - 4.321:.3f}"
    await room.offer(arrived)
    leg = "Local/1001@agents-00000002;1"
    answered_at = room.pbx_now()
    await room.send(
        (f"Event: DialBegin\r\nPrivilege: call,all\r\nTimestamp: {stamp(answered_at - 1)}"
         f"\r\nChannel: {CALLER}\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\n"
         f"DestChannel: {leg}\r\nDestUniqueid: 2.1\r\nDestLinkedid: 1.1\r\n"
         f"DialString: 1001@agents\r\n\r\n").encode(),
        (f"Event: DialEnd\r\nPrivilege: call,all\r\nTimestamp: {stamp(answered_at)}\r\n"
         f"Channel: {CALLER}\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\n"
         f"DestChannel: {leg}\r\nDestUniqueid: 2.1\r\nDestLinkedid: 1.1\r\n"
         f"DialStatus: ANSWER\r\n\r\n").encode())
    answered = [x for x in room.facts if isinstance(x, f.CallAnswered)]
    assert len(answered) == 1
    assert round(answered[0].wait_s, 3) == round(float(stamp(answered_at)) - float(arrived), 3)
