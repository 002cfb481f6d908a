"""The router against the simulator (real AMI over TCP) where Asterisk's evidence
matters: a cut AMI link with foreign channels and ``;1`` halves on the PBX, a caller
who hangs up while its agent rings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from acd.config import AmiConfig
from acd.config.load import parse_config
from acd.service.router import Router
from acd.sim import FixedBehaviour, OfferOutcome, SimServer, start_sim
from acd.testing import build_stack
from tests.support.sites import local_agents, site_toml
from tests.support.wait import until

SECRET = "evidence-secret"
SPEED = 10.0
SITE = site_toml("SAS evidence",
                 sections={"routing": {"ring_timeout_s": 15, "orphan_requeue_s": 3}},
                 agents=local_agents("1001", "1002", "1003"))


async def started(outcome: OfferOutcome) -> tuple[SimServer, Router, asyncio.Task[None]]:
    config = parse_config(SITE)
    sim = await start_sim(config, "127.0.0.1", 0, seed=1, speed=SPEED, secret=SECRET,
                          behaviour=FixedBehaviour(outcome), auth_failure_delay_s=0.05)
    ami = AmiConfig(port=sim.port, keepalive_s=0.5, keepalive_timeout_s=0.5,
                    reconnect_initial_s=0.05, reconnect_max_s=0.2, action_timeout_s=2.0)
    stack = build_stack(config, ami=ami, secret=SECRET, speed=SPEED, records=False)
    task = asyncio.create_task(stack.ami.run())
    await asyncio.wait_for(stack.router.link_ready.wait(), 5)
    return sim, stack.router, task


@pytest.fixture
async def ringing() -> AsyncIterator[tuple[SimServer, Router]]:
    sim, router, task = await started(OfferOutcome(kind="noanswer"))
    yield sim, router
    await router.ami.stop()  # type: ignore[union-attr]
    await task
    await sim.close()


@pytest.fixture
async def talking() -> AsyncIterator[tuple[SimServer, Router]]:
    sim, router, task = await started(OfferOutcome(answer_after_s=1.0, talk_s=600.0))
    yield sim, router
    await router.ami.stop()  # type: ignore[union-attr]
    await task
    await sim.close()


async def test_a_caller_gone_while_ringing_is_not_offered_again(
        ringing: tuple[SimServer, Router]) -> None:
    """``DialEnd CANCEL`` comes before the caller's Hangup: no offer of the dying
    channel in between."""
    sim, router = ringing
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=3600)
    await until(lambda: call.first_dialled is not None)
    offers = sim.actions.counts.get("Redirect", 0)
    sim.pbx.hang_up_caller(call)
    await until(lambda: not router.engine.calls)
    await until(lambda: all(a.state.value == "available"
                            for a in router.engine.agents.values()))
    assert sim.actions.counts.get("Redirect", 0) == offers
    assert sim.pbx.foreign.touched == []


async def test_an_ami_reconnect_touches_no_foreign_channel(
        talking: tuple[SimServer, Router]) -> None:
    """The AMI link is cut with the router alive (recording 18): at the resync the
    IVR, the call between two phones and the callers' ``;1`` halves are left alone,
    and the calls talking are followed, not moved."""
    sim, router = talking
    sim.pbx.foreign.place(4)
    calls = [sim.pbx.place_call("15", f"Caller {n}", f"061234020{n}", patience_s=3600)
             for n in range(2)]
    await until(lambda: len(router.engine.calls) == 2 and all(
        c.state.value == "connected" for c in router.engine.calls.values()))
    redirects = sim.actions.counts.get("Redirect", 0)
    reconnects = router.ami.reconnects  # type: ignore[union-attr]
    await sim.drop_ami(down_s=0.05)
    await until(lambda: router.ami.reconnects > reconnects  # type: ignore[union-attr]
                and router.link_ready.is_set() and router.engine.link_up)
    waiting = sim.pbx.place_call("15", "After", "0612340209", patience_s=3600)
    await until(lambda: waiting.first_dialled is not None)
    assert sim.pbx.foreign.touched == []
    assert sim.actions.counts.get("Redirect", 0) == redirects + 1  # the new caller only
    assert set(router.engine.calls) == {c.trunk.uniqueid for c in [*calls, waiting]}
