"""No single input from Asterisk stops routing (findings 1–3 of the hardening review).

Each test runs the production Router and AMI connection against a fake Asterisk over
real TCP (:mod:`tests.support.amipeer`) that sends what a broken or hostile peer might."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from structlog.testing import capture_logs

from acd.ami import userevents as ue
from acd.ami.client import AmiConnection
from acd.config import Config
from acd.config.load import parse_config
from acd.core import facts as f
from acd.core.model import CallState
from acd.metrics import RouterMetrics
from acd.service.router import Router
from acd.service.service import Service
from acd.testing import Stack, build_stack
from tests.support.amipeer import BANNER, AmiPeer, ami_config, waiting_event
from tests.support.sites import local_agents, site_toml
from tests.support.wait import until

SECRET = "s3cret"
#: one phone rung at a time: two callers, two agents, each caller its own agent
SITE = site_toml("SAS hardening", sections={"routing": {"ring_phones": 1}},
                 agents=local_agents("1001", "1002"))
BOOTED = (b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 8\r\n"
          b"Status: Fully Booted\r\n\r\n")


def caller(channel: str, uniqueid: str, arrived: str) -> dict[str, str]:
    """A caller waiting in the holding context, as a Status list item."""
    return {"Channel": channel, "Uniqueid": uniqueid, "Context": "holding",
            "Exten": "s", "Application": "MusicOnHold", "CallerIDNum": "0612345678",
            "Variables": f"ACD_NUMBER=15|ACD_ARRIVED={arrived}"}


class Room:
    """The service, built when it connects to its peer (the peer's port is known then)."""

    def __init__(self) -> None:
        self.config: Config = parse_config(SITE)
        self.stack: Stack | None = None
        self.facts: list[f.Fact] = []
        self.tasks: list[asyncio.Task[None]] = []

    @property
    def service(self) -> Service:
        assert self.stack is not None, "not connected yet"
        return self.stack.service

    @property
    def router(self) -> Router:
        return self.service.router

    def connect(self, peer: AmiPeer, **overrides: float) -> AmiConnection:
        """Build the service and start its AMI session (it runs at the next await)."""
        self.stack = build_stack(self.config, ami=ami_config(peer.port, **overrides),
                                 secret=SECRET, records=False)
        self.router.add_fact_listener(self.facts.append)
        self.tasks.append(asyncio.create_task(self.stack.ami.run()))
        return self.stack.ami


@pytest.fixture
async def room() -> AsyncIterator[Room]:
    room = Room()
    yield room
    if room.stack is not None:
        await room.stack.ami.stop()
    for task in room.tasks:
        async with asyncio.timeout(2):
            await task


def redirected(peer: AmiPeer) -> list[str]:
    return [a.get("Channel", "") for a in peer.all_actions() if a["Action"] == "Redirect"]


def sent_values(peer: AmiPeer) -> list[str]:
    return [v for action in peer.all_actions() for v in action.values()]


async def test_a_line_break_in_a_channel_skips_that_channel_not_the_resync(
        room: Room) -> None:
    bad = "Local/15@incoming-1;2\rAction: Hangup"
    peer = await AmiPeer(status_channels=[caller(bad, "1.1", "100.0"),
                                          caller("Local/15@incoming-2;2", "2.1", "200.0"),
                                          caller("Local/15@incoming-3;2\n", "3.1", "300.0")]
                         ).start()
    with capture_logs() as logs:
        room.connect(peer)
        await until(lambda: "Local/15@incoming-2;2" in redirected(peer))
    assert peer.logins == 1  # the session was never torn down
    assert all("\r" not in v and "\n" not in v for v in sent_values(peer))
    assert room.router.ami is not None
    assert room.router.ami.drops.counts["undecodable"] == 2
    skipped = [e for e in logs if e["event"] == "ami_frames_dropped"]
    # two channels skipped, one log line: the episode's first drop
    assert len(skipped) == 1 and "holds a line break or NUL" in skipped[0]["detail"]
    exposed = RouterMetrics(room.service).render().decode()
    assert 'acd_ami_frames_dropped_total{reason="undecodable"} 2.0' in exposed
    assert 'acd_ami_frames_dropped_total{reason="banner"} 0.0' in exposed
    await peer.close()


async def test_a_nul_in_a_channel_is_never_sent_to_asterisk(room: Room) -> None:
    stream = (waiting_event("Local/15@incoming-1;2\x00;Hangup", "1.1")
              + waiting_event("Local/15@incoming-2;2", "2.1"))
    peer = await AmiPeer(stream=stream, stream_after_status=True).start()
    room.connect(peer)
    await until(lambda: "Local/15@incoming-2;2" in redirected(peer))
    assert all("\x00" not in v for v in sent_values(peer))
    assert list(room.router.engine.calls) == ["2.1"]
    await peer.close()


@pytest.mark.parametrize("timestamp", ["1e12", "nan", "inf", "-5"])
async def test_a_timestamp_out_of_range_is_refused_at_decoding(room: Room,
                                                               timestamp: str) -> None:
    stream = (waiting_event("Local/15@incoming-1;2", "1.1", timestamp)
              + waiting_event("Local/15@incoming-2;2", "2.1"))
    peer = await AmiPeer(stream=stream, stream_after_status=True).start()
    room.connect(peer)
    await until(lambda: "Local/15@incoming-2;2" in redirected(peer))
    assert peer.logins == 1
    assert "1.1" not in room.router.engine.calls
    assert room.router.ami is not None and room.router.ami.drops.counts["undecodable"] == 1
    await peer.close()


async def test_an_input_that_raises_is_logged_counted_and_the_next_one_routed(
        room: Room) -> None:
    """Any exception while handling one input (here a fact listener that breaks on the
    first call) is logged once with the input's kind and no value; routing goes on."""
    broken: list[str] = []

    def listener(fact: f.Fact) -> None:
        if isinstance(fact, f.CallQueued) and not broken:
            broken.append(fact.call)
            raise RuntimeError("caller 0611223344 broke me")

    stream = (waiting_event("Local/15@incoming-1;2", "1.1")
              + waiting_event("Local/15@incoming-2;2", "2.1"))
    peer = await AmiPeer(stream=stream, stream_after_status=True).start()
    with capture_logs() as logs:
        room.connect(peer)
        room.router.add_fact_listener(listener)  # before the session runs
        await until(lambda: "Local/15@incoming-2;2" in redirected(peer))
    assert peer.logins == 1
    assert "Local/15@incoming-1;2" in redirected(peer)  # the other listeners went on
    assert room.router.input_errors == {"fact_listener": 1}
    (failed,) = [e for e in logs if e["event"] == "input_failed"]
    assert failed["kind"] == "fact_listener" and failed["input"] == "CallQueued"
    assert failed["error"] == "RuntimeError"
    assert "0611223344" not in str(failed)
    exposed = RouterMetrics(room.service).render().decode()
    assert 'acd_input_errors_total{kind="fact_listener"} 1.0' in exposed
    await peer.close()


async def test_an_engine_exception_on_one_event_does_not_end_the_session(
        room: Room) -> None:
    stream = (waiting_event("Local/15@incoming-1;2", "1.1")
              + waiting_event("Local/15@incoming-2;2", "2.1"))
    peer = await AmiPeer(stream=stream, stream_after_status=True).start()
    room.connect(peer)  # the session runs at the next await, with the handler below
    engine = room.router.engine
    original = engine.handlers[ue.CallWaiting]
    calls: list[int] = []

    def explode_once(event: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OverflowError("date value out of range")
        original(event)

    engine.handlers[ue.CallWaiting] = explode_once
    await until(lambda: "Local/15@incoming-2;2" in redirected(peer))
    assert peer.logins == 1
    assert room.router.input_errors == {"ami_event": 1}
    assert engine.calls["2.1"].state is CallState.OFFERED
    await peer.close()


async def test_backoff_grows_across_sessions_that_do_not_last(room: Room) -> None:
    peer = await AmiPeer(drop_after_login=True).start()
    with capture_logs() as logs:
        room.connect(peer, reconnect_initial_s=0.01, reconnect_max_s=1.0)
        await until(lambda: peer.logins >= 6)
    delays = [e["in_s"] for e in logs if e["event"] == "ami_reconnecting"][:5]
    # initial 0.01 s doubling: the 5th wait is at least half of 0.16 s
    assert delays[4] >= 0.08
    await peer.close()


async def test_a_runaway_banner_is_dropped_not_buffered(room: Room) -> None:
    peer = await AmiPeer(banner=b"Asterisk Call Manager/" + b"9" * 4_000_000).start()
    connection = room.connect(peer)
    await until(lambda: connection.drops.counts["banner"] == 1)
    protocol = connection.protocol
    assert protocol is not None
    await asyncio.sleep(0.2)  # the rest of the runaway line arrives: still not kept
    assert protocol.framer.pending_bytes <= 3
    await peer.close()


async def test_no_resync_nor_routing_before_the_login_is_answered(room: Room) -> None:
    peer = await AmiPeer(early=BOOTED + waiting_event("Local/15@incoming-1;2", "1.1"),
                         login_delay=0.3, status_channels=[]).start()
    room.connect(peer)
    await until(lambda: any(a["Action"] == "Status" for a in peer.all_actions()))
    (session,) = peer.sessions
    assert session.login_answered_after is not None
    before = session.actions[:session.login_answered_after]
    assert [a["Action"] for a in before] == ["Login"]
    assert room.router.engine.calls == {}
    assert BANNER.startswith(b"Asterisk")
    await peer.close()


def test_drops_are_logged_once_per_episode() -> None:
    from acd.ami.drops import DropCounter

    now = [0.0]
    drops = DropCounter(quiet_s=60.0, clock=lambda: now[0])
    with capture_logs() as logs:
        for t in (0.0, 1.0, 30.0, 89.0):  # one episode: never 60 s without a drop
            now[0] = t
            drops.drop("garbage")
        now[0] = 200.0
        drops.drop("garbage")  # a new episode, after a quiet minute
        drops.drop("oversized")  # another reason: its own episode
    lines = [(e["reason"], e["previous_episode"]) for e in logs]
    assert lines == [("garbage", None), ("garbage", 4), ("oversized", None)]
    assert drops.counts["garbage"] == 5 and drops.counts["oversized"] == 1
