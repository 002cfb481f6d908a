"""The router against a misbehaving simulated Asterisk: every caller is still served.

Each test runs the production Router and AMI connection against ``acd.sim`` over
loopback TCP, injects one fault, and checks with the simulator's own log of hangups
that no caller was hung up by the router and that every call was answered (or
abandoned by its caller)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from acd.config import AmiConfig, Config
from acd.config.load import parse_config
from acd.core.records import CallRecord
from acd.service.router import Router
from acd.sim import FixedBehaviour, OfferOutcome, SimServer, start_sim
from acd.testing import running_stack
from tests.support.sites import local_agents, site_toml
from tests.support.wait import until

SECRET = "fault-secret"
SPEED = 10.0
SITE = site_toml("SAS faults",
                 sections={"routing": {"ring_timeout_s": 15, "orphan_requeue_s": 3}},
                 skills={"ARM_N1": {"wrap_up_s": 1}}, numbers={"116117": "ARM_N1"},
                 agents=local_agents("1001", "1002", "1003"))


@dataclass
class Room:
    sim: SimServer
    router: Router
    records: list[CallRecord] = field(default_factory=list)

    def place(self, n: int, number: str = "15") -> list[str]:
        return [self.sim.pbx.place_call(number, f"Caller {i}", f"06000000{i:02d}",
                                        patience_s=3600).channel for i in range(n)]

    async def all_calls_done(self, placed: list[str]) -> None:
        await until(lambda: not self.sim.pbx.live_calls())
        await until(lambda: {r.channel for r in self.records} >= set(placed))

    def assert_served(self, placed: list[str]) -> None:
        by_channel = {r.channel: r for r in self.records}
        assert [by_channel[c].outcome for c in placed] == ["answered"] * len(placed)
        assert self.sim.pbx.callers_hung_up_by("router-action") == []
        assert self.sim.pbx.callers_hung_up_by("pbx") == []


@pytest.fixture
async def room() -> AsyncIterator[Room]:
    config: Config = parse_config(SITE)
    behaviour = FixedBehaviour(OfferOutcome(answer_after_s=1.0, talk_s=4.0, ender="caller"))
    sim = await start_sim(config, "127.0.0.1", 0, seed=1, speed=SPEED, secret=SECRET,
                          behaviour=behaviour, auth_failure_delay_s=0.05)
    ami = AmiConfig(port=sim.port, keepalive_s=0.5, keepalive_timeout_s=0.5,
                    reconnect_initial_s=0.05, reconnect_max_s=0.2, action_timeout_s=2.0)
    async with running_stack(config, ami, SECRET, speed=SPEED) as stack:
        yield Room(sim, stack.router, stack.records)
    await sim.close()


async def test_connection_dropped_mid_frame(room: Room) -> None:
    placed = room.place(3)
    await until(lambda: bool(room.router.engine.calls) and all(
        c.state.value == "connected" for c in room.router.engine.calls.values()))
    reconnects = room.router.ami.reconnects  # type: ignore[union-attr]
    assert room.sim.wire.drop_connections_mid_frame() == 1
    await until(lambda: room.router.ami.reconnects > reconnects  # type: ignore[union-attr]
                     and room.router.link_ready.is_set())
    placed += room.place(2)
    await room.all_calls_done(placed)
    room.assert_served(placed)


async def test_garbage_on_the_wire(room: Room) -> None:
    placed = room.place(2)
    room.sim.wire.send_garbage(4096)
    placed += room.place(2, "116117")
    await room.all_calls_done(placed)
    room.assert_served(placed)
    assert room.router.ami.reconnects == 0  # type: ignore[union-attr]


async def test_slow_responses(room: Room) -> None:
    room.sim.wire.delay_responses(0.3)
    placed = room.place(4)
    await room.all_calls_done(placed)
    room.assert_served(placed)


async def test_hangup_before_bridge_leave(room: Room) -> None:
    room.sim.wire.reorder_next("BridgeLeave", "Hangup")
    room.sim.wire.reorder_next("BridgeLeave", "Hangup")
    placed = room.place(2)
    await room.all_calls_done(placed)
    room.sim.wire.flush_reordered()
    placed += room.place(1)
    await room.all_calls_done(placed)
    room.assert_served(placed)


async def test_refused_redirect_is_offered_again(room: Room) -> None:
    room.sim.wire.refuse_next("Redirect", message="Channel does not exist", count=2)
    placed = room.place(1)
    await room.all_calls_done(placed)
    room.assert_served(placed)
    offers = [r for r in room.records if r.channel == placed[0]]
    assert offers[0].agent is not None


async def test_asterisk_restart_keeps_the_surviving_callers_in_line(room: Room) -> None:
    await until(lambda: bool(room.router.engine.agents))
    for agent in ("1001", "1002", "1003"):  # nobody answers: calls wait
        room.sim.pbx.agent_feature(agent, "*73")
    await until(lambda: all(a.state.value == "paused"
                                 for a in room.router.engine.agents.values()))
    survivor, gone = room.place(2)
    await until(lambda: len(room.router.engine.waiting_calls("ARM_N1")) == 2)
    await room.sim.restart(down_s=0.2, hangup=[survivor])
    await until(lambda: room.router.link_ready.is_set()
                     and room.router.ami.reconnects >= 1, timeout=10)  # type: ignore[union-attr]
    waiting = [c.channel for c in room.router.engine.waiting_calls("ARM_N1")]
    assert waiting == [survivor]  # the gone caller is closed, the survivor still queued
    room.sim.pbx.agent_feature("1001", "*74")
    await until(lambda: not room.sim.pbx.live_calls())
    by_channel = {r.channel: r for r in room.records}
    assert by_channel[survivor].outcome == "answered"
    # cut by the restart, not gone of their own will: lost, not an abandon
    assert by_channel[gone].outcome == "lost"
    assert by_channel[gone].lost_reason == "pbx-restart"
    assert room.sim.pbx.callers_hung_up_by("router-action") == []
    assert [h.channel for h in room.sim.pbx.callers_hung_up_by("pbx")
            if h.role == "caller"] == [gone]
