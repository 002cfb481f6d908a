"""The dialplan's fail-open heartbeat: a global Setvar with the PBX's time, refreshed
every ``[routing] heartbeat_s`` while this router may act (so a silent pair fails
open), at once when the link comes up (callers in ``[holding]`` check it) and when
Asterisk reloads (a reload may have set the global back)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING, Any

from acd.ami.actions import Setvar
from acd.logs import get_logger
from acd.service.link import LinkChange

if TYPE_CHECKING:
    from acd.ami.client import AmiConnection
    from acd.core.ports import EngineView
    from acd.service.clock import PbxTime

log = get_logger("acd.router")


@dataclass(eq=False, slots=True)
class Heartbeat:
    """Refreshes ``variable`` on ``link`` with the PBX's time (the dialplan's
    ``${EPOCH}``), every ``interval_s`` of real time, while ``may_act``; ``on_beat``
    runs at each beat (the check of the host's clock, once a second)."""

    link: AmiConnection | None
    engine: EngineView
    _: KW_ONLY
    may_act: Callable[[], bool]
    pbx_time: PbxTime
    variable: str
    #: real seconds between two beats
    interval_s: float
    on_beat: Callable[[], None] | None = None

    def beat(self) -> None:
        """Refresh the heartbeat now, if the link is up and resynchronised and this
        router decides and may act; else nothing."""
        if self.on_beat is not None:
            self.on_beat()
        link, engine = self.link, self.engine
        if link is None or not link.connected or not engine.link_up \
                or not engine.decide or not self.may_act():
            return
        action = Setvar(variable=self.variable, value=str(int(self.pbx_time.pbx_now())))
        link.send(action).add_done_callback(_done)

    def on_link(self, change: LinkChange) -> None:
        if change.up:
            self.beat()

    async def run(self) -> None:
        """Beat every ``interval_s`` until cancelled."""
        while True:
            self.beat()
            await asyncio.sleep(self.interval_s)


def heartbeat_interval(heartbeat_s: float, speed: float) -> float:
    """``[routing] heartbeat_s`` of PBX time in real seconds (at least 20 ms)."""
    return max(heartbeat_s / speed, 0.02)


def _done(future: asyncio.Future[Any]) -> None:
    """A heartbeat that failed is only logged: the next one comes a second later."""
    if future.cancelled():
        return
    exc = future.exception()
    if exc is not None:
        log.debug("heartbeat_failed", error=str(exc))
