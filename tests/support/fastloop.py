"""An asyncio event loop whose clock runs faster than real time.

Its timers (``asyncio.sleep``, ``call_later``, timeouts) and ``loop.time()`` run
``scale`` times faster than the host's monotonic clock, while its sockets stay real:
a test plays a 30 s outage of a real TCP peer in 3 s. Work that is not a wait (a
connection, a login) takes its real time, which the loop's clock sees ``scale`` times
longer: bounds asserted on it keep a margin for that.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _ScaledSelector(selectors.DefaultSelector):
    """Waits ``scale`` times less than asked: the loop's timeouts are in its own time."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self._scale = scale

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        scaled = None if timeout is None else timeout / self._scale
        events: list[tuple[selectors.SelectorKey, int]] = super().select(scaled)
        return events


class FastLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` runs ``scale`` times faster."""

    def __init__(self, scale: float) -> None:
        self._scale = scale
        self._origin = time.monotonic()
        super().__init__(_ScaledSelector(scale))

    def time(self) -> float:
        return self._origin + (time.monotonic() - self._origin) * self._scale


def run_fast(main: Callable[[], Coroutine[Any, Any, T]], scale: float) -> T:
    """Run ``main()`` to its end on a :class:`FastLoop` of its own."""
    with asyncio.Runner(loop_factory=lambda: FastLoop(scale)) as runner:
        return runner.run(main())
