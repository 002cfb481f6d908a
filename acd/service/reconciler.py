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
from collections.abc import Callable
from typing import TYPE_CHECKING

from acd.errors import AmiError
from acd.logs import get_logger

if TYPE_CHECKING:
    from acd.ami.client import AmiConnection
    from acd.ami.events import StatusEntry
    from acd.service.failopen_members import FailopenMembers

log = get_logger("acd.reconciler")


class Reconciler:
    """Asks ``link`` for Asterisk's channels while ``linked`` (the link up and
    resynchronised) and gives them to ``on_channels``; then prunes ``failopen``."""

    def __init__(self, link: AmiConnection, *, linked: Callable[[], bool],
                 on_channels: Callable[[list[StatusEntry], float], None],
                 failopen: FailopenMembers | None = None) -> None:
        self._link = link
        self._linked = linked
        self._on_channels = on_channels
        self._failopen = failopen

    async def once(self) -> bool:
        """One pass; False if the link was not up or the list could not be had."""
        if not self._linked():
            return False
        try:
            entries, taken_at = await self._link.channels()
        except (AmiError, TimeoutError) as exc:
            log.warning("reconcile_failed", error=f"{type(exc).__name__}: {exc}")
            return False
        if not self._linked():
            return False  # the link dropped meanwhile: the next login's resync does it
        self._on_channels(entries, taken_at)
        if self._failopen is not None:
            self._failopen.prune()
        return True

    async def run(self, interval_s: float) -> None:
        """Reconcile every ``interval_s`` real seconds until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            await self.once()
