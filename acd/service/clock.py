"""Engine time taken from the PBX's own event timestamps."""

from __future__ import annotations

import time


class PbxClock:
    """Engine time taken from the PBX's own event timestamps.

    Each event with a ``Timestamp`` sets the time; between events it runs on at
    ``speed`` times real time. So a router connected to a simulator running
    accelerated lives in simulated time (ring time-outs, wrap-up, QS 30 s all count
    simulated seconds), and against a real Asterisk (speed 1) it follows Asterisk's
    clock rather than its own.
    """

    def __init__(self, speed: float = 1.0) -> None:
        self.speed = speed
        self._base: float | None = None
        self._at = 0.0

    def observe(self, timestamp: float) -> None:
        self._base = timestamp
        self._at = time.monotonic()

    def observe_at_least(self, timestamp: float) -> None:
        """Take ``timestamp`` unless events have already brought a later time."""
        if self._base is None or timestamp > self():
            self.observe(timestamp)

    def __call__(self) -> float:
        if self._base is None:
            return time.time()
        return self._base + (time.monotonic() - self._at) * self.speed
