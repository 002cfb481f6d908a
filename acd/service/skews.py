"""Disagreements between the clocks (:mod:`acd.service.clock`), counted and logged:
each episode is counted (``acd_clock_skew_events_total{kind}``), the first logged
(``clock_skew``), then at most one line a minute per clock with the episodes since (a
drifting clock would otherwise write one line each time its offset is measured again)."""

from __future__ import annotations

import math
import time

from acd.logs import get_logger
from acd.service.clock import EngineClock
from acd.service.kinds import CLOCK_KINDS

log = get_logger("acd.router")
#: a clock's disagreements are logged at most once in this many seconds (all counted)
CLOCK_SKEW_LOG_S = 60.0


class ClockSkews:
    """The count of each clock's disagreements, and their log."""

    def __init__(self) -> None:
        #: kind (:data:`~acd.service.kinds.CLOCK_KINDS`) → episodes so far
        self.counts: dict[str, int] = dict.fromkeys(CLOCK_KINDS, 0)
        #: kind → (monotonic time of its last clock_skew line, episodes since)
        self._logged: dict[str, tuple[float, int]] = {}

    def asterisk(self, step: float) -> None:
        """Asterisk's timestamps disagree with the router's clock by ``step`` seconds."""
        self.record("asterisk", step)

    def check_host(self, clock: EngineClock) -> None:
        """Notice a step of the router host's wall clock (never followed)."""
        step = clock.host_step()
        if step is not None:
            self.record("router", step)

    def record(self, kind: str, step: float) -> None:
        self.counts[kind] += 1
        now = time.monotonic()
        last, since = self._logged.get(kind, (-math.inf, 0))
        if now - last < CLOCK_SKEW_LOG_S:
            self._logged[kind] = (last, since + 1)
            return
        self._logged[kind] = (now, 0)
        log.warning("clock_skew", clock=kind, step_s=round(step, 3),
                    detail="not followed: no timer, wait or record moves",
                    **({"episodes_not_logged": since} if since else {}))
