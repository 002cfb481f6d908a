"""The periodic reconciler against the simulator: drift from lost events is repaired,
logged and counted, and nothing is repaired on a single list."""

from __future__ import annotations

import asyncio
import contextlib

from structlog.testing import capture_logs

from acd.config import AmiConfig
from acd.config.load import parse_config
from acd.sim import FixedBehaviour, OfferOutcome, start_sim
from acd.testing import build_stack
from tests.support.storeroom import SECRET, SITE, SPEED
from tests.support.wait import until


async def test_a_lost_hangup_is_repaired_by_the_reconciler() -> None:
    config = parse_config(SITE)
    behaviour = FixedBehaviour(OfferOutcome(answer_after_s=1.0, talk_s=4.0, ender="caller"))
    sim = await start_sim(config, "127.0.0.1", 0, seed=1, speed=SPEED, secret=SECRET,
                          behaviour=behaviour, auth_failure_delay_s=0.05)
    stack = build_stack(config, ami=AmiConfig(port=sim.port, keepalive_s=0.5,
                                              keepalive_timeout_s=0.5,
                                              reconnect_initial_s=0.05, reconnect_max_s=0.2),
                        secret=SECRET, speed=SPEED, metrics=True)
    router, records, metrics = stack.router, stack.records, stack.metrics
    reconciler = stack.service.parts.reconciler
    assert metrics is not None and reconciler is not None
    try:
        await stack.start()
        for agent in ("1001", "1002", "1003"):
            sim.pbx.agent_feature(agent, "*73")
        await until(lambda: all(a.state.value == "paused"
                                for a in router.engine.agents.values()))
        stays, leaves = (sim.pbx.place_call("15", f"C{n}", f"060000000{n}", patience_s=3600)
                         for n in range(2))
        await until(lambda: len(router.engine.waiting_calls("ARM_N1")) == 2)
        sim.wire.reorder_next("Hangup", "NeverSent")  # every Hangup is lost from now on
        sim.pbx.hang_up_caller(leaves)
        await asyncio.sleep(0.3)  # real seconds: 3 simulated, past the list's margin
        with capture_logs() as logs:
            assert await reconciler.once()
            assert len(router.engine.waiting_calls("ARM_N1")) == 2  # one list: no repair
            assert await reconciler.once()
        assert [c.channel for c in router.engine.waiting_calls("ARM_N1")] == [stays.trunk.name]
        assert [(r.channel, r.outcome, r.ended_unobserved) for r in records] == [
            (leaves.trunk.name, "abandoned", True)]
        repairs = [e for e in logs if e["event"] == "StateRepaired"]
        assert [e["kind"] for e in repairs] == ["call_gone"]
        assert metrics.registry.get_sample_value(
            "acd_state_repairs_total", {"kind": "call_gone"}) == 1.0
        sim.wire.flush_reordered()
        running = asyncio.create_task(reconciler.run(0.05))  # runs on its own
        sim.pbx.agent_feature("1001", "*74")
        await until(lambda: not sim.pbx.live_calls())
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await until(lambda: len(records) == 2)
        assert records[-1].outcome == "answered"
        assert sim.pbx.callers_hung_up_by("router-action") == []
    finally:
        await stack.stop()
        await sim.close()
