"""The asyncio rules every layer shares: stopping tasks the one way every stop here
needs, and scheduling only where a loop runs."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def cancel_and_wait(*tasks: asyncio.Task[Any]) -> None:
    """Cancel ``tasks`` and wait until each has finished (its ``CancelledError`` is
    expected, not an error)."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop; None for code driven without one (a tool writing
    offline, a router fed by hand), which then schedules nothing."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
