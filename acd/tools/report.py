"""The monthly indicators of a SAS from its call records (``acd report``).

Theory of operation
-------------------
A report is computed in one pass over an iterable of :class:`CallRecord`
(:func:`build_report`), whatever the records come from: JSON-lines files today
(:func:`read_records`, the output of ``acd replay`` or ``acd simulate --json``), the
durable store later. Each record selected by the local date of its arrival is added to
three tallies of its month: its period (``sas`` or ``pdsa``) and ``all``.

The definitions are those of the live metrics and of :mod:`acd.tools.summary` (the wait runs
from the call's arrival in its first queue to its first pick-up by a person: ``wait_s``
of the record; "within 30 s" is strictly under 30 s). They are written for operators in
``docs/indicators.md``; :mod:`acd.tools.report_render` prints a report as Markdown, CSV or JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

import msgspec

from acd.config import BACK_OFFICE, FRONT_OFFICE, Config
from acd.core.indicators import leg_talk_s
from acd.core.records import CallRecord
from acd.core.tally import SHORT_ABANDON_S, Tally, duration_s, short_abandon
from acd.errors import AcdError

#: the periods of a month, in print order; "all" is the sum of the others
PERIODS: tuple[str, ...] = ("sas", "pdsa", "all")

#: role labels of the site configs (``skills.<Q>.role``) and standard queue names →
#: number of the DGOS telephony indicator (table 3) for the mean talk time of that role
DGOS_TALK_INDICATORS: dict[str, int] = {
    "ARM front office": 19, FRONT_OFFICE: 19,
    "ARM N2 AMU": 20, BACK_OFFICE: 20,
    "OSNP": 21,
    "GP regulator": 22, "MG": 22,
    "hospital regulator": 23,
}

#: SAMU-Urgences de France's target for QS 60 s
QS60_TARGET = 0.99


class RecordsError(AcdError):
    """A call-record file cannot be read, or one of its lines is not a valid record."""

    code = "records_invalid"


@dataclass(frozen=True)
class ReportSettings:
    #: the front-office queue: QS 30 s and QS 60 s count calls whose first queue it is
    front_office: str = FRONT_OFFICE
    #: an abandoned call shorter than this (arrival → end) is left out of "offered"
    short_abandon_s: float = SHORT_ABANDON_S
    #: queue → role label for the talk times; a queue not listed is its own role
    roles: dict[str, str] = field(default_factory=dict)
    qs60_target: float = QS60_TARGET
    site: str | None = None

    @classmethod
    def from_config(cls, config: Config | None,
                    front_office: str = FRONT_OFFICE) -> ReportSettings:
        if config is None:
            return cls(front_office=front_office)
        return cls(front_office=front_office,
                   short_abandon_s=config.routing.short_abandon_s,
                   roles={name: skill.role for name, skill in config.skills.items()
                          if skill.role},
                   site=config.site.name)

    def role(self, queue: str) -> str:
        return self.roles.get(queue) or queue


@dataclass
class TalkTime:
    total_s: float = 0.0
    legs: int = 0

    @property
    def mean_s(self) -> float | None:
        return self.total_s / self.legs if self.legs else None


@dataclass
class Figures:
    """The indicators of one month in one period (or in all periods)."""

    #: the calls counted (offered, answered, QS 30 s / 60 s, abandoned, lost…)
    counts: Tally = field(default_factory=Tally)
    #: role → talk time of the answered legs in that role's queues
    talk: dict[str, TalkTime] = field(default_factory=dict)
    #: (from queue, to queue) → moves between consecutive legs
    transfers: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass
class Report:
    start: date
    end: date
    settings: ReportSettings
    #: "YYYY-MM" → period ("sas", "pdsa", "all") → figures; every month of the range
    months: dict[str, dict[str, Figures]]
    #: records read, and those whose arrival falls in the range
    records_read: int = 0
    records_selected: int = 0

    def roles(self) -> list[str]:
        """Every role with a talk time anywhere in the report, sorted."""
        return sorted({r for m in self.months.values() for f in m.values() for r in f.talk})

    def transfer_pairs(self) -> list[tuple[str, str]]:
        return sorted({p for m in self.months.values() for f in m.values()
                       for p in f.transfers})

    def partners(self) -> list[str]:
        return sorted({p for m in self.months.values() for f in m.values()
                       for p in f.counts.overflowed_by_partner})

    def lost_reasons(self) -> list[str]:
        """Every lost_reason of a lost call anywhere in the report, sorted."""
        return sorted({r for m in self.months.values() for f in m.values()
                       for r in f.counts.lost_by_reason})


def month_keys(start: date, end: date) -> list[str]:
    """Every "YYYY-MM" from start's month to end's month."""
    keys = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return keys


def _arrival(record: CallRecord) -> datetime:
    try:
        return datetime.fromisoformat(record.arrived_at)
    except ValueError as exc:
        raise RecordsError(f"call {record.uniqueid}: arrived_at {record.arrived_at!r} "
                           "is not an ISO 8601 date-time") from exc


def _duration(record: CallRecord) -> float | None:
    """Arrival → end of the call, seconds; None while it has not ended (its arrival
    already checked by :func:`_arrival`)."""
    try:
        return duration_s(record)
    except ValueError as exc:
        raise RecordsError(f"call {record.uniqueid}: ended_at {record.ended_at!r} "
                           "is not an ISO 8601 date-time") from exc


def _add(figures: Figures, record: CallRecord, settings: ReportSettings,
         short: bool) -> None:
    figures.counts.add(record, front_office=settings.front_office, short=short)
    for leg in record.legs:
        talk_s = leg_talk_s(leg)
        if talk_s is not None:
            talk = figures.talk.setdefault(settings.role(leg.queue), TalkTime())
            talk.total_s += talk_s
            talk.legs += 1
    for before, after in zip(record.legs, record.legs[1:], strict=False):
        if before.queue != after.queue:
            pair = (before.queue, after.queue)
            figures.transfers[pair] = figures.transfers.get(pair, 0) + 1


def build_report(records: Iterable[CallRecord], start: date, end: date,
                 settings: ReportSettings | None = None) -> Report:
    """The indicators of the calls that arrived from ``start`` to ``end`` (local dates,
    inclusive), per month and period."""
    settings = settings or ReportSettings()
    report = Report(start=start, end=end, settings=settings,
                    months={m: {p: Figures() for p in PERIODS}
                            for m in month_keys(start, end)})
    for record in records:
        report.records_read += 1
        arrived = _arrival(record).date()
        if not start <= arrived <= end:
            continue
        report.records_selected += 1
        short = short_abandon(record, settings.short_abandon_s, _duration)
        month = report.months[arrived.strftime("%Y-%m")]
        _add(month["all"], record, settings, short)
        if record.period != "all":
            _add(month.setdefault(record.period, Figures()), record, settings, short)
    return report


_decoder = msgspec.json.Decoder(CallRecord)
_any = msgspec.json.Decoder()


def _is_call_record(line: bytes) -> bool:
    """Whether a line that did not decode as a record was meant to be one: a JSON object
    with a ``uniqueid`` key (anything else that is JSON, like the ``{"summary": …}``
    line of ``acd simulate --json``, is not a call record)."""
    try:
        value = _any.decode(line)
    except msgspec.DecodeError:
        return True
    return not isinstance(value, dict) or "uniqueid" in value


def iter_lines(stream: BinaryIO, name: str) -> Iterator[CallRecord]:
    """The call records of one JSON-lines stream; other JSON objects and blank lines are
    skipped, anything else raises :class:`RecordsError` naming the line."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            record = _decoder.decode(line)
        except msgspec.DecodeError as exc:
            if _is_call_record(line):
                raise RecordsError(f"{name}:{number}: not a call record: {exc}") from exc
            continue
        try:
            datetime.fromisoformat(record.arrived_at)
        except ValueError as exc:
            raise RecordsError(f"{name}:{number}: not a call record: arrived_at "
                               f"{record.arrived_at!r} is not an ISO 8601 date-time") from exc
        yield record


def read_records(paths: Iterable[str | Path], stdin: BinaryIO | None = None,
                 ) -> Iterator[CallRecord]:
    """The call records of JSON-lines files, in order; ``-`` is ``stdin``."""
    for path in paths:
        if str(path) == "-" and stdin is not None:
            yield from iter_lines(stdin, "<stdin>")
            continue
        try:
            with open(path, "rb") as stream:
                yield from iter_lines(stream, str(path))
        except OSError as exc:
            raise RecordsError(f"{path}: cannot read file: {exc.strerror}") from exc


def parse_date(text: str) -> date:
    """A YYYY-MM-DD date (``--from``, ``--to``)."""
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"not a date YYYY-MM-DD: {text!r}") from exc
