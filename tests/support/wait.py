"""The one way a test waits for something to become true."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(predicate: Callable[[], object], timeout: float = 10.0,
                interval: float = 0.02) -> None:
    """Poll ``predicate`` every ``interval`` seconds until it holds; fail with
    ``TimeoutError`` after ``timeout`` seconds (a bound on a hang, not a timed
    assertion)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(interval)
