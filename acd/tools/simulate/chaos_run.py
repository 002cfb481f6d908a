"""``acd simulate --chaos``: the simulator here, the router as its own process(es).

A fault must hit a real router process (SIGKILL leaves no chance to clean up), so
with faults the router is ``acd run`` started as a subprocess, with a generated config
pointing at this process's simulator (AMI secret through ``ACD_AMI_SECRET``, never a
file), ``--speed`` of the run, and ``--records-out``: each router process appends its
call records (JSON lines, written and flushed as each call ends) to a file of the run.
A ``redis-server`` of the run's own is started on a free port and named in the
routers' ``[redis]``, as in production: a router started again takes back the state
its predecessor saved (agents, waiting order, calls in progress). ``leader-kill`` runs
two routers as an active/standby pair (``[leader]``).

The outcome of each call comes from the routers' records; the simulator judges what
no router can know (:mod:`acd.tools.simulate.chaos_judge`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from acd.aiotasks import cancel_and_wait
from acd.config import AmiConfig, Config, HttpConfig, LeaderConfig, RedisConfig, namespace_of
from acd.core.records import CallRecord
from acd.sim import SimServer, start_sim
from acd.sim.options import PbxOptions
from acd.sim.reload import dialplan_reload
from acd.store import keys
from acd.tools.simulate.agents import FEATURE_CODES, behaviour_for
from acd.tools.simulate.chaos import Fault, needs_pair
from acd.tools.simulate.chaos_judge import Harm, judge, phantom_records
from acd.tools.simulate.redis_process import RedisProcess
from acd.tools.simulate.router_process import ROUTER_START_TIMEOUT_S, RouterProcess
from acd.tools.simulate.run import for_speed, set_up_pbx
from acd.tools.simulate.scenario import Scenario
from acd.tools.simulate.traffic import Planned, plan, scenario_start
from acd.tools.summary import Summary, summarize

#: a pair's lock TTL in chaos runs (real seconds)
PAIR_TTL_S = 2.0


@dataclass
class ChaosResult(Harm):
    records: list[CallRecord]
    summary: Summary
    #: caller channels the router hung up: must stay empty
    hung_up_by_router: list[str]
    #: callers Redirected to an agent while already ringing one (routed twice)
    routed_twice: list[str]
    faults: list[Fault]
    #: real seconds from each leader-kill to the other router routing
    takeovers_s: list[float] = field(default_factory=list)
    calls_placed: int = 0
    #: waiting callers Asterisk's dialplan sent to the native queue (router silent)
    failed_open: int = 0
    router_starts: int = 0
    #: calls whose record reached the run's Redis (distinct uniqueids), read after
    #: the routers stopped: every router's journal caught up if it equals the records
    records_in_redis: int = 0


class ChaosRun:
    """Simulator, router process(es), optional Redis, and the faults on their timers."""

    def __init__(self, config: Config, scenario: Scenario, faults: list[Fault], *,
                 seed: int, speed: float, workdir: Path,
                 on_fault: Callable[[Fault], None] | None = None,
                 failopen_s: float | None = None) -> None:
        self.config = for_speed(config, speed)
        self.scenario = scenario
        self.faults = faults
        self.seed = seed
        self.speed = speed
        self.workdir = workdir
        self.on_fault = on_fault
        #: the dialplan's ACD_FAILOPEN_S in the simulator: at least half a real second
        #: of silence, so an accelerated run does not fail open on a busy loop's jitter
        self.failopen_s = failopen_s if failopen_s is not None else max(10.0, 0.5 * speed)
        self.secret = secrets.token_urlsafe(16)
        self.redis: RedisProcess | None = None
        self.routers: list[RouterProcess] = []
        self.takeovers_s: list[float] = []
        self.sim: SimServer | None = None
        self._start = 0.0
        #: simulated seconds the router took to come up: the day is played after them
        self._lag = 0.0
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ set-up

    def router_config(self, name: str) -> Config:
        """The config of one router process: the site's, wired to this run."""
        assert self.sim is not None
        config, speed = self.config, self.speed
        ami = AmiConfig(host="127.0.0.1", port=self.sim.port, username=config.ami.username,
                        keepalive_s=max(1.0, 5.0 / speed), keepalive_timeout_s=3.0,
                        reconnect_initial_s=0.05, reconnect_max_s=0.5,
                        action_timeout_s=config.ami.action_timeout_s)
        redis = leader = None
        if self.redis is not None:
            redis = RedisConfig(url=self.redis.url,
                                namespace=f"simulate-{namespace_of(config)}-{self.seed}")
        if needs_pair(self.faults):
            leader = LeaderConfig(enabled=True, ttl_s=PAIR_TTL_S, node_id=name)
        return msgspec.structs.replace(
            config, ami=ami, http=HttpConfig(bind="127.0.0.1", port=0), redis=redis,
            leader=leader,
            api=msgspec.structs.replace(config.api, tokens_file=None))

    async def start_router(self, router: RouterProcess) -> None:
        await router.start(self.router_config(router.name))

    async def run(self) -> ChaosResult:
        config, scenario = self.config, self.scenario
        if any(item.kind == "bascule" for item in plan(scenario, config, self.seed)):
            raise ValueError("a chaos run cannot play scripted bascules (the router is "
                             "another process): remove them or drop --chaos")
        in_redis = 0
        if self.faults:
            self.redis = RedisProcess()
            self.redis.start()
        self._start = scenario_start(scenario, config.zone())
        sim = self.sim = await start_sim(
            config, "127.0.0.1", 0, seed=self.seed, speed=self.speed, secret=self.secret,
            behaviour=behaviour_for(config, scenario), start_epoch=self._start,
            options=PbxOptions(failopen_s=self.failopen_s))
        set_up_pbx(sim, scenario, config.zone(), self._start)
        env = {**os.environ, "ACD_AMI_SECRET": self.secret}
        env.pop("ACD_API_TOKENS_FILE", None)
        names = ["router-a", "router-b"] if needs_pair(self.faults) else ["router"]
        self.routers = [RouterProcess(n, self.workdir, env, self.speed) for n in names]
        try:
            for router in self.routers:
                await self.start_router(router)
            await self.routers[0].wait_for(lambda line: line.get("event") == "ami_resynced")
            if needs_pair(self.faults):
                await self._wait_for_leader()
            # the day starts once the router is up: a slow start-up (seconds of imports
            # on a busy machine, a minute of simulated time at ×20) must not place the
            # first callers and fire the first faults all at once
            self._lag = sim.clock.now() - self._start
            placed = await self._play()
        finally:
            await cancel_and_wait(*self._tasks)
            for router in self.routers:
                await router.stop()
            await sim.close()
            if self.redis is not None:
                in_redis = self._records_in_redis()
                self.redis.close()
        records = judge(sim, self.routers, self.config)
        phantoms = phantom_records([r for router in self.routers
                                    for r in router.records()], sim)
        by_router = [h.channel for h in sim.pbx.callers_hung_up_by("router-action")]
        return ChaosResult(records=records, summary=summarize(records, config),
                           hung_up_by_router=by_router, routed_twice=list(sim.pbx.routed_twice),
                           faults=self.faults, takeovers_s=self.takeovers_s,
                           calls_placed=placed, failed_open=len(sim.pbx.native.joined),
                           router_starts=sum(r.starts for r in self.routers),
                           records_in_redis=in_redis,
                           foreign_touched=len(sim.pbx.foreign.touched),
                           native_moved=len(sim.pbx.foreign.native_moved),
                           callers_rung_on_unknown_members=sim.pbx.native.callers_rung_stale(),
                           phantom_records=len(phantoms))

    # ------------------------------------------------------------------ the play

    async def _play(self) -> int:
        sim = self.sim
        assert sim is not None
        clock = sim.clock
        for fault in self.faults:
            self._tasks.append(asyncio.create_task(self._fault(fault)))
        placed = 0
        for item in plan(self.scenario, self.config, self.seed):
            delay = clock.real_delay(item.at + self._lag - clock.now())
            if delay > 0:
                await asyncio.sleep(delay)
            placed += self._apply(item)
        end = self._start + self._lag + self.scenario.duration_s
        last_fault = max((f.at_s + (f.duration_s or 0.0) for f in self.faults), default=0.0)
        end = max(end, self._start + self._lag + last_fault)
        if end > clock.now():
            await asyncio.sleep(clock.real_delay(end - clock.now()))
        for task in self._tasks:  # every fault has fired and every router is back
            await task
        self._tasks = []
        drain_until = clock.now() + self.scenario.drain_s
        while sim.pbx.live_calls() and clock.now() < drain_until:  # noqa: ASYNC110 - sim time
            await asyncio.sleep(min(0.1, clock.real_delay(1.0)))
        await asyncio.sleep(0.2)  # the last Hangups reach the routers and their records
        return placed

    def _apply(self, item: Planned) -> int:
        sim = self.sim
        assert sim is not None
        if item.kind == "call" and item.call is not None:
            c = item.call
            sim.pbx.place_call(c.number, c.caller_name, c.caller_num, c.patience_s, c.priority)
            return 1
        if item.kind == "partner" and item.partner is not None:
            sim.pbx.set_partner(item.partner.name, item.partner.behaviour)
        elif item.agent is not None and item.agent in sim.pbx.agents:
            sim.pbx.agent_feature(item.agent, FEATURE_CODES[item.kind])
        return 0

    async def _sleep_until(self, scenario_s: float) -> None:
        assert self.sim is not None
        clock = self.sim.clock
        await asyncio.sleep(clock.real_delay(self._start + self._lag + scenario_s
                                             - clock.now()))

    async def _fault(self, fault: Fault) -> None:
        assert self.sim is not None
        await self._sleep_until(fault.at_s)
        if self.on_fault is not None:
            self.on_fault(fault)
        duration = fault.duration_s or 0.0
        if fault.kind == "router-kill":
            router = self.routers[0]
            await router.kill()
            await self._sleep_until(fault.at_s + duration)
            await self.start_router(router)
        elif fault.kind == "redis-stop" and self.redis is not None:
            self.redis.stop()
            await self._sleep_until(fault.at_s + duration)
            self.redis.start()
        elif fault.kind == "pbx-restart":
            await self.sim.restart(down_s=max(self.sim.clock.real_delay(duration), 0.05))
        elif fault.kind == "pbx-crash":
            await self.sim.crash(down_s=max(self.sim.clock.real_delay(duration), 0.05))
        elif fault.kind == "ami-drop":
            await self.sim.drop_ami(down_s=self.sim.clock.real_delay(duration))
        elif fault.kind == "leader-kill":
            await self._leader_kill(fault)
        elif fault.kind == "dialplan-reload":
            dialplan_reload(self.sim.pbx)

    async def _wait_for_leader(self) -> RouterProcess:
        async with asyncio.timeout(ROUTER_START_TIMEOUT_S):
            while True:
                leader = self._leader()
                if leader is not None:
                    await leader.wait_for(lambda line: line.get("event") == "takeover_done")
                    return leader
                await asyncio.sleep(0.05)

    def _namespace(self) -> str:
        return f"simulate-{namespace_of(self.config)}-{self.seed}"

    def _records_in_redis(self) -> int:
        """Calls in the run's records stream (read as ``acd report --redis`` does)."""
        from acd.store.recordstream import RedisRecordsError, read_records

        config = msgspec.structs.replace(self.config, redis=RedisConfig(
            url=self.redis.url if self.redis else "", namespace=self._namespace()))
        try:
            return sum(1 for _ in read_records(config))
        except RedisRecordsError:
            return 0

    def _leader(self) -> RouterProcess | None:
        """The pair member holding the lock, from the lock's value in Redis."""
        import redis as redis_sync

        assert self.redis is not None
        client = redis_sync.Redis.from_url(self.redis.url, socket_timeout=1.0)
        try:
            raw = client.get(keys.leader(self._namespace()))
        except redis_sync.RedisError:
            return None
        finally:
            client.close()
        node = raw.decode().rsplit(":", 1)[0] if isinstance(raw, bytes) else None
        return next((r for r in self.routers if r.name == node and r.alive), None)

    async def _leader_kill(self, fault: Fault) -> None:
        leader = await self._wait_for_leader()
        killed_at = time.monotonic()
        await leader.kill()
        others = [r for r in self.routers if r is not leader and r.alive]
        if others:
            other = others[0]
            line = await other.wait_for(lambda line: line.get("event") == "takeover_done"
                                        and line["_at"] > killed_at)
            self.takeovers_s.append(round(line["_at"] - killed_at, 3))
        if fault.duration_s is not None:
            await self._sleep_until(fault.at_s + fault.duration_s)
            await self.start_router(leader)


async def run_chaos(config: Config, scenario: Scenario, faults: list[Fault], *,
                    seed: int | None = None, speed: float | None = None,
                    on_fault: Callable[[Fault], None] | None = None,
                    failopen_s: float | None = None,
                    workdir: Path | None = None) -> ChaosResult:
    """Play ``scenario`` with ``faults`` against router process(es)."""
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="acd-chaos-")))
        run = ChaosRun(config, scenario, faults, seed=scenario.seed if seed is None else seed,
                       speed=scenario.speed if speed is None else speed, workdir=workdir,
                       on_fault=on_fault, failopen_s=failopen_s)
        return await run.run()

