"""Fail open: with the router silent, the dialplan's native queue answers the callers.

The production Router (with its heartbeat) against the simulator running our
dialplan over loopback TCP: the router stops, and after ``ACD_FAILOPEN_S`` without a
heartbeat the callers waiting in ``[holding]`` go to ``[acd-failopen]``'s native queue
of the front-office phones and are answered; the router comes back, follows those
calls without moving them, and routes the new ones itself.
"""

from __future__ import annotations

import asyncio

from acd.aiotasks import cancel_and_wait
from acd.config import AmiConfig, Config
from acd.config.load import parse_config
from acd.core.model import CallState
from acd.sim import (
    FixedBehaviour,
    OfferOutcome,
    PbxOptions,
    PerAgentBehaviour,
    SimServer,
    start_sim,
)
from acd.sim.model import Phase
from acd.testing import build_stack
from tests.support.sites import local_agents, site_toml
from tests.support.wait import until

SECRET = "failopen-secret"
SPEED = 20.0
FAILOPEN_S = 6.0
SITE = site_toml("SAS fail open", sections={"routing": {"heartbeat_s": 1}},
                 skills={"ARM_N1": {"wrap_up_s": 1}}, agents=local_agents("1001", "1002"))


class RouterRun:
    """One router process's life, in this process: AMI connection + heartbeat."""

    def __init__(self, config: Config, port: int) -> None:
        ami = AmiConfig(port=port, keepalive_s=0.5, keepalive_timeout_s=0.5,
                        reconnect_initial_s=0.05, reconnect_max_s=0.2)
        self.stack = build_stack(config, ami=ami, secret=SECRET, speed=SPEED)
        self.router = self.stack.router
        self.records = self.stack.records
        self.tasks = [asyncio.create_task(self.stack.ami.run()),
                      asyncio.create_task(self.stack.service.parts.heartbeat.run())]

    async def stop(self) -> None:
        await self.stack.ami.stop()
        await cancel_and_wait(*self.tasks)


async def start(options: PbxOptions) -> tuple[Config, SimServer]:
    config = parse_config(SITE)
    behaviour = FixedBehaviour(OfferOutcome(answer_after_s=1.0, talk_s=30.0, ender="caller"))
    sim = await start_sim(config, "127.0.0.1", 0, seed=3, speed=SPEED, secret=SECRET,
                          behaviour=behaviour, options=options, auth_failure_delay_s=0.05)
    return config, sim


async def test_silent_router_callers_go_to_the_native_queue_and_come_back() -> None:
    config, sim = await start(PbxOptions(failopen_s=FAILOPEN_S, hold_loop_s=2.0))
    pbx = sim.pbx
    first = RouterRun(config, sim.port)
    try:
        await until(first.router.link_ready.is_set)
        await until(lambda: pbx.globals.get("ACD_HEARTBEAT", "0") != "0")
        routed = pbx.place_call("15", "Avant Panne", "0600000001", patience_s=3600).channel
        await until(lambda: pbx.call_by_channel(routed).phase is Phase.TALKING)  # type: ignore[union-attr]
        await first.stop()  # the router goes away: no more heartbeat

        stranded = [pbx.place_call("15", f"Appelant {n}", f"06000000{n:02d}",
                                   patience_s=3600).channel for n in range(2, 5)]
        await until(lambda: all(pbx.call_by_channel(c).phase is Phase.WAITING  # type: ignore[union-attr]
                                for c in stranded))
        silent_since = float(pbx.globals["ACD_HEARTBEAT"])
        await until(lambda: len(pbx.native.joined) == 3, timeout=15)
        assert sorted(c.channel for c in pbx.native.joined) == sorted(stranded)
        # nobody went to the native queue before the heartbeat was FAILOPEN_S old, and
        # everyone within one hold loop (ACD_HOLD_S, 2 s here) after that
        assert all(FAILOPEN_S < at - silent_since <= FAILOPEN_S + 1 + 2.0 + 0.5
                   for at in pbx.native.joined_at)
        assert [h for h in pbx.hangups if h.channel in stranded] == []  # nobody hung up
        # the native queue answers them with the free front-office phone, in order
        await until(lambda: pbx.call_by_channel(stranded[0]).phase  # type: ignore[union-attr]
                    is Phase.TALKING)

        second = RouterRun(config, sim.port)
        try:
            await until(second.router.link_ready.is_set)
            engine = second.router.engine
            # the router follows the native calls (talking or still queued) without
            # moving them; the call it had routed before is found talking too
            await until(lambda: {c.channel for c in engine.calls.values()}
                        >= {routed, *stranded})
            states = {c.channel: c.state for c in engine.calls.values()}
            assert states[stranded[0]] is CallState.CONNECTED
            assert all(states[c] in (CallState.NATIVE, CallState.CONNECTED)
                       for c in stranded)
            assert not engine.waiting_calls("ARM_N1")
            fresh = pbx.place_call("15", "Après Retour", "0600000009",
                                   patience_s=3600).channel
            await until(lambda: not pbx.live_calls(), timeout=30)
            await until(lambda: {r.channel for r in second.records}
                        >= {routed, *stranded, fresh})  # the last Hangups reach it
            assert fresh not in {c.channel for c in pbx.native.joined}
            assert (fresh, "acd-connect,1001,1") in pbx.redirects \
                or (fresh, "acd-connect,1002,1") in pbx.redirects
            moved = {channel for channel, _ in pbx.redirects}
            assert moved.isdisjoint(stranded)  # the native calls were never redirected
            records = {r.channel: r for r in second.records}
            assert [records[c].outcome for c in (routed, *stranded, fresh)] == \
                ["answered"] * 5
            assert pbx.callers_hung_up_by("router-action") == []
            assert pbx.routed_twice == []
        finally:
            await second.stop()
    finally:
        await sim.close()


async def test_with_the_check_off_callers_wait_for_the_router() -> None:
    _, sim = await start(PbxOptions(failopen_s=None, hold_loop_s=2.0))
    try:
        call = sim.pbx.place_call("15", "Sans Routeur", "0600000001", patience_s=3600)
        await asyncio.sleep(FAILOPEN_S * 3 / SPEED)
        assert call.phase is Phase.WAITING
        assert sim.pbx.native.joined == []
    finally:
        await sim.close()


async def test_heartbeat_is_a_global_setvar_with_the_pbx_time() -> None:
    config, sim = await start(PbxOptions(failopen_s=FAILOPEN_S))
    run = RouterRun(config, sim.port)
    try:
        await until(lambda: sim.pbx.globals.get("ACD_HEARTBEAT", "0") != "0")
        value = int(sim.pbx.globals["ACD_HEARTBEAT"])
        assert abs(value - sim.clock.now()) < 5
        assert sim.actions.counts.get("Setvar", 0) >= 1
    finally:
        await run.stop()
        await sim.close()


async def test_native_queue_rings_members_in_turn_and_lets_callers_abandon() -> None:
    """Without any router (heartbeat 0) callers fail open as soon as they hold; a member
    that does not answer is skipped for the next; a caller who hangs up while queued is
    its own hangup, announced by QueueCallerAbandon."""
    config = parse_config(SITE)
    behaviour = PerAgentBehaviour(
        {"1001": FixedBehaviour(OfferOutcome(kind="noanswer"))},
        default=FixedBehaviour(OfferOutcome(answer_after_s=1.0, talk_s=60.0)))
    sim = await start_sim(config, "127.0.0.1", 0, seed=4, speed=SPEED, secret=SECRET,
                          behaviour=behaviour, options=PbxOptions(failopen_s=FAILOPEN_S))
    events: list[tuple[str, dict[str, str]]] = []
    sim.pbx.subscribe(lambda name, _p, headers, _t: events.append((name, dict(headers))))
    try:
        first = sim.pbx.place_call("15", "Premier", "0600000001", patience_s=3600)
        await until(lambda: first.phase is Phase.TALKING, timeout=5)
        second = sim.pbx.place_call("15", "Second", "0600000002", patience_s=40)
        # 1001 rang 15 s without answering, so the queue moved on to 1002
        called = [h["MemberName"] for name, h in events if name == "AgentCalled"]
        assert called[:2] == ["1001", "1002"]
        assert any(name == "AgentRingNoAnswer" and h["MemberName"] == "1001"
                   for name, h in events)
        connect = next(h for name, h in events if name == "AgentConnect")
        assert (connect["Channel"], connect["Interface"]) == (first.channel,
                                                              "Local/1002@agents")
        await until(lambda: second.phase is Phase.GONE, timeout=5)
        assert first.phase is Phase.TALKING  # 1002 talks with the first caller
        assert [name for name, h in events if h.get("Channel") == second.channel
                and name.startswith("QueueCaller")] == \
            ["QueueCallerJoin", "QueueCallerAbandon", "QueueCallerLeave"]
        gone = [h for h in sim.pbx.hangups if h.channel == second.channel]
        assert [(h.by, h.reason) for h in gone] == [("caller", "patience ran out")]
    finally:
        await sim.close()


def test_a_returning_router_follows_native_and_talking_calls_without_moving_them() -> None:
    from acd.ami import actions as act
    from acd.ami import events as ev
    from acd.core import inputs as i
    from acd.core.engine import Engine
    from acd.core.model import AgentState

    engine = Engine(parse_config(SITE))
    now = 1_800_000_100.0
    def entry(channel: str, uid: str, app: str, bridge: str = "", context: str = "",
              arrived: int = 1_800_000_000, **variables: str) -> ev.StatusEntry:
        return ev.StatusEntry(channel=channel, uniqueid=uid, linkedid=uid, application=app,
                              bridge_id=bridge, context=context,
                              variables={**variables, "ACD_ARRIVED": str(arrived)})

    out = engine.handle(i.ChannelsSnapshot([
        # in the native queue, not ringing anyone
        entry("Local/15@incoming-1;2", "c1", "Queue", context="acd-failopen", ACD_NUMBER="15"),
        # answered by the native queue: bridged with 1001's Local ;1
        entry("Local/15@incoming-2;2", "c2", "Queue", bridge="b2", context="acd-failopen",
              arrived=1_800_000_010, ACD_NUMBER="15"),
        entry("Local/1001@agents-7;1", "a7", "AppDial", bridge="b2", ACD_NUMBER="15"),
        entry("Local/1001@agents-7;2", "a8", "Wait", ACD_NUMBER="15"),  # inherits ACD_NUMBER
        # talking with a partner SAS: not an agent's call
        entry("Local/15@incoming-3;2", "c3", "Dial", bridge="b3", context="acd-overflow",
              ACD_NUMBER="15"),
        entry("PJSIP/sas62-00000001", "p1", "AppDial", bridge="b3"),
        # waiting in [holding]: the router's own, queued again
        entry("Local/15@incoming-4;2", "c4", "MusicOnHold", context="holding",
              arrived=1_800_000_020, ACD_NUMBER="15"),
    ], taken_at=now), now)
    assert {c.id: c.state for c in engine.calls.values()} == {
        "c1": CallState.NATIVE, "c2": CallState.CONNECTED, "c4": CallState.OFFERED}
    assert engine.agents["1001"].state is AgentState.ON_CALL
    # the only action: the offer of the holding caller to the free agent
    redirected = {c.channel for c in out.commands if isinstance(c, act.Redirect)}
    assert redirected == {"Local/15@incoming-4;2"}
    assert engine.calls["c4"].agent == "1002"
