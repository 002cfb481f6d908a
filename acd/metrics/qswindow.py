"""QS 30 s and QS 60 s at the front office over the last minutes and since local
midnight: the supervisor's console shows them live (:mod:`acd.http.room`).

The rule is the metrics' own, from :mod:`acd.core.indicators`: a call counts once, at
its **first** pick-up by a person (``CallAnswered.first``), if the queue it entered
first is the front office (``first_queue``, as the ``queue`` label of
``acd_calls_answered_total``); its wait (arrival in the first queue → that pick-up) is
taken at the millisecond (:func:`~acd.core.indicators.answer_wait`) and is *within*
30 s when strictly under (:func:`~acd.core.indicators.answered_within`). Abandoned calls
are in neither figure. So the counts since the router started equal
``acd_calls_answered_within_30s_total{queue="ARM_N1"}`` and
``acd_calls_answered_total{queue="ARM_N1"}`` summed over numbers and periods (a test
checks it).

Two figures:

* the **window**: first pick-ups of the last ``window_s`` (15 minutes) of engine time;
* **today**: first pick-ups since local midnight in the site's zone, or since the
  counting started (``counting_since``: the router's start) when that is later; they
  are counted from the facts this router saw (a restart starts again from zero).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from acd.config import FRONT_OFFICE
from acd.core import facts as f
from acd.core.indicators import QS30_S, QS60_S, answer_wait, answered_within, ratio

#: the console's sliding window (seconds of engine time)
WINDOW_S = 15 * 60.0


@dataclass(slots=True)
class QsFigure:
    """Answered calls and those answered within 30 s and 60 s."""

    answered: int = 0
    within_30s: int = 0
    within_60s: int = 0

    def add(self, within_30s: bool, within_60s: bool, sign: int = 1) -> None:
        self.answered += sign
        self.within_30s += sign * within_30s
        self.within_60s += sign * within_60s

    def as_dict(self) -> dict[str, int | float | None]:
        """``answered``, ``within_30s``, ``within_60s``, ``qs30``, ``qs60`` (None when
        nothing was answered)."""
        return {"answered": self.answered, "within_30s": self.within_30s,
                "within_60s": self.within_60s,
                "qs30": ratio(self.within_30s, self.answered),
                "qs60": ratio(self.within_60s, self.answered)}


class QsWindows:
    """A fact listener (:meth:`on_fact`) counting the front office's first pick-ups."""

    def __init__(self, zone: ZoneInfo, *, counting_since: float,
                 front_office: str = FRONT_OFFICE, window_s: float = WINDOW_S) -> None:
        self.zone = zone
        self.front_office = front_office
        self.window_s = window_s
        #: engine time the counting started (the router's start)
        self.counting_since = counting_since
        self._recent: deque[tuple[float, bool, bool]] = deque()
        self._window = QsFigure()
        self._day: date | None = None
        self._today = QsFigure()

    def on_fact(self, fact: f.Fact) -> None:
        if type(fact) is f.CallAnswered and fact.first \
                and (fact.first_queue or fact.queue) == self.front_office:
            self.answered(fact.at, fact.wait_s)

    def answered(self, at: float, wait_s: float) -> None:
        """One first pick-up at the front office at ``at`` after ``wait_s``."""
        wait = answer_wait(wait_s)
        within_30s, within_60s = answered_within(wait, QS30_S), answered_within(wait, QS60_S)
        day = self._date(at)
        if day != self._day:
            self._day, self._today = day, QsFigure()
        self._today.add(within_30s, within_60s)
        self._recent.append((at, within_30s, within_60s))
        self._window.add(within_30s, within_60s)
        self._forget_before(at - self.window_s)

    def window(self, now: float) -> QsFigure:
        """The first pick-ups of the last ``window_s`` before ``now``."""
        self._forget_before(now - self.window_s)
        return QsFigure(self._window.answered, self._window.within_30s,
                        self._window.within_60s)

    def today(self, now: float) -> QsFigure:
        """The first pick-ups since local midnight of ``now`` (or since the counting
        started, when later)."""
        if self._day != self._date(now):
            return QsFigure()
        return QsFigure(self._today.answered, self._today.within_30s,
                        self._today.within_60s)

    def today_since(self, now: float) -> float:
        """Engine time from which :meth:`today` counts: local midnight of ``now``, or
        the start of the counting when that is later."""
        midnight = datetime.combine(self._date(now), datetime.min.time(), self.zone)
        return max(midnight.timestamp(), self.counting_since)

    def _date(self, at: float) -> date:
        return datetime.fromtimestamp(at, self.zone).date()

    def _forget_before(self, limit: float) -> None:
        recent = self._recent
        while recent and recent[0][0] <= limit:
            _at, within_30s, within_60s = recent.popleft()
            self._window.add(within_30s, within_60s, -1)
