"""The service the way :mod:`acd.service.main` builds it (:func:`acd.service.build.build`),
without the process around it (signals, systemd, the background tasks), the fail-open
queue's members left out unless asked for. Its durable store and HTTP server are opened
when a test needs them (``stack.service.open_store()``, ``open_http()``).

``build_stack`` builds (nothing runs yet); ``Stack.start`` runs the AMI session and
waits for the first resynchronisation; ``Stack.stop`` ends it. ``running_stack`` does
all three around a ``with`` block.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from acd.ami.client import AmiConnection
from acd.config import AmiConfig, Config
from acd.core import facts as f
from acd.core.records import CallRecord
from acd.metrics import RouterMetrics
from acd.service.build import MetricsFactory, build
from acd.service.clock import EngineClock, engine_clock
from acd.service.router import Router
from acd.service.service import Service
from acd.store.leader import LeaderLock


@dataclass
class Stack:
    """A service, and the record of every call that ended, in the order the router
    ended them."""

    service: Service
    records: list[CallRecord] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    @property
    def router(self) -> Router:
        return self.service.router

    @property
    def metrics(self) -> RouterMetrics | None:
        return self.service.metrics

    @property
    def ami(self) -> AmiConnection:
        assert self.service.ami is not None, "built without an AMI config"
        return self.service.ami

    async def start(self, within_s: float = 5.0) -> None:
        """Run the AMI session; return once it is up and resynchronised."""
        self._task = asyncio.create_task(self.ami.run(), name="ami")
        async with asyncio.timeout(within_s):
            await self.router.link_ready.wait()

    async def stop(self) -> None:
        """End the AMI session (and wait for its task)."""
        if self.service.ami is not None:
            await self.service.ami.stop()
        if self._task is not None:
            await self._task
            self._task = None

    def on_fact(self, fact: f.Fact) -> None:
        """Keep the record of each call that ended."""
        if isinstance(fact, f.CallEnded):
            self.records.append(fact.record)


def build_stack(config: Config, *, ami: AmiConfig | None = None, secret: str = "",
                clock: EngineClock | Callable[[], float] | None = None, speed: float = 1.0,
                metrics: bool | MetricsFactory = False, records: bool = True,
                failopen: bool = False, lock: LeaderLock | None = None) -> Stack:
    """Build the service for ``config``: an AMI connection to ``ami`` (with ``secret``)
    if given, Prometheus metrics attached if ``metrics`` (or made by it), finished
    calls' records kept in :attr:`Stack.records` if ``records``, the fail-open queue's
    members kept if ``failopen``, a pair member if given a leader ``lock``. ``clock``
    and ``speed`` are the router's: a simulator in the same process hands its own clock
    over (``SimulatorClock(speed, read=sim.clock.now)``), see :mod:`acd.service.clock`."""
    factory: MetricsFactory | None = (RouterMetrics if metrics is True
                                      else metrics or None)
    service = build(config, clock=engine_clock(clock, speed), ami=ami, secret=secret,
                    lock=lock, failopen=failopen, metrics=factory)
    stack = Stack(service)
    if records:
        service.add_fact_listener(stack.on_fact)
    return stack


@contextlib.asynccontextmanager
async def running_stack(config: Config, ami: AmiConfig, secret: str, *,
                        speed: float = 1.0, metrics: bool = False,
                        within_s: float = 5.0) -> AsyncIterator[Stack]:
    """A stack connected to the PBX at ``ami`` and resynchronised, for the block."""
    stack = build_stack(config, ami=ami, secret=secret, speed=speed, metrics=metrics)
    await stack.start(within_s)
    try:
        yield stack
    finally:
        await stack.stop()
