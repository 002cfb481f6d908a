"""Warm transfers end to end: the production Router and AMI connection against the
simulated Asterisk over loopback TCP. The first agent keeps the caller until an agent
of the target answers; when none does, it keeps the caller for good. The simulator's
own log of hangups shows the router hung up no caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from acd.config import AmiConfig
from acd.config.load import parse_config
from acd.core import facts as f
from acd.core.records import CallRecord
from acd.service.router import Router
from acd.sim import FixedBehaviour, OfferOutcome, SimServer, start_sim
from acd.sim.behaviour import AgentBehaviour, PerAgentBehaviour
from acd.sim.model import Call
from acd.sim.options import PbxOptions
from acd.testing import build_stack
from tests.support.sites import local_agents, site_toml
from tests.support.wait import until

SECRET = "warm-secret"
SPEED = 20.0
SITE = site_toml("SAS warm",
                 sections={"routing": {"ring_timeout_s": 15},
                           "transfers": {"mode": "warm", "warm_max_wait_s": 20}},
                 skills={"ARM_N1": {"wrap_up_s": 1}, "OSNP": {"wrap_up_s": 1}},
                 agents=[*local_agents("1001"), *local_agents("2001", "2002", skill="OSNP")])
TALKS = FixedBehaviour(OfferOutcome(answer_after_s=1.0, talk_s=600.0, ender="caller"))
SILENT = FixedBehaviour(OfferOutcome(kind="noanswer"))
SHORT = FixedBehaviour(OfferOutcome(answer_after_s=2.0, talk_s=8.0, ender="caller"))


@dataclass
class Room:
    sim: SimServer
    router: Router
    records: list[CallRecord] = field(default_factory=list)
    transfers: list[f.CallTransferred] = field(default_factory=list)

    async def talking_with_1001(self) -> Call:
        call = self.sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=3600)
        await until(lambda: call.dial is not None and call.dial.agent_id == "1001"
                         and call.dial.bridge is not None)
        return call

    def no_caller_hung_up_by_the_router(self) -> None:
        assert self.sim.pbx.callers_hung_up_by("router-action") == []
        assert self.sim.pbx.callers_hung_up_by("pbx") == []


async def open_room(behaviours: dict[str, AgentBehaviour]) -> AsyncIterator[Room]:
    config = parse_config(SITE)
    sim = await start_sim(config, "127.0.0.1", 0, seed=1, speed=SPEED, secret=SECRET,
                          behaviour=PerAgentBehaviour(behaviours),
                          options=PbxOptions(transfer_give_up_s=600))
    stack = build_stack(config, ami=AmiConfig(port=sim.port, action_timeout_s=2.0),
                        secret=SECRET, speed=SPEED)
    room = Room(sim, stack.router, stack.records)

    def listen(fact: f.Fact) -> None:
        if isinstance(fact, f.CallTransferred):
            room.transfers.append(fact)

    stack.router.add_fact_listener(listen)
    try:
        await stack.start()
        yield room
    finally:
        await stack.stop()
        await sim.close()


@pytest.fixture
async def handed_over() -> AsyncIterator[Room]:
    async for room in open_room({"1001": TALKS, "2001": SILENT, "2002": SHORT}):
        yield room


@pytest.fixture
async def nobody_answers() -> AsyncIterator[Room]:
    async for room in open_room({"1001": TALKS, "2001": SILENT, "2002": SILENT}):
        yield room


async def test_after_a_target_that_does_not_answer_the_next_one_takes_the_caller(
        handed_over: Room) -> None:
    room = handed_over
    call = await room.talking_with_1001()
    first_legs = [leg.name for leg in call.dial.legs()] if call.dial else []
    assert room.sim.pbx.agent_transfer("1001", "OSNP")
    await until(lambda: bool(room.records), timeout=15)
    (record,) = room.records
    assert record.outcome == "answered" and record.agent == "1001"
    assert [(leg.queue, leg.agent) for leg in record.legs] == [
        ("ARM_N1", "1001"), ("OSNP", "2002")]
    first, second = record.legs
    assert first.ended_at == second.answered_at
    # 2001 rang 15 s without answer, then 2002 answered after 2 s: the consultation
    assert second.wait_s is not None and 16.0 <= second.wait_s <= 20.0
    assert [(t.result, t.agent) for t in room.transfers] == [
        ("requested", "1001"), ("ringing", "1001"), ("ringing", "1001"),
        ("connected", "2002")]
    # the first agent's legs went with the Redirect; the caller ended the call itself
    hangups = {h.channel: h.by for h in room.sim.pbx.hangups}
    assert all(hangups[name] == "pbx" for name in first_legs)
    assert {h.by for h in room.sim.pbx.hangups if h.role in ("caller", "caller-phone")} == {
        "caller"}
    room.no_caller_hung_up_by_the_router()


async def test_when_nobody_answers_the_first_agent_keeps_the_caller(
        nobody_answers: Room) -> None:
    room = nobody_answers
    call = await room.talking_with_1001()
    assert room.sim.pbx.agent_transfer("1001", "OSNP")
    await until(lambda: any(t.result == "cancelled" for t in room.transfers),
                     timeout=15)
    cancelled = room.transfers[-1]
    assert cancelled.reason == "no agent of OSNP answered in time"
    # nothing moved: still talking with 1001, who can finish the call
    assert call.dial is not None and call.dial.agent_id == "1001"
    assert call.dial.bridge is not None
    assert room.router.engine.calls[call.trunk.uniqueid].agent == "1001"
    room.sim.pbx.hang_up_caller(call)
    await until(lambda: bool(room.records))
    (record,) = room.records
    assert [(leg.queue, leg.agent) for leg in record.legs] == [("ARM_N1", "1001")]
    room.no_caller_hung_up_by_the_router()
