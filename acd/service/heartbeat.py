"""The dialplan's fail-open heartbeat: a global Setvar with the PBX's time, refreshed
every ``[routing] heartbeat_s`` while this router may act (so a silent pair fails open)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from acd.ami.actions import Setvar
from acd.logs import get_logger

if TYPE_CHECKING:
    from acd.service.router import Router

log = get_logger("acd.router")


def send_heartbeat(router: Router) -> None:
    """Refresh the heartbeat now, if the link is up and resynchronised and this router
    decides and may act; else nothing."""
    ami = router.ami
    if ami is None or not ami.connected or not router.engine.link_up \
            or not router.engine.decide or not router.may_act():
        return
    action = Setvar(variable=router.config.dialplan.heartbeat_var,
                    value=str(int(router.pbx_time.pbx_now())))  # the dialplan's ${EPOCH}
    ami.send(action).add_done_callback(heartbeat_done)


def heartbeat_done(future: asyncio.Future[Any]) -> None:
    """A heartbeat that failed is only logged: the next one comes a second later."""
    if future.cancelled():
        return
    exc = future.exception()
    if exc is not None:
        log.debug("heartbeat_failed", error=str(exc))


async def run_heartbeat(router: Router) -> None:
    """Every ``[routing] heartbeat_s`` of PBX time (at least every 20 ms of real time)."""
    interval = max(router.config.routing.heartbeat_s / router.speed, 0.02)
    while True:
        router.send_heartbeat()
        await asyncio.sleep(interval)
