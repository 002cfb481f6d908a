"""A site's traffic estimated from its own call records, for ``acd plan``.

From :class:`~acd.core.records.CallRecord` over a date range (the JSON lines of
``acd replay`` / ``acd run --records-out``, or the Redis records stream):

- **arrivals** per dialled number, weekday and half-hour (local time of the record):
  the weekday's calls a day spread on its half-hourly shape, the shape pooled over the
  weekdays whose records do not show it to differ (:mod:`acd.tools.plan.arrivals`),
  each figure with its standard error; :meth:`HistoryEstimate.bounded` gives the
  estimate with every figure at its one-sided upper bound. Every record is an
  arrival, a caller who hung up during the announcement too (a
  record with ``in_announcement``, from a dialplan that sends the arrival event: older
  records miss those callers).
  A day with no record at all is a records outage (a SAS never has a day without a
  call), not a quiet day: it is left out of the mean and listed in ``empty_days``;
  counting it as zero would under-staff. A half-hour without calls on a day that has
  records counts as zero.
- **talk times** per queue (the filière of the leg) and per (queue, role of the agent
  who answered it: ``"ARM_N1/AMU_N2"``, an AMU regulator backing the front office
  up): the answered legs' talk, up to the transfer the agent asked for when it asked
  for one (a warm transfer's consultation is the model's to play, not the caller's
  need); their quantiles, and the uniform range a scenario plays, matched on the mean
  and the standard deviation (the mean talk time is what the load depends on). The
  role is the leg's ``role`` (the agent's primary skill when it answered), else the
  agent's primary skill in the site's configuration, else the leg's queue.
- **transfer shares** between filières: of the legs answered in queue A by A's own
  role (a backup hands nobody on), the share whose agent asked for a transfer to B
  (the record's ``transfers``: every request, connected, cancelled or left by the
  caller). Records without ``transfers`` (older routers) give the share of those legs
  followed by a leg in B: the connected transfers only.
- **patience** (:mod:`acd.tools.plan.patience`): a caller who hung up while waiting
  (outcome ``abandoned``) shows their patience; one answered after ``w`` s (or sent to
  a partner or the PDSA line after ``w`` s) only shows that it was longer than ``w``:
  a right-censored observation. A caller who hung up during the announcement never
  reached the queue: an abandon at 0 s of wait (patience runs from joining the queue,
  as the wait does), in Kaplan–Meier, not in the tail's fit. Kaplan–Meier over all of
  them as far as the records show it (``observed_until_s``), a parametric tail fitted
  by maximum likelihood beyond. A scenario plays it as
  ``calls.patience_quantiles_s`` (every 5 % as far as Kaplan–Meier is read) and
  ``calls.patience_tail``; its uniform ``patience_s``, for older readers, is matched
  on the 10 % and 90 % quantiles.
- a **surge** factor multiplies every arrival rate (``1.55``: the winter surge).

:meth:`HistoryEstimate.to_scenario` gives a :class:`~acd.tools.simulate.scenario.Scenario` for
one weekday that ``acd simulate`` can play, with each number's half-hourly arrivals,
the patience quantiles and tail (optional scenario keys), talk times per queue and per
"QUEUE/ROLE" as uniform ranges (the estimate itself keeps their quantiles).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from acd.core.model import Outcome
from acd.core.records import CallRecord, LegRecord, TransferRecord
from acd.tools.plan.arrivals import UPPER_Z, estimate_arrivals, upper
from acd.tools.plan.patience import Tail, estimate_patience
from acd.tools.simulate.scenario import AgentsSpec, CallsSpec, PatienceTail, Scenario

SLOT_S = 1800
QUANTILES: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)
FloatArray = npt.NDArray[np.float64]
#: a (queue, role) needs this many legs for a talk range of its own in the scenario
MIN_ROLE_LEGS = 30
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
    #: censored data: where the records stop showing it (Kaplan–Meier is read up to
    #: here), and the parametric tail fitted beyond
    observed_until_s: float | None = None
    tail: Tail | None = None


@dataclass(frozen=True)
class HistoryEstimate:
    start: date
    end: date
    #: weekday (0 = Monday) → days of that weekday with records in [start, end]
    days: dict[int, int]
    #: days in [start, end] without a single record (left out of the means)
    empty_days: tuple[date, ...]
    #: number → weekday → expected calls per half-hour (48 values, 00:00 first),
    #: unscaled (at their upper bound once :meth:`bounded`)
    arrivals: dict[str, dict[int, tuple[float, ...]]]
    #: queue → talk times of the legs answered there, whoever answered them
    talk: dict[str, Distribution]
    #: queue → target → share of the legs answered there by the queue's own role whose
    #: agent asked for a transfer to the target (from the legs: see ``transfers_seen``)
    transfers: dict[str, dict[str, float]]
    patience: Distribution
    #: "QUEUE/ROLE" → talk times of the legs of QUEUE answered by agents of ROLE
    talk_by_role: dict[str, Distribution] = field(default_factory=dict)
    #: queue → legs answered there by its own role (the transfer shares' denominator)
    own_legs: dict[str, int] = field(default_factory=dict)
    #: "attempts" (the records' ``transfers``) or "legs" (records without them: the
    #: transfers that connected)
    transfers_seen: str = "attempts"
    #: multiplies every arrival rate
    surge: float = 1.0
    records: int = 0
    notes: tuple[str, ...] = field(default=())
    #: of the records, callers who hung up during the announcement (``in_announcement``:
    #: in the arrivals and, as abandons at 0 s of wait, in the patience)
    in_announcement: int = 0
    #: number → weekday → the standard error of each of ``arrivals``' figures
    arrivals_se: dict[str, dict[int, tuple[float, ...]]] = field(default_factory=dict)
    #: number → weekday → the weekdays its half-hourly shape is read from
    shape_from: dict[str, dict[int, tuple[int, ...]]] = field(default_factory=dict)
    #: ``arrivals`` before :meth:`bounded` (empty while they are the estimate itself)
    arrivals_mean: dict[str, dict[int, tuple[float, ...]]] = field(default_factory=dict)
    #: the ``z`` of the one-sided bound ``arrivals`` stand at (None: the estimate)
    bound_z: float | None = None

    def rate(self, number: str, weekday: int, slot: int) -> float:
        """Expected calls to ``number`` in half-hour ``slot`` of ``weekday``, surge
        included."""
        per_slot = self.arrivals.get(number, {}).get(weekday)
        return 0.0 if per_slot is None else per_slot[slot] * self.surge

    def estimated_arrivals(self) -> dict[str, dict[int, tuple[float, ...]]]:
        """The arrivals as estimated, whether or not :meth:`bounded` raised them."""
        return self.arrivals_mean or self.arrivals

    def bounded(self, z: float = UPPER_Z) -> HistoryEstimate:
        """The estimate with each arrival figure at ``mean + z·se``: a plan sized for
        it holds where the records underestimate the traffic by chance (90 % one-sided
        for the default ``z``)."""
        if self.bound_z is not None:
            raise ValueError("the arrivals are already at a bound")
        raised = {number: {wd: upper(means, self.arrivals_se[number][wd], z)
                           for wd, means in by_day.items()}
                  for number, by_day in self.arrivals.items()}
        return replace(self, arrivals=raised, arrivals_mean=self.arrivals, bound_z=z)

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
                            patience_quantiles_s=[list(p) for p in self.patience.points],
                            patience_tail=_tail_spec(self.patience.tail)),
            agents=AgentsSpec(talk_s=self.talk_ranges(), transfers=self.transfers),
        )

    def talk_ranges(self) -> dict[str, list[float]]:
        """A scenario's ``talk_s``: per queue, its own role's legs (all its legs when
        its own role answered none); per "QUEUE/ROLE", another role's legs when there
        are :data:`MIN_ROLE_LEGS` of them (fewer: they talk as the queue's own)."""
        ranges = {queue: list(self.talk_by_role.get(f"{queue}/{queue}", d).range_s)
                  for queue, d in self.talk.items()}
        for key, d in self.talk_by_role.items():
            queue, role = key.split("/", 1)
            if role != queue and d.observations >= MIN_ROLE_LEGS:
                ranges[key] = list(d.range_s)
        return ranges

    def summary(self) -> str:
        return summary_text(self)


def estimate_history(records: Iterable[CallRecord], *, start: date | None = None,
                     end: date | None = None, surge: float = 1.0,
                     roles: Mapping[str, str] | None = None) -> HistoryEstimate:
    """The estimate from the records that arrived in [start, end] (local dates, both
    included; by default the first and last dates seen). ``roles``: agent id → its
    primary skill (the site's configuration), for legs that do not carry their role."""
    seen = _Reading(roles or {})
    for record in records:
        arrived = datetime.fromisoformat(record.arrived_at)
        if _within(arrived.date(), start, end):
            seen.add(record, arrived)
    if not seen.dates:
        raise ValueError("no call record in the date range")
    first, last = start or min(seen.dates), end or max(seen.dates)
    span = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    days = Counter(d.weekday() for d in span if d in seen.dates)
    legs = seen.legs
    arrivals = estimate_arrivals(seen.counts, days)
    return HistoryEstimate(
        start=first, end=last, days=dict(sorted(days.items())),
        empty_days=tuple(d for d in span if d not in seen.dates),
        arrivals={number: a.mean for number, a in arrivals.items()},
        arrivals_se={number: a.se for number, a in arrivals.items()},
        shape_from={number: a.shape_from for number, a in arrivals.items()},
        talk={queue: complete_durations(v) for queue, v in sorted(legs.talk.items())},
        transfers=legs.shares(),
        patience=censored_durations(seen.events, seen.censored, seen.early),
        talk_by_role={key: complete_durations(v)
                      for key, v in sorted(legs.talk_by_role.items())},
        own_legs=dict(sorted(legs.own.items())),
        transfers_seen="attempts" if legs.attempts_seen else "legs",
        surge=surge, records=seen.kept, in_announcement=seen.early)


def _within(day: date, start: date | None, end: date | None) -> bool:
    """``day`` in [start, end], an open bound letting every day through."""
    return (start is None or day >= start) and (end is None or day <= end)


class _Reading:
    """The records of the range, read one by one into what the estimate needs: calls
    per (number, date, half-hour), the dates seen, the legs, the patience's
    observations."""

    def __init__(self, roles: Mapping[str, str]) -> None:
        self.counts: Counter[tuple[str, date, int]] = Counter()
        self.dates: set[date] = set()
        self.legs = _Legs(roles)
        #: patience seen to its end (abandons in the queue), and censored (> w)
        self.events: list[float] = []
        self.censored: list[float] = []
        self.kept = 0
        #: abandons during the announcement: at 0 s of wait
        self.early = 0

    def add(self, record: CallRecord, arrived: datetime) -> None:
        self.kept += 1
        self.dates.add(arrived.date())
        seconds = arrived.hour * 3600 + arrived.minute * 60 + arrived.second
        self.counts[record.number, arrived.date(), seconds // SLOT_S] += 1
        self.legs.add(record)
        if record.in_announcement and record.outcome == Outcome.ABANDONED:
            self.early += 1  # an abandon before the queue: at 0 s of wait
        else:
            _patience(record, arrived, self.events, self.censored)


class _Legs:
    """Talk times and transfers, leg by leg."""

    def __init__(self, roles: Mapping[str, str]) -> None:
        self.roles = roles
        self.talk: defaultdict[str, list[float]] = defaultdict(list)
        self.talk_by_role: defaultdict[str, list[float]] = defaultdict(list)
        #: queue → legs answered there by its own role
        self.own: Counter[str] = Counter()
        #: (from, to) → own-role legs whose agent asked for a transfer there
        self.asked: Counter[tuple[str, str]] = Counter()
        #: (from, to) → own-role legs followed by a leg in ``to`` (records without
        #: attempts)
        self.moves: Counter[tuple[str, str]] = Counter()
        self.attempts_seen = False

    def role(self, leg: LegRecord) -> str:
        return leg.role or self.roles.get(leg.agent or "") or leg.queue

    def add(self, record: CallRecord) -> None:
        self.attempts_seen = self.attempts_seen or bool(record.transfers)
        for i, leg in enumerate(record.legs):
            if leg.answered_at is None:
                continue
            role = self.role(leg)
            asked = _asked_during(leg, record.transfers)
            talk = leg.talk_s
            if asked:  # the conversation up to the request (then the consultation)
                talk = (datetime.fromisoformat(asked[0].at)
                        - datetime.fromisoformat(leg.answered_at)).total_seconds()
            if talk is not None:
                self.talk[leg.queue].append(talk)
                self.talk_by_role[f"{leg.queue}/{role}"].append(talk)
            if role != leg.queue:
                continue  # a backup: not in the transfer shares
            self.own[leg.queue] += 1
            for target in sorted({t.to for t in asked if t.to != leg.queue}):
                self.asked[leg.queue, target] += 1
            if i + 1 < len(record.legs) and record.legs[i + 1].queue != leg.queue:
                self.moves[leg.queue, record.legs[i + 1].queue] += 1

    def shares(self) -> dict[str, dict[str, float]]:
        counted = self.asked if self.attempts_seen else self.moves
        out: dict[str, dict[str, float]] = defaultdict(dict)
        for (src, dst), n in sorted(counted.items()):
            out[src][dst] = n / self.own[src]
        return dict(out)


def _asked_during(leg: LegRecord, transfers: Sequence[TransferRecord]) -> list[TransferRecord]:
    """The transfers the leg's agent asked for while talking on this leg."""
    if leg.answered_at is None or not transfers:
        return []
    answered = datetime.fromisoformat(leg.answered_at)
    ended = datetime.fromisoformat(leg.ended_at) if leg.ended_at else None
    return [t for t in transfers
            if t.agent == leg.agent and t.from_ == leg.queue
            and answered <= datetime.fromisoformat(t.at)
            and (ended is None or datetime.fromisoformat(t.at) <= ended)]


def _patience(record: CallRecord, arrived: datetime, events: list[float],
              censored: list[float]) -> None:
    """Abandoned in the queue: patience seen; answered, sent to a partner or forwarded
    after w: patience > w. Calls still waiting at the end of the records, and lost
    calls (in the announcement too), say nothing."""
    if record.outcome == Outcome.ABANDONED and record.ended_at is not None:
        events.append((datetime.fromisoformat(record.ended_at) - arrived).total_seconds())
    elif record.wait_s is not None:
        censored.append(record.wait_s)
    elif record.outcome in (Outcome.OVERFLOWED, Outcome.FORWARDED) and record.overflows:
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


def censored_durations(events: Sequence[float], censored: Sequence[float],
                       before_queue: int = 0) -> Distribution:
    """Right-censored durations (patience): Kaplan–Meier, then the fitted tail
    (:func:`acd.tools.plan.patience.estimate_patience`); ``before_queue`` callers hung
    up before the queue (at 0 s)."""
    est = estimate_patience(events, censored, before_queue)
    quantiles = {p: est.quantile(p) for p in QUANTILES}
    q10, q90 = quantiles[0.1], quantiles[0.9]
    width = (q90 - q10) / 0.8  # a uniform [a, b] has q10 = a + 0.1 (b - a)
    low = max(0.0, q10 - 0.1 * width)
    return Distribution(observations=est.events + est.censored, events=est.events,
                        quantiles=quantiles, mean_s=est.mean(),
                        range_s=(round(low, 1), round(min(low + width, 86_400.0), 1)),
                        points=tuple(est.points()),
                        observed_until_s=round(est.observed_until_s, 1), tail=est.tail)


def _tail_spec(tail: Tail | None) -> PatienceTail | None:
    if tail is None:
        return None
    return PatienceTail(family=tail.family, shape=round(tail.shape, 4),
                        scale_s=round(tail.scale_s, 1))


def summary_text(est: HistoryEstimate) -> str:
    lines = [f"Records {est.start} → {est.end}: {est.records} calls"
             + (f", surge × {est.surge:g}" if est.surge != 1.0 else "")]
    lines.append("Days observed: " + ", ".join(
        f"{WEEKDAYS[wd][:3]} {n}" for wd, n in est.days.items()))
    if est.empty_days:
        lines.append("Days without any record (left out): "
                     + ", ".join(str(d) for d in est.empty_days))
    lines += _arrival_lines(est)
    lines.append("Talk times (s): queue/role of the agent  n  mean  median  p90  → range")
    for key, d in est.talk_by_role.items():
        lines.append(f"  {key}  {d.observations}  {d.mean_s:.0f}  {d.quantiles[0.5]:.0f}  "
                     f"{d.quantiles[0.9]:.0f}  → {list(d.range_s)}")
    seen = "asked for" if est.transfers_seen == "attempts" else \
        "connected (the records keep no transfer requests)"
    lines.append(f"Transfers {seen}, of the calls each filière's own role answered: "
                 + (", ".join(f"{src} → {dst} {share:.1%}" for src, to in est.transfers.items()
                              for dst, share in to.items()) or "none"))
    lines += _patience_lines(est)
    return "\n".join(lines)


def _arrival_lines(est: HistoryEstimate) -> list[str]:
    """Calls a day per number and weekday, where each half-hourly shape was read, and
    the bound planned for."""
    lines = ["Calls a day (mean, surge included):"]
    for number, by_day in est.estimated_arrivals().items():
        lines.append(f"  {number}: " + ", ".join(
            f"{WEEKDAYS[wd][:3]} {sum(v) * est.surge:.0f}" for wd, v in by_day.items()))
    for number, groups in est.shape_from.items():
        pooled = sorted({w for group in groups.values() if len(group) > 1 for w in group})
        own = [wd for wd, group in groups.items() if len(group) == 1]
        where = ", ".join(WEEKDAYS[w][:3] for w in pooled) + " together" if pooled \
            else "each weekday alone"
        if pooled and own:
            where += "; its own for " + ", ".join(WEEKDAYS[w][:3] for w in own)
        lines.append(f"  {number}: half-hourly shape read from {where}")
    if est.bound_z is not None:
        lines.append(f"  planned at each half-hour's upper bound (mean + {est.bound_z:.2f} "
                     "standard errors)")
    return lines


def _patience_lines(est: HistoryEstimate) -> list[str]:
    pat = est.patience
    early = f" ({est.in_announcement} during the announcement)" \
        if est.in_announcement else ""
    lines = [f"Patience (Kaplan–Meier, {pat.events} abandons{early}, "
             f"{pat.observations - pat.events} censored): "
             + ", ".join(f"p{round(p * 100)} {_s(q)}" for p, q in pat.quantiles.items())
             + f" → range {list(pat.range_s)}"]
    tail = pat.tail
    if tail is not None:
        lines.append(f"  the records show it up to {pat.observed_until_s:g} s; beyond, the "
                     f"{tail.family} tail fitted to them (shape {tail.shape:.2f}, "
                     f"scale {tail.scale_s:.0f} s)")
    return lines


def _s(value: float) -> str:
    return "beyond the data" if math.isnan(value) else f"{value:.0f} s"
