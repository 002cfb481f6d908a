"""The periodic reconciler: Asterisk's channels against the router's view.

Every ``ami.reconcile_s`` seconds, while the AMI session is up and resynchronised, it
asks Asterisk for its live channels (a ``Status`` list, as at login) and gives them to
the engine as :class:`~acd.core.inputs.Reconcile`. The engine repairs what two lists
in a row disagree on (an agent shown on call with no channel, a call whose channel
is gone, a waiting ACD caller it does not know, a phone shown busy or free), one
``StateRepaired`` fact per repair: logged and counted in
``acd_state_repairs_total{kind}``. With or without Redis. Each pass also removes the
fail-open queue's members the router does not know (:meth:`FailopenMembers.prune
<acd.service.failopen_members.FailopenMembers.prune>`), put back meanwhile by hand or
by another configuration.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from acd.errors import AmiError
from acd.logs import get_logger

if TYPE_CHECKING:
    from acd.service.failopen_members import FailopenMembers
    from acd.service.router import Router

log = get_logger("acd.reconciler")


async def reconcile_once(router: Router, *, failopen: FailopenMembers | None = None) -> bool:
    """One pass; False if the link was not up or the list could not be had."""
    ami = router.ami
    if ami is None or not _ready(router):
        return False
    try:
        entries, taken_at = await ami.channels()
    except (AmiError, TimeoutError) as exc:
        log.warning("reconcile_failed", error=f"{type(exc).__name__}: {exc}")
        return False
    if not _ready(router):
        return False  # the link dropped meanwhile: the next login's resync does it
    router.on_channels(entries, taken_at)
    if failopen is not None:
        failopen.prune()
    return True


async def run_reconciler(router: Router, interval_s: float, *,
                         failopen: FailopenMembers | None = None) -> None:
    """Reconcile every ``interval_s`` real seconds until cancelled."""
    while True:
        await asyncio.sleep(interval_s)
        await reconcile_once(router, failopen=failopen)


def _ready(router: Router) -> bool:
    return router.ami is not None and router.ami.connected and router.engine.link_up
