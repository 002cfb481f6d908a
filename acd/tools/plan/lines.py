"""The lines a site's PBX must carry, interval by interval: how many calls it holds at
once, as the simulated PBX saw them, and what Erlang B says for a chosen blocking.

A caller holds a line (a SIP trunk channel, a T2 channel) from the moment the call
reaches the PBX to its hangup: announced, waiting on hold, ringing an agent, talking,
transferred, ringing a partner SAS. :func:`line_counts` turns a day's lines
(``(seized, released)`` per caller, :attr:`acd.tools.fastday.DayResult.lines`) into,
per interval:

- **the time spent at each number of calls at once** (seconds at 0, 1, 2 … calls), so
  that seeds pool by adding and a percentile of the time is read off the sum: the
  ``p99`` is the fewest lines that would have carried every call during 99 % of the
  interval's time;
- **the peak**, the most calls at once (the ``max`` over the seeds);
- **the offered load**, Erlangs: the holding time of the calls arriving in the
  interval (their whole time on the line, past the interval's end if need be) over
  the interval's length, that is their arrival rate × the mean time a call holds a
  line. Erlang B on that load gives the lines for a blocking probability the site
  chooses (``acd plan --blocking``, 0.01 by default).

Calls forwarded to the PDSA line or sent to a partner hold the caller's line as long
as the PBX keeps them; the outgoing leg towards a partner's trunk is not counted (it
leaves by the inter-site link, not the line the public network reaches the room by).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from acd.tools.plan.staffing import Grid


@dataclass
class LineCounts:
    """One interval's lines, in counts that pool over seeds by adding."""

    #: seconds of the interval spent with n calls at once, n → seconds
    seconds_at: dict[int, float] = field(default_factory=dict)
    #: the most calls at once (over the seeds pooled: the highest of their peaks)
    peak: int = 0
    #: calls that seized a line in the interval, and their seconds on the line
    arrivals: int = 0
    held_s: float = 0.0

    def add(self, other: LineCounts) -> None:
        for level, seconds in other.seconds_at.items():
            self.seconds_at[level] = self.seconds_at.get(level, 0.0) + seconds
        self.peak = max(self.peak, other.peak)
        self.arrivals += other.arrivals
        self.held_s += other.held_s

    def percentile(self, share: float) -> int | None:
        """The fewest lines that carried every call during ``share`` of the time
        observed (None with no time observed)."""
        total = sum(self.seconds_at.values())
        if total <= 0:
            return None
        running = 0.0
        for level in sorted(self.seconds_at):
            running += self.seconds_at[level]
            if running >= share * total - 1e-9:
                return level
        return max(self.seconds_at)

    def load(self, days: int, interval_s: float) -> float:
        """Erlangs offered by the calls arriving in the interval, per day."""
        return self.held_s / (days * interval_s) if days and interval_s else 0.0


def line_counts(lines: Sequence[tuple[float, float]], grid: Grid) -> list[LineCounts]:
    """One :class:`LineCounts` per interval of ``grid`` from a day's lines."""
    out = [LineCounts() for _ in grid.starts]
    if not grid.starts:
        return out
    changes: list[tuple[float, int]] = []
    for seized, released in lines:
        k = grid.index(seized)
        if k is not None:
            out[k].arrivals += 1
            out[k].held_s += max(0.0, released - seized)
        changes.append((seized, 1))
        changes.append((max(seized, released), -1))
    # a release before a seizure at the same instant: the count never goes up by both
    changes.sort(key=lambda change: (change[0], change[1]))
    level, at, k = 0, grid.starts[0], 0
    bounds = [*grid.starts[1:], grid.end]
    for moment, step in changes:
        while k < len(out) and moment >= bounds[k]:
            _stay(out[k], level, bounds[k] - at)
            at, k = bounds[k], k + 1
        if k >= len(out):
            break
        if moment > at:
            _stay(out[k], level, moment - at)
            at = moment
        level += step
        if moment >= grid.starts[0]:
            out[k].peak = max(out[k].peak, level)
    while k < len(out):
        _stay(out[k], level, bounds[k] - at)
        at, k = bounds[k], k + 1
    return out


def _stay(counts: LineCounts, level: int, seconds: float) -> None:
    if seconds > 0:
        counts.seconds_at[level] = counts.seconds_at.get(level, 0.0) + seconds
        counts.peak = max(counts.peak, level)
