"""A site's traffic estimated from its own call records, for ``acd plan``.

From :class:`~acd.core.records.CallRecord` over a date range (the JSON lines of
``acd replay`` / ``acd run --records-out``, or the Redis records stream):

- **arrivals** per dialled number, weekday and half-hour (local time of the record):
  the mean number of calls in that interval over the days of that weekday observed.
  A day with no record at all is a records outage (a SAS never has a day without a
  call), not a quiet day: it is left out of the mean and listed in ``empty_days``;
  counting it as zero would under-staff. A half-hour without calls on a day that has
  records counts as zero.
- **talk times** per role (the queue of the leg, i.e. the filière): the answered legs'
  ``talk_s``; their quantiles, and the uniform range a scenario plays, matched on the
  mean and the standard deviation (the mean talk time is what the load depends on).
- **transfer shares** between filières: of the legs answered in queue A, the share
  followed by a leg in queue B (a transfer A → B).
- **patience**: a caller who hung up while waiting (outcome ``abandoned``) shows their
  patience; one answered after ``w`` s (or sent to a partner after ``w`` s) only shows
  that their patience was longer than ``w``: a right-censored observation. Dropping
  those, or counting the abandons alone, keeps only the impatient callers and makes
  patience look far shorter than it is. The survival function of patience is the
  Kaplan–Meier estimate over both kinds (``scipy.stats.ecdf`` with
  ``scipy.stats.CensoredData``); its quantiles are read off it. A scenario plays it
  as ``calls.patience_quantiles_s`` (every 5 % as far as the estimate goes; callers
  more patient than the longest observation wait that long); its uniform
  ``patience_s``, for older readers, is matched on the 10 % and 90 % quantiles.
- a **surge** factor multiplies every arrival rate (``1.55``: the winter surge).

:meth:`HistoryEstimate.to_scenario` gives a :class:`~acd.tools.scenario.Scenario` for
one weekday that ``acd simulate`` can play, with each number's half-hourly arrivals
and the patience quantiles (two optional scenario keys); talk times there are uniform
ranges, the estimate itself keeps their quantiles for the planner.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt
from scipy import stats

from acd.core.records import CallRecord
from acd.tools.scenario import AgentsSpec, CallsSpec, Scenario

SLOTS = 48
SLOT_S = 1800
QUANTILES: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)
FloatArray = npt.NDArray[np.float64]
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Distribution:
    """Observed durations in seconds (``events`` of them seen to their end)."""

    observations: int
    events: int
    #: probability → seconds; NaN when the estimate never reaches it (heavy censoring)
    quantiles: dict[float, float]
    #: the mean (for censored data: the mean restricted to the longest observation)
    mean_s: float
    #: the uniform [low, high] a scenario plays in its place
    range_s: tuple[float, float]
    #: [share, seconds] points of the distribution (every 5 %, as far as the estimate
    #: goes), for a scenario's ``patience_quantiles_s``
    points: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class HistoryEstimate:
    start: date
    end: date
    #: weekday (0 = Monday) → days of that weekday with records in [start, end]
    days: dict[int, int]
    #: days in [start, end] without a single record (left out of the means)
    empty_days: tuple[date, ...]
    #: number → weekday → mean calls per half-hour (48 values, 00:00 first), unscaled
    arrivals: dict[str, dict[int, tuple[float, ...]]]
    talk: dict[str, Distribution]
    #: role → target role → share of the role's answered legs transferred there
    transfers: dict[str, dict[str, float]]
    patience: Distribution
    #: multiplies every arrival rate
    surge: float = 1.0
    records: int = 0
    notes: tuple[str, ...] = field(default=())

    def rate(self, number: str, weekday: int, slot: int) -> float:
        """Expected calls to ``number`` in half-hour ``slot`` of ``weekday``, surge
        included."""
        per_slot = self.arrivals.get(number, {}).get(weekday)
        return 0.0 if per_slot is None else per_slot[slot] * self.surge

    def scaled(self, surge: float) -> HistoryEstimate:
        if surge <= 0:
            raise ValueError("the surge factor must be positive")
        return replace(self, surge=surge)

    def to_scenario(self, weekday: int, *, site: str, day: date | None = None,
                    name: str | None = None, seed: int = 1) -> Scenario:
        """A day (00:00 → 24:00) of ``weekday`` as a scenario: calls a day per number
        and each number's half-hours (``calls.half_hourly``; ``hourly`` sums them for
        older readers), the surge as ``calls.factor``, talk ranges, transfers and
        patience as estimated; no staffing (the planner's job)."""
        per_day = {number: sum(by_day[weekday]) for number, by_day in self.arrivals.items()
                   if weekday in by_day and sum(by_day[weekday]) > 0}
        hourly = [0.0] * 24
        for number in per_day:
            for slot, mean in enumerate(self.arrivals[number][weekday]):
                hourly[slot // 2] += mean
        if not per_day:
            raise ValueError(f"no calls on a {WEEKDAYS[weekday]} in the records")
        if day is None:
            day = self.end + timedelta(days=(weekday - self.end.weekday()) % 7 or 7)
        elif day.weekday() != weekday:
            raise ValueError(f"{day} is not a {WEEKDAYS[weekday]}")
        return Scenario(
            site=site,
            name=name or f"{WEEKDAYS[weekday]} from the records {self.start} → {self.end}"
                         + (f", surge × {self.surge:g}" if self.surge != 1.0 else ""),
            start=datetime.combine(day, datetime.min.time()),
            duration_s=86_400.0,
            seed=seed,
            calls=CallsSpec(per_day=per_day, hourly=hourly, factor=self.surge,
                            half_hourly={n: list(self.arrivals[n][weekday]) for n in per_day},
                            patience_s=list(self.patience.range_s),
                            patience_quantiles_s=[list(p) for p in self.patience.points]),
            agents=AgentsSpec(talk_s={role: list(d.range_s) for role, d in self.talk.items()},
                              transfers=self.transfers),
        )

    def summary(self) -> str:
        return summary_text(self)


def estimate_history(records: Iterable[CallRecord], *, start: date | None = None,
                     end: date | None = None, surge: float = 1.0) -> HistoryEstimate:
    """The estimate from the records that arrived in [start, end] (local dates, both
    included; by default the first and last dates seen)."""
    counts: Counter[tuple[str, date, int]] = Counter()
    dates: set[date] = set()
    talk: defaultdict[str, list[float]] = defaultdict(list)
    answered_legs: Counter[str] = Counter()
    moves: Counter[tuple[str, str]] = Counter()
    events: list[float] = []
    censored: list[float] = []
    kept = 0
    for record in records:
        arrived = datetime.fromisoformat(record.arrived_at)
        if (start and arrived.date() < start) or (end and arrived.date() > end):
            continue
        kept += 1
        dates.add(arrived.date())
        counts[record.number, arrived.date(),
               (arrived.hour * 3600 + arrived.minute * 60 + arrived.second) // SLOT_S] += 1
        _legs(record, talk, answered_legs, moves)
        _patience(record, arrived, events, censored)
    if not dates:
        raise ValueError("no call record in the date range")
    first, last = start or min(dates), end or max(dates)
    span = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    days = Counter(d.weekday() for d in span if d in dates)
    arrivals: dict[str, dict[int, tuple[float, ...]]] = {}
    for number in sorted({n for n, _, _ in counts}):
        sums = [[0] * SLOTS for _ in range(7)]
        for (n, d, slot), count in counts.items():
            if n == number:
                sums[d.weekday()][slot] += count
        arrivals[number] = {wd: tuple(c / days[wd] for c in sums[wd]) for wd in sorted(days)}
    transfers: dict[str, dict[str, float]] = defaultdict(dict)
    for (src, dst), moved in sorted(moves.items()):
        transfers[src][dst] = moved / answered_legs[src]
    return HistoryEstimate(
        start=first, end=last, days=dict(sorted(days.items())),
        empty_days=tuple(d for d in span if d not in dates),
        arrivals=arrivals,
        talk={role: complete_durations(v) for role, v in sorted(talk.items())},
        transfers=dict(transfers),
        patience=censored_durations(events, censored),
        surge=surge, records=kept)


def _legs(record: CallRecord, talk: defaultdict[str, list[float]],
          answered_legs: Counter[str], moves: Counter[tuple[str, str]]) -> None:
    for i, leg in enumerate(record.legs):
        if leg.answered_at is None:
            continue
        answered_legs[leg.queue] += 1
        if leg.talk_s is not None:
            talk[leg.queue].append(leg.talk_s)
        if i + 1 < len(record.legs):
            moves[leg.queue, record.legs[i + 1].queue] += 1


def _patience(record: CallRecord, arrived: datetime, events: list[float],
              censored: list[float]) -> None:
    """Abandoned: patience seen; answered or sent to a partner after w: patience > w.
    Calls still waiting at the end of the records, and lost calls, say nothing."""
    if record.outcome == "abandoned" and record.ended_at is not None:
        events.append((datetime.fromisoformat(record.ended_at) - arrived).total_seconds())
    elif record.wait_s is not None:
        censored.append(record.wait_s)
    elif record.outcome == "overflowed" and record.overflows:
        censored.append((datetime.fromisoformat(record.overflows[0].at)
                         - arrived).total_seconds())


def complete_durations(values: Sequence[float]) -> Distribution:
    """Durations all seen to their end (talk times)."""
    data = np.asarray(values, dtype=float)
    mean, sd = float(data.mean()), float(data.std(ddof=1)) if len(data) > 1 else 0.0
    half = math.sqrt(3.0) * sd  # a uniform [m - √3 sd, m + √3 sd] has mean m, sd sd
    low, high = (mean - half, mean + half) if mean >= half else (0.0, 2.0 * mean)
    return Distribution(observations=len(data), events=len(data),
                        quantiles={p: float(np.quantile(data, p)) for p in QUANTILES},
                        mean_s=mean, range_s=(round(low, 1), round(high, 1)))


def censored_durations(events: Sequence[float], censored: Sequence[float]) -> Distribution:
    """Right-censored durations (patience): Kaplan–Meier."""
    if not events:
        raise ValueError("no abandoned call: patience cannot be estimated")
    times, surv = kaplan_meier(events, censored)
    quantiles = {p: survival_quantile(times, surv, p) for p in QUANTILES}
    # restricted mean: the area under the step function up to the longest observation
    longest = max(max(events), max(censored, default=0.0))
    edges = np.concatenate(([0.0], times, [longest]))
    levels = np.concatenate(([1.0], surv))
    mean = float(np.sum(levels * np.diff(edges)))
    q10 = quantiles[0.1]
    q90 = quantiles[0.9] if not math.isnan(quantiles[0.9]) else longest
    width = (q90 - q10) / 0.8  # a uniform [a, b] has q10 = a + 0.1 (b - a)
    low = max(0.0, q10 - 0.1 * width)
    grid = [(p, survival_quantile(times, surv, p)) for p in np.arange(1, 20) / 20]
    points = [(round(float(p), 2), round(q, 1)) for p, q in grid if not math.isnan(q)]
    reach = round(1.0 - float(surv[-1]), 3)  # the share whose patience the data shows
    if reach > (points[-1][0] if points else 0.0):
        points.append((reach, round(float(times[-1]), 1)))
    return Distribution(observations=len(events) + len(censored), events=len(events),
                        quantiles=quantiles, mean_s=mean,
                        range_s=(round(low, 1), round(min(low + width, 86_400.0), 1)),
                        points=tuple(points))


def kaplan_meier(events: Sequence[float],
                 censored: Sequence[float]) -> tuple[FloatArray, FloatArray]:
    """The Kaplan–Meier survival function (``scipy.stats.ecdf`` on censored data): the
    distinct event times and the survival just after each."""
    data = stats.CensoredData(uncensored=np.asarray(events, dtype=float),
                              right=np.asarray(censored, dtype=float))
    sf = stats.ecdf(data).sf
    return np.asarray(sf.quantiles, dtype=float), np.asarray(sf.probabilities, dtype=float)


def survival_quantile(times: FloatArray, surv: FloatArray, p: float) -> float:
    """The smallest time where the survival function is at most ``1 - p``."""
    below = np.nonzero(surv <= 1.0 - p + 1e-12)[0]
    return float(times[below[0]]) if len(below) else math.nan


def summary_text(est: HistoryEstimate) -> str:
    lines = [f"Records {est.start} → {est.end}: {est.records} calls"
             + (f", surge × {est.surge:g}" if est.surge != 1.0 else "")]
    lines.append("Days observed: " + ", ".join(
        f"{WEEKDAYS[wd][:3]} {n}" for wd, n in est.days.items()))
    if est.empty_days:
        lines.append("Days without any record (left out): "
                     + ", ".join(str(d) for d in est.empty_days))
    lines.append("Calls a day (mean, surge included):")
    for number, by_day in est.arrivals.items():
        lines.append(f"  {number}: " + ", ".join(
            f"{WEEKDAYS[wd][:3]} {sum(v) * est.surge:.0f}" for wd, v in by_day.items()))
    lines.append("Talk times (s): role  n  mean  median  p90  → range")
    for role, d in est.talk.items():
        lines.append(f"  {role}  {d.observations}  {d.mean_s:.0f}  {d.quantiles[0.5]:.0f}  "
                     f"{d.quantiles[0.9]:.0f}  → {list(d.range_s)}")
    lines.append("Transfers: " + (", ".join(
        f"{src} → {dst} {share:.1%}" for src, to in est.transfers.items()
        for dst, share in to.items()) or "none"))
    pat = est.patience
    lines.append(f"Patience (Kaplan–Meier, {pat.events} abandons, "
                 f"{pat.observations - pat.events} censored): "
                 + ", ".join(f"p{round(p * 100)} {_s(q)}" for p, q in pat.quantiles.items())
                 + f" → range {list(pat.range_s)}")
    return "\n".join(lines)


def _s(value: float) -> str:
    return "beyond the data" if math.isnan(value) else f"{value:.0f} s"


def arrivals_per_day(est: HistoryEstimate) -> Mapping[str, dict[int, float]]:
    """number → weekday → mean calls a day, surge included."""
    return {number: {wd: sum(v) * est.surge for wd, v in by_day.items()}
            for number, by_day in est.arrivals.items()}
