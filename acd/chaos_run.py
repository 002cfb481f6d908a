"""``acd simulate --chaos``: the simulator here, the router as its own process(es).

A fault must hit a real router process (SIGKILL leaves no chance to clean up), so
with faults the router is ``acd run`` started as a subprocess, with a generated config
pointing at this process's simulator (AMI secret through ``ACD_AMI_SECRET``, never a
file), ``--speed`` of the run, and ``--records-out``: each router process appends its
call records (JSON lines, written and flushed as each call ends) to a file of the run.
With ``redis-stop`` or ``leader-kill`` a ``redis-server`` of the run's own is started on
a free port; ``leader-kill`` runs two routers as an active/standby pair (``[leader]``).

The outcome of each call comes from the routers' records. The simulator is the judge
of what no router can know: who hung up each caller channel (no caller may have been
hung up by the router), and which callers Asterisk itself hung up in a
``pbx-restart`` (outcome ``lost``, ``lost_reason`` ``"pbx-restart"``). A call no
running router saw end (its caller hung up while the only router was down) gets a
record marked ``ended_unobserved``, its outcome from what the routers logged of it
(``call_answered``) or else from the simulator's hangup log, as a router restoring
its state from Redis would close it at its resync.

Until the router restores agent states from Redis, a router started again is given
the agents logged in at that moment (the simulator's log of feature codes) as
``logged_in``, as that restore would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from acd.chaos import Fault, needs_pair, needs_redis
from acd.config import AmiConfig, Config, HttpConfig, LeaderConfig, RedisConfig
from acd.core.records import CallRecord, iso
from acd.redis_process import RedisProcess
from acd.scenario import Scenario
from acd.sim import SimServer, start_sim
from acd.sim.model import Call, HangupRecord, Phase
from acd.sim.pbx import PbxOptions
from acd.simulate import FEATURE_CODES, behaviour_for, for_speed
from acd.store.leader import leader_key, site_namespace
from acd.summary import Summary, summarize
from acd.tomlwrite import dumps
from acd.traffic import Planned, plan, scenario_start

#: a router process must be routing within this many real seconds of its start
ROUTER_START_TIMEOUT_S = 30.0
#: a pair's lock TTL in chaos runs (real seconds)
PAIR_TTL_S = 2.0


@dataclass
class ChaosResult:
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


class RouterProcess:
    """One ``acd run`` of the run, started (again) on demand; its log is kept."""

    def __init__(self, name: str, workdir: Path, env: dict[str, str], speed: float) -> None:
        self.name = name
        self.workdir = workdir
        self.env = env
        self.speed = speed
        self.records_path = workdir / f"{name}.records.jsonl"
        self.config_path = workdir / f"{name}.toml"
        self.process: asyncio.subprocess.Process | None = None
        #: every JSON log line of every life of this router
        self.lines: list[dict[str, Any]] = []
        self.starts = 0
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self, config: Config) -> None:
        self.config_path.write_text(dumps(msgspec.to_builtins(config)), encoding="utf-8")
        stderr = (self.workdir / f"{self.name}.stderr").open("ab")
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "acd.cli", "run", "--config", str(self.config_path),
                "--speed", f"{self.speed:g}", "--records-out", str(self.records_path),
                stdout=asyncio.subprocess.PIPE, stderr=stderr, env=self.env)
        finally:
            stderr.close()
        self.starts += 1
        self._reader = asyncio.create_task(self._read(self.process, self.starts))

    async def _read(self, process: asyncio.subprocess.Process, life: int) -> None:
        assert process.stdout is not None
        while raw := await process.stdout.readline():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if isinstance(line, dict):
                line["_life"] = life
                line["_at"] = time.monotonic()
                self.lines.append(line)
                self._changed.set()

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first log line of this router's current life matching ``predicate``
        (RuntimeError if the router exits, TimeoutError after ROUTER_START_TIMEOUT_S)."""
        async with asyncio.timeout(ROUTER_START_TIMEOUT_S):
            while True:
                for line in self.lines:
                    if line["_life"] == self.starts and predicate(line):
                        return line
                if not self.alive:
                    raise RuntimeError(f"{self.name} exited (status "
                                       f"{self.process.returncode if self.process else '?'}); "
                                       f"see {self.workdir / (self.name + '.stderr')}")
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.2)

    async def kill(self) -> None:
        """SIGKILL: no clean-up, no lock release, no last records."""
        if self.alive and self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
        if self._reader is not None:
            await self._reader

    async def stop(self) -> None:
        """SIGTERM and wait (the router stops within 5 s), SIGKILL otherwise."""
        if self.alive and self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._reader is not None:
            await self._reader

    def records(self) -> list[CallRecord]:
        if not self.records_path.exists():
            return []
        decoder = msgspec.json.Decoder(CallRecord)
        out = []
        for raw in self.records_path.read_bytes().splitlines():
            with contextlib.suppress(msgspec.DecodeError):  # a line cut by SIGKILL
                out.append(decoder.decode(raw))
        return out


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
                                namespace=f"simulate-{site_namespace(config)}-{self.seed}")
        if needs_pair(self.faults):
            leader = LeaderConfig(enabled=True, ttl_s=PAIR_TTL_S, node_id=name)
        present = self.sim.pbx.logged_in()
        agents = [msgspec.structs.replace(a, logged_in=a.logged_in or a.id in present)
                  for a in config.agents]
        return msgspec.structs.replace(
            config, ami=ami, http=HttpConfig(bind="127.0.0.1", port=0), redis=redis,
            leader=leader, agents=agents,
            api=msgspec.structs.replace(config.api, tokens_file=None))

    async def start_router(self, router: RouterProcess) -> None:
        await router.start(self.router_config(router.name))

    async def run(self) -> ChaosResult:
        config, scenario = self.config, self.scenario
        if any(item.kind == "bascule" for item in plan(scenario, config, self.seed)):
            raise ValueError("a chaos run cannot play scripted bascules (the router is "
                             "another process): remove them or drop --chaos")
        if needs_redis(self.faults):
            self.redis = RedisProcess()
            self.redis.start()
        self._start = scenario_start(scenario, config.zone())
        sim = self.sim = await start_sim(
            config, "127.0.0.1", 0, seed=self.seed, speed=self.speed, secret=self.secret,
            behaviour=behaviour_for(config, scenario), start_epoch=self._start,
            options=PbxOptions(failopen_s=self.failopen_s))
        for name, behaviour in scenario.partners.items():
            sim.pbx.set_partner(name, behaviour)
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
            placed = await self._play()
        finally:
            for task in self._tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for router in self.routers:
                await router.stop()
            await sim.close()
            if self.redis is not None:
                self.redis.close()
        records = judge(sim, self.routers, self.config)
        by_router = [h.channel for h in sim.pbx.callers_hung_up_by("router-action")]
        return ChaosResult(records=records, summary=summarize(records, config),
                           hung_up_by_router=by_router, routed_twice=list(sim.pbx.routed_twice),
                           faults=self.faults, takeovers_s=self.takeovers_s,
                           calls_placed=placed, failed_open=len(sim.pbx.native.joined),
                           router_starts=sum(r.starts for r in self.routers))

    # ------------------------------------------------------------------ the play

    async def _play(self) -> int:
        sim = self.sim
        assert sim is not None
        clock = sim.clock
        for fault in self.faults:
            self._tasks.append(asyncio.create_task(self._fault(fault)))
        placed = 0
        for item in plan(self.scenario, self.config, self.seed):
            delay = clock.real_delay(item.at - clock.now())
            if delay > 0:
                await asyncio.sleep(delay)
            placed += self._apply(item)
        end = self._start + self.scenario.duration_s
        last_fault = max((f.at_s + (f.duration_s or 0.0) for f in self.faults), default=0.0)
        end = max(end, self._start + last_fault)
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
        await asyncio.sleep(clock.real_delay(self._start + scenario_s - clock.now()))

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
        elif fault.kind == "leader-kill":
            await self._leader_kill(fault)

    async def _wait_for_leader(self) -> RouterProcess:
        async with asyncio.timeout(ROUTER_START_TIMEOUT_S):
            while True:
                leader = self._leader()
                if leader is not None:
                    await leader.wait_for(lambda line: line.get("event") == "takeover_done")
                    return leader
                await asyncio.sleep(0.05)

    def _leader(self) -> RouterProcess | None:
        """The pair member holding the lock, from the lock's value in Redis."""
        import redis as redis_sync

        assert self.redis is not None
        client = redis_sync.Redis.from_url(self.redis.url, socket_timeout=1.0)
        try:
            raw = client.get(leader_key(f"simulate-{site_namespace(self.config)}-{self.seed}"))
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


# ---------------------------------------------------------------------- the judge


def judge(sim: SimServer, routers: list[RouterProcess], config: Config) -> list[CallRecord]:
    """One record per offered call, in arrival order: every call the dialplan announced
    to the router, and every call Asterisk hung up in a restart (even one not yet
    announced: it reached Asterisk and was lost there)."""
    by_id: dict[str, CallRecord] = {}
    for router in routers:
        for record in router.records():
            kept = by_id.get(record.uniqueid)
            if kept is None or (kept.ended_unobserved and not record.ended_unobserved):
                by_id[record.uniqueid] = record
    logged: dict[str, dict[str, Any]] = {}
    for router in routers:
        for line in router.lines:
            if line.get("event") in ("call_queued", "call_answered") and "call" in line:
                entry = logged.setdefault(str(line["call"]), {})
                entry.setdefault(line["event"], line)
    hangups: dict[str, HangupRecord] = {h.channel: h for h in sim.pbx.hangups
                                        if h.role == "caller"}
    records = []
    for call in sim.pbx.calls:
        hangup = hangups.get(call.trunk.name)
        restarted = hangup is not None and hangup.by == "pbx" and hangup.reason == "restart"
        if not call.announced and not restarted:
            continue  # its caller hung up before the dialplan announced it: not offered
        uid = call.trunk.uniqueid
        record = by_id.get(uid) or _unobserved(call, logged.get(uid, {}), hangup, config)
        if restarted:
            record = msgspec.structs.replace(record, outcome="lost", lost_reason="pbx-restart")
        records.append(record)
    return records


def _unobserved(call: Call, logged: dict[str, Any], hangup: HangupRecord | None,
                config: Config) -> CallRecord:
    """The record of a call no running router saw end (see the module docstring)."""
    zone = config.zone()
    queued = logged.get("call_queued", {})
    answered = logged.get("call_answered")
    queue = str(queued.get("queue") or (answered and answered.get("queue")) or "ARM_N1")
    if call.phase is not Phase.GONE:
        outcome = "answered" if call.phase in (Phase.TALKING, Phase.WITH_PARTNER) \
            else "waiting"
    elif answered is not None:
        outcome = "answered"
    elif hangup is not None and hangup.by == "caller" and hangup.reason == "patience ran out":
        outcome = "abandoned"
    elif hangup is not None and hangup.by in ("agent", "pbx") and call.first_dialled:
        outcome = "answered"  # answered by the native queue while no router ran
    else:
        outcome = "abandoned"
    wait = answered.get("wait_s") if answered is not None else None
    return CallRecord(
        uniqueid=call.trunk.uniqueid, linkedid=call.trunk.linkedid, number=call.number,
        caller_name=call.trunk.cid_name, queues=[queue], arrived_at=iso(call.arrived, zone)
        or "", answered_at=None, ended_at=iso(hangup.at, zone) if hangup else None,
        outcome=outcome, agent=str(answered["agent"]) if answered is not None else None,
        wait_s=float(wait) if isinstance(wait, (int, float)) else None,
        priority=call.priority if call.priority is not None
        else config.routing.default_priority,
        channel=call.trunk.name, legs=[], ended_unobserved=True)


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
