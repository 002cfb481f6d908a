"""Build the router with its adapters the way :mod:`acd.service.main` does, without
the process around it (signals, systemd, HTTP, the durable store: add them to the
stack's router when a test needs them).

``build_stack`` wires (nothing runs yet); ``Stack.start`` runs the AMI session and
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
from acd.service.clock import EngineClock
from acd.service.router import Router


@dataclass
class Stack:
    """A router, its AMI connection (if given an AMI config), its metrics (if asked
    for) and the record of every call that ended, in the order the router ended them."""

    router: Router
    metrics: RouterMetrics | None = None
    records: list[CallRecord] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    @property
    def ami(self) -> AmiConnection:
        assert self.router.ami is not None, "built without an AMI config"
        return self.router.ami

    async def start(self, within_s: float = 5.0) -> None:
        """Run the AMI session; return once it is up and resynchronised."""
        self._task = asyncio.create_task(self.ami.run(), name="ami")
        async with asyncio.timeout(within_s):
            await self.router.link_ready.wait()

    async def stop(self) -> None:
        """End the AMI session (and wait for its task)."""
        if self.router.ami is not None:
            await self.router.ami.stop()
        if self._task is not None:
            await self._task
            self._task = None

    def on_fact(self, fact: f.Fact) -> None:
        """Keep the record of each call that ended."""
        if isinstance(fact, f.CallEnded):
            self.records.append(fact.record)


def build_stack(config: Config, *, ami: AmiConfig | None = None, secret: str = "",
                clock: EngineClock | Callable[[], float] | None = None, speed: float = 1.0,
                metrics: bool = False, records: bool = True) -> Stack:
    """Wire a router for ``config``: an AMI connection to ``ami`` (with ``secret``) if
    given, Prometheus metrics attached if ``metrics``, finished calls' records kept in
    :attr:`Stack.records` if ``records``. ``clock`` and ``speed`` are the router's: a
    simulator in the same process hands its own clock over
    (``SimulatorClock(speed, read=sim.clock.now)``), see :mod:`acd.service.clock`."""
    router = Router(config, clock=clock, speed=speed)
    if ami is not None:
        router.ami = AmiConnection(ami, secret, router)
    stack = Stack(router)
    if metrics:
        stack.metrics = RouterMetrics(router)
        stack.metrics.attach()
    if records:
        router.add_fact_listener(stack.on_fact)
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
