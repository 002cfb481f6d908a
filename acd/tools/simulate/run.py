"""``acd simulate`` and ``acd demo``: the PBX simulator and the real router, connected
over loopback TCP, playing a scenario.

The router here is the production service (:func:`acd.service.build.build`) with its AMI
connection; it only learns about calls from the AMI bytes the simulator sends. The call records and
the summary come from the router's own facts, never from the simulator's bookkeeping.
The simulator is only asked, at the end, who hung up each caller channel, so a run can
prove that the router hung up nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from acd.config import AmiConfig, Config, with_routing
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.constants import NO_ANSWER_REASON
from acd.core.model import AgentState, Outcome
from acd.core.records import CallRecord
from acd.service.clock import SimulatorClock
from acd.service.main import settle_heap
from acd.service.router import Router
from acd.service.service import Service
from acd.sim import SimServer, start_sim
from acd.testing import build_stack
from acd.tools.simulate.agentreturn import PausedAgentsReturn, still_paused_for_no_answer
from acd.tools.simulate.agents import FEATURE_CODES, behaviour_for
from acd.tools.simulate.chaos_judge import Harm, phantom_records
from acd.tools.simulate.desk import Desk
from acd.tools.simulate.scenario import Scenario, parse_time_of_day
from acd.tools.simulate.traffic import Planned, plan, scenario_start
from acd.tools.summary import Summary, summarize


@dataclass
class Progress:
    """What the live display shows, once a second."""

    sim_time: float
    waiting: dict[str, int]
    agents: dict[str, int]
    answered: int
    abandoned: int
    qs30: float | None
    #: calls taken by a partner SAS so far
    overflowed: int = 0


@dataclass
class RunResult(Harm):
    records: list[CallRecord]
    summary: Summary
    #: the router's /metrics text at the end of the run
    metrics_text: bytes = b""
    #: caller channels the router hung up: must stay empty
    hung_up_by_router: list[str] = field(default_factory=list)
    calls_placed: int = 0
    started_at: float = 0.0
    ended_at: float = 0.0
    #: the simulator's own account of each call an agent picked up: uniqueid → when it
    #: was announced and first picked up, on simulated time (their difference is the
    #: wait the router's record must give, whatever Asterisk's clock did)
    sim_answers: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: agents the router paused for not answering an offer
    no_answer_pauses: int = 0


def break_host_clock(sim: SimServer, scenario: Scenario, zone: ZoneInfo,
                     start: float) -> None:
    """The scenario's ``[faults]`` on the simulated Asterisk's host clock: a step at
    ``clock_step_at`` (its first moment from the start), timestamps out of order."""
    faults, host = scenario.faults, sim.pbx.host
    if faults.clock_step_s:
        at = start
        if faults.clock_step_at is not None:
            day = datetime.fromtimestamp(start, zone)
            when = datetime.combine(day.date(), parse_time_of_day(faults.clock_step_at),
                                    zone)
            at = when.timestamp() if when >= day else (when + timedelta(days=1)).timestamp()
        host.step(faults.clock_step_s, at=at)
    host.jitter_s = faults.timestamps_out_of_order_ms / 1000.0


def sim_answers(sim: SimServer) -> dict[str, tuple[float, float]]:
    """When each call an agent picked up was announced and picked up (simulated time)."""
    return {call.trunk.uniqueid: (call.announced_at, call.answered_at)
            for call in sim.pbx.calls
            if call.announced_at is not None and call.answered_at is not None}


def for_speed(config: Config, speed: float) -> Config:
    """The router's back-stop timers, widened for an accelerated run.

    The router measures time on the PBX's clock, but its own processing and the
    loopback round trips take real time, which an accelerated PBX counts ``speed``
    times: at ×180, a 0.2 s stall of the event loop is 36 simulated seconds. Time-outs
    that only guard against a silent dialplan (the ring and orphan back-stops) get that
    margin, so they do not fire on calls the PBX is simply late in reporting.
    """
    margin = 0.25 * speed
    routing = config.routing
    return with_routing(config, ring_grace_s=max(routing.ring_grace_s, margin),
                        orphan_requeue_s=max(routing.orphan_requeue_s, margin))


def set_up_pbx(sim: SimServer, scenario: Scenario, zone: ZoneInfo, start: float) -> None:
    """The simulated Asterisk as the scenario starts it: its partners' behaviour, the
    foreign channels, the stale fail-open members, its host clock's faults."""
    for name, partner_behaviour in scenario.partners.items():
        sim.pbx.set_partner(name, partner_behaviour)
    sim.pbx.foreign.place(scenario.foreign_channels)
    sim.pbx.native.persist(scenario.pbx.stale_failopen_members)
    break_host_clock(sim, scenario, zone, start)


def _people_follow(router: Router, sim: SimServer, scenario: Scenario,
                   seed: int) -> list[str]:
    """The simulated people follow the router: each agent's desktop shows the queue of
    the call offered to it, and an agent paused for not answering is ready again a
    while later. The agents paused so far (the list grows as the run goes)."""
    desk = Desk()
    router.add_fact_listener(desk.on_fact)
    sim.pbx.kernel.desk = desk.queue_of
    paused: list[str] = []
    low, high = scenario.agents.ready_after_pause_s
    returns = PausedAgentsReturn((low, high), seed)

    def ready_again(agent_id: str) -> None:
        if still_paused_for_no_answer(router.engine.agents.get(agent_id)):
            sim.pbx.agent_feature(agent_id, FEATURE_CODES["ready"])

    def on_fact(fact: f.Fact) -> None:
        if isinstance(fact, f.AgentStateChanged) and fact.new == AgentState.PAUSED.value \
                and fact.reason == NO_ANSWER_REASON:
            paused.append(fact.agent)
            sim.clock.call_later(returns.delay(), functools.partial(ready_again, fact.agent))

    router.add_fact_listener(on_fact)
    return paused


async def run_scenario(config: Config, scenario: Scenario, *, seed: int | None = None,
                       speed: float | None = None,
                       on_progress: Callable[[Progress], None] | None = None,
                       console: Callable[[Service],
                                         contextlib.AbstractAsyncContextManager[object]]
                       | None = None) -> RunResult:
    """Play ``scenario``; ``console``: given the router once it is connected, a context
    held while the scenario plays (``acd demo --console`` serves the console in it)."""
    seed = scenario.seed if seed is None else seed
    speed = scenario.speed if speed is None else speed
    config = for_speed(config, speed)
    secret = secrets.token_urlsafe(16)  # a fresh secret for the loopback AMI session
    start = scenario_start(scenario, config.zone())
    timeline = plan(scenario, config, seed)
    sim = await start_sim(config, "127.0.0.1", 0, seed=seed, speed=speed, secret=secret,
                          behaviour=behaviour_for(config, scenario), start_epoch=start)
    set_up_pbx(sim, scenario, config.zone(), start)
    ami = AmiConfig(host="127.0.0.1", port=sim.port, username=config.ami.username,
                    keepalive_s=max(1.0, 5.0 / speed), keepalive_timeout_s=3.0,
                    reconnect_initial_s=0.05, reconnect_max_s=1.0)
    # the router runs on the simulator's own clock (never on its events' timestamps)
    clock = SimulatorClock(speed, read=sim.clock.now)
    stack = build_stack(config, ami=ami, secret=secret, clock=clock, speed=speed,
                        metrics=True)
    service, records, metrics = stack.service, stack.records, stack.metrics
    router = service.router
    assert metrics is not None
    paused = _people_follow(router, sim, scenario, seed)
    settle_heap()  # as acd run does: a collection's pause then walks only the run's objects
    try:
        await stack.start(within_s=10)
        async with console(service) if console is not None else contextlib.nullcontext():
            placed = await _play(sim, service, timeline, start + scenario.duration_s,
                                 scenario.drain_s, records, on_progress)
    finally:
        await stack.stop()
        await sim.close()
        gc.unfreeze()  # what was settled is collectable again once the run is over
    records += [router.engine.record(call) for call in
                sorted(router.engine.calls.values(), key=lambda c: c.arrived_at)]
    by_router = [h.channel for h in sim.pbx.callers_hung_up_by("router-action")]
    return RunResult(records=records, summary=summarize(records, config),
                     metrics_text=metrics.render(),
                     hung_up_by_router=by_router, calls_placed=placed, started_at=start,
                     foreign_touched=len(sim.pbx.foreign.touched),
                     native_moved=len(sim.pbx.foreign.native_moved),
                     callers_rung_on_unknown_members=sim.pbx.native.callers_rung_stale(),
                     phantom_records=len(phantom_records(records, sim)),
                     ended_at=sim.clock.now(), sim_answers=sim_answers(sim),
                     no_answer_pauses=len(paused))


async def _play(sim: SimServer, service: Service, timeline: list[Planned], end: float,
                drain_s: float, records: list[CallRecord],
                on_progress: Callable[[Progress], None] | None) -> int:
    """Place every planned item at its simulated time, then let calls finish."""
    clock = sim.clock
    placed = 0
    next_report = 0.0
    loop = asyncio.get_running_loop()
    for item in timeline:
        delay = clock.real_delay(item.at - clock.now())
        if delay > 0:
            await asyncio.sleep(delay)
        _apply(sim, service, item)
        placed += item.kind == "call"
        if on_progress is not None and loop.time() >= next_report:
            on_progress(progress(service, records, clock.now()))
            next_report = loop.time() + 1.0
    remaining = end - clock.now()
    if remaining > 0:
        await asyncio.sleep(clock.real_delay(remaining))
    drain_until = clock.now() + drain_s
    while sim.pbx.live_calls() and clock.now() < drain_until:
        await asyncio.sleep(min(0.1, clock.real_delay(1.0)))
        if on_progress is not None and loop.time() >= next_report:
            on_progress(progress(service, records, clock.now()))
            next_report = loop.time() + 1.0
    await asyncio.sleep(0.05)  # the last Hangups reach the router
    return placed


def _apply(sim: SimServer, service: Service, item: Planned) -> None:
    if item.kind == "call" and item.call is not None:
        c = item.call
        sim.pbx.place_call(c.number, c.caller_name, c.caller_num, c.patience_s, c.priority)
    elif item.kind == "partner" and item.partner is not None:
        sim.pbx.set_partner(item.partner.name, item.partner.behaviour)
    elif item.kind == "bascule" and item.bascule is not None:
        b = item.bascule  # the input the supervisor API sends, straight to the router
        service.submit(i.BasculeRequest(b.queue, b.share, partner=b.partner, by=b.by,
                                        reason=b.reason))
    elif item.agent is not None and item.agent in sim.pbx.agents:
        sim.pbx.agent_feature(item.agent, FEATURE_CODES[item.kind])


def progress(service: Service, records: list[CallRecord], now: float) -> Progress:
    engine = service.engine
    agents: dict[str, int] = {}
    for agent in engine.agents.values():
        if agent.state is not AgentState.LOGGED_OUT:
            agents[agent.state.value] = agents.get(agent.state.value, 0) + 1
    summary = summarize(records)
    counts = summary.counts
    return Progress(sim_time=now, waiting={q: len(queue) for q, queue in engine.queues.items()},
                    agents=agents, answered=counts.answered, abandoned=counts.abandoned,
                    qs30=counts.qs30.value,
                    overflowed=summary.other_outcomes.get(Outcome.OVERFLOWED, 0))
