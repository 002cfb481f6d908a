"""Counting what the AMI link drops, and saying so once per episode.

A frame can be dropped for a handful of reasons (see :data:`REASONS`); each drop is
counted (``acd_ami_frames_dropped_total{reason}``, carried over reconnects) and the
first drop of an *episode* is logged: a drop after ``quiet_s`` seconds without one of
the same reason starts a new episode, and its log line says how many the previous
episode dropped. A peer sending garbage at line rate thus costs one log line, not one
per frame. No line carries a frame's content (it may hold a caller's number).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from acd.logs import get_logger

log = get_logger("acd.ami")

#: why a frame is dropped (the ``reason`` label)
REASONS: Final[tuple[str, ...]] = (
    #: larger than the frame limit (binary garbage, a runaway header)
    "oversized",
    #: a first line longer than any Asterisk banner
    "banner",
    #: neither an event nor a response (no ``Event:``/``Response:`` header)
    "garbage",
    #: a wanted event whose headers do not fit (no Channel, Timestamp out of range,
    #: a channel name holding CR, LF or NUL)
    "undecodable",
    #: an event received before the Login was answered (Asterisk sends none then)
    "before_login",
)
#: seconds without a drop (of one reason) that end an episode
QUIET_S: Final = 60.0


class DropCounter:
    """Dropped frames by reason, logged once per episode."""

    def __init__(self, *, quiet_s: float = QUIET_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.counts: dict[str, int] = dict.fromkeys(REASONS, 0)
        self._quiet_s = quiet_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self._episode: dict[str, int] = {}

    def drop(self, reason: str, n: int = 1, detail: str = "") -> None:
        """Count ``n`` frames dropped for ``reason``; log if an episode starts."""
        if n <= 0:
            return
        self.counts[reason] = self.counts.get(reason, 0) + n
        now = self._clock()
        last = self._last.get(reason)
        self._last[reason] = now
        if last is not None and now - last < self._quiet_s:
            self._episode[reason] = self._episode.get(reason, 0) + n
            return
        previous = self._episode.get(reason, 0)
        self._episode[reason] = n
        log.warning("ami_frames_dropped", reason=reason, detail=detail,
                    previous_episode=previous or None, quiet_s=self._quiet_s)
