"""SAS hours and PDSA hours, and where each dialled number goes at a given moment.

PDSA hours follow art. R6315-1 of the public-health code, every regional option being a
setting of ``[hours]`` (:class:`acd.config.HoursConfig`):

* every day from 20:00 to ``morning_end`` (08:00) — reason ``night``;
* Sundays and public holidays, the whole day — ``Sunday``, ``holiday: <name>``;
* ``saturday`` and ``saturday_from`` (regional option, 12:00): Saturday from that time
  — ``Saturday from 12:00``; set it to the ``morning_end`` time for the local extension
  "PDSA on Saturday morning";
* ``bridge_days`` (regional option): the *ponts*, whole days — see :func:`bridge_holiday`;
* ``evening_start`` earlier than 20:00 (local extension): weekdays from that time —
  ``evening from 19:00``;
* ``extra_dates``: whole days decided locally — ``extra date``.

SAS hours are every other moment. Periods are defined on local wall-clock time in the
site's zone (``site.timezone``), so a daylight-saving night is classified by its wall
clock: the hour that does not exist in spring is simply skipped, the hour that happens
twice in autumn is PDSA both times (both changes fall inside the night).

Public holidays come from the ``holidays`` library, for the subdivision of the site's
département (``site.departement``): Alsace-Moselle adds Good Friday and 26 December,
each overseas département its day for the abolition of slavery, and so on.

Everything here is pure: the moment is passed in, the clock is never read.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import holidays

from acd.config import FRONT_OFFICE, SKILL_NAME_RE, Config, HoursConfig

Period = Literal["sas", "pdsa"]

#: The statutory start of the PDSA night (R6315-1); ``evening_start`` may only be earlier.
STATUTORY_EVENING = "20:00"
#: The statutory end of the PDSA night; ``morning_end`` may only be later.
STATUTORY_MORNING = "08:00"

#: INSEE code of the département → subdivision of the ``holidays`` library's France
#: calendar, where its public holidays differ from the national ones. Every other
#: metropolitan département keeps the 11 national days.
HOLIDAY_SUBDIVISIONS: dict[str, str] = {
    "57": "57",    # Moselle
    "67": "6AE",   # Bas-Rhin (Alsace)
    "68": "6AE",   # Haut-Rhin (Alsace)
    "971": "971",  # Guadeloupe
    "972": "972",  # Martinique
    "973": "973",  # Guyane
    "974": "974",  # La Réunion
    "975": "PM",   # Saint-Pierre-et-Miquelon
    "976": "976",  # Mayotte
    "977": "BL",   # Saint-Barthélemy
    "978": "MF",   # Saint-Martin
}

#: The local time zone of each overseas code; metropolitan France (and Corsica) is
#: Europe/Paris.
OVERSEAS_ZONES: dict[str, str] = {
    "971": "America/Guadeloupe",
    "972": "America/Martinique",
    "973": "America/Cayenne",
    "974": "Indian/Reunion",
    "975": "America/Miquelon",
    "976": "Indian/Mayotte",
    "977": "America/St_Barthelemy",
    "978": "America/Marigot",
}
METROPOLITAN_ZONE = "Europe/Paris"

_HHMM_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_METROPOLITAN_RE = re.compile(r"^(0[1-9]|1\d|[3-8]\d|9[0-5]|2[1-9]|2[AB])$")
#: an Asterisk dial string: Tech/resource, no blank or comma (it goes into Dial())
_DIAL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*/[^\s,]+$")


@dataclass(frozen=True)
class Route:
    """Where a call to ``number`` goes at ``local_time``, and why."""

    number: str
    period: Period
    #: a queue (skill) of this site, or an Asterisk dial string when ``external``
    destination: str
    #: e.g. ``SAS hours``, ``PDSA (Sunday)``, ``PDSA (holiday: Good Friday, 57)``
    reason: str
    #: the moment, in the site's zone
    local_time: datetime
    external: bool = False


def expected_zone(departement: str) -> str:
    """The IANA zone of a département: its own overseas, Europe/Paris otherwise."""
    return OVERSEAS_ZONES.get(departement, METROPOLITAN_ZONE)


def holiday_subdivision(departement: str) -> str | None:
    """The ``holidays`` subdivision for an INSEE département code (None: national days)."""
    return HOLIDAY_SUBDIVISIONS.get(departement)


@functools.lru_cache(maxsize=64)
def _calendar(subdiv: str | None, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("FR", subdiv=subdiv, years=year, language="en_US")


def public_holiday(departement: str, day: date) -> str | None:
    """The public holiday on ``day`` in this département, or None.

    The name is the library's (English); a holiday that is not national is followed by
    the département: ``Good Friday, 57``.
    """
    subdiv = holiday_subdivision(departement)
    names = _calendar(subdiv, day.year).get_list(day)
    if not names:
        return None
    name = " and ".join(names)
    if subdiv is not None and day not in _calendar(None, day.year):
        return f"{name}, {departement}"
    return name


def bridge_holiday(departement: str, day: date) -> str | None:
    """If ``day`` is a bridge day (*pont*), the text of its reason; otherwise None.

    R6315-1 names "the Monday when it precedes a public holiday, the Friday and the
    Saturday when they follow a public holiday". Read as:

    * a Monday whose Tuesday is a holiday: ``bridge day before <holiday>``;
    * a Friday whose Thursday is a holiday: ``bridge day after <holiday>``;
    * a Saturday whose Friday is a holiday, or whose Thursday is (the Saturday closing
      a Thursday–Friday bridge, as the Friday and Saturday after Ascension Day):
      ``bridge day after <holiday>``.

    A day that is itself a holiday or a Sunday is reported as such, not as a bridge.
    """
    weekday = day.weekday()
    if weekday == 0:
        name = public_holiday(departement, day + timedelta(days=1))
        return f"bridge day before {name}" if name else None
    if weekday == 4:
        name = public_holiday(departement, day - timedelta(days=1))
        return f"bridge day after {name}" if name else None
    if weekday == 5:
        name = (public_holiday(departement, day - timedelta(days=1))
                or public_holiday(departement, day - timedelta(days=2)))
        return f"bridge day after {name}" if name else None
    return None


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def local_time(config: Config, when: float | datetime) -> datetime:
    """``when`` (epoch seconds, or an aware datetime) in the site's zone."""
    zone = ZoneInfo(config.site.timezone)
    if isinstance(when, datetime):
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError("a naive datetime is ambiguous: give an offset or a zone")
        return when.astimezone(zone)
    return datetime.fromtimestamp(when, zone)


def _whole_day_cause(config: Config, day: date) -> str | None:
    hours = config.hours
    return _day_cause(config.site.departement, hours.bridge_days,
                      tuple(hours.extra_dates), day)


@functools.lru_cache(maxsize=1024)
def _day_cause(departement: str, bridge_days: bool, extra_dates: tuple[str, ...],
               day: date) -> str | None:
    """:func:`_whole_day_cause` of a site's settings, kept: every call that arrives asks
    it, and the holiday calendar is slow to read."""
    name = public_holiday(departement, day)
    if name:
        return f"holiday: {name}"
    if day.weekday() == 6:
        return "Sunday"
    if bridge_days:
        bridge = bridge_holiday(departement, day)
        if bridge:
            return bridge
    if day.isoformat() in extra_dates:
        return "extra date"
    return None


def pdsa_cause(config: Config, local: datetime) -> str | None:
    """Why the local wall-clock moment ``local`` is in PDSA hours; None in SAS hours.

    A whole PDSA day (holiday, Sunday, bridge day, extra date) gives its own reason from
    00:00 to 24:00; on other days the night (20:00 to ``morning_end``) says ``night``.
    """
    hours = config.hours
    whole_day = _whole_day_cause(config, local.date())
    if whole_day:
        return whole_day
    clock = local.time()
    if clock < _hhmm(hours.morning_end) or clock >= _hhmm(STATUTORY_EVENING):
        return "night"
    if (local.weekday() == 5 and hours.saturday and hours.saturday_from is not None
            and clock >= _hhmm(hours.saturday_from)):
        return f"Saturday from {hours.saturday_from}"
    if clock >= _hhmm(hours.evening_start):
        return f"evening from {hours.evening_start}"
    return None


def period_at(config: Config, when: float | datetime) -> tuple[Period, str]:
    """The period at ``when`` and its reason: ``("sas", "SAS hours")`` or
    ``("pdsa", "PDSA (<cause>)")``."""
    cause = pdsa_cause(config, local_time(config, when))
    return ("pdsa", f"PDSA ({cause})") if cause else ("sas", "SAS hours")


def route_number(config: Config, number: str, when: float | datetime) -> Route:
    """Where a call to ``number`` arriving at ``when`` enters.

    A number with a ``pdsa`` destination reaches its queue in SAS hours and that
    destination in PDSA hours; a number without one (15) keeps its queue around the
    clock; a number not in the plan goes to the front office (ARM_N1): never drop a call.
    """
    local = local_time(config, when)
    cause = pdsa_cause(config, local)
    period: Period = "pdsa" if cause else "sas"
    hours_text = f"PDSA hours: {cause}" if cause else "SAS hours"
    entry = config.numbers.get(number)
    if entry is None:
        front = FRONT_OFFICE
        return Route(number, period, front,
                     f"{number} is not in the number plan: sent to {front} ({hours_text})",
                     local)
    if entry.pdsa is None:
        return Route(number, period, entry.queue,
                     f"{number} always reaches {entry.queue} ({hours_text})", local)
    if cause is None:
        return Route(number, period, entry.queue, "SAS hours", local)
    return Route(number, period, entry.pdsa, f"PDSA ({cause})", local,
                 external=is_dial_string(entry.pdsa))


def is_dial_string(destination: str) -> bool:
    """True for an Asterisk dial string (``PJSIP/pdsa-trunk``), False for a queue name."""
    return "/" in destination


def _offsets(zone_name: str) -> tuple[timedelta | None, ...]:
    zone = ZoneInfo(zone_name)
    # one winter and one summer instant: tells Europe/Paris from every overseas zone
    moments = (datetime(2025, 1, 15, 12, tzinfo=UTC), datetime(2025, 7, 15, 12, tzinfo=UTC))
    return tuple(m.astimezone(zone).utcoffset() for m in moments)


def check_config(config: Config) -> list[tuple[str, str]]:
    """Problems in ``[hours]``, in the PDSA destinations of ``[numbers]`` and in the
    département / time zone pair; called by :func:`acd.config.validate`."""
    return (_check_times(config.hours) + _check_extra_dates(config.hours.extra_dates)
            + _check_pdsa_destinations(config) + _check_departement(config))


def _check_times(hours: HoursConfig) -> list[tuple[str, str]]:
    """The ``HH:MM`` settings of ``[hours]``: well formed, within R6315-1, in order."""
    problems: list[tuple[str, str]] = []
    times = {"evening_start": hours.evening_start, "morning_end": hours.morning_end}
    if hours.saturday_from is not None:
        times["saturday_from"] = hours.saturday_from
    well_formed: dict[str, str] = {}
    for key, text in times.items():
        if _HHMM_RE.match(text):
            well_formed[key] = text
        else:
            problems.append((f"hours.{key}", f"{text!r} is not a time: write \"HH:MM\" "
                             "(24-hour clock)"))
    evening, morning = well_formed.get("evening_start"), well_formed.get("morning_end")
    if evening is not None and evening > STATUTORY_EVENING:
        problems.append(("hours.evening_start", f"PDSA hours start at {STATUTORY_EVENING} "
                         "at the latest (R6315-1); a site may only start earlier"))
    if morning is not None and morning < STATUTORY_MORNING:
        problems.append(("hours.morning_end", f"PDSA hours end at {STATUTORY_MORNING} at "
                         "the earliest (R6315-1); a site may only end later"))
    if evening is not None and morning is not None and morning >= evening:
        problems.append(("hours.morning_end", "must be earlier than hours.evening_start"))
    saturday = well_formed.get("saturday_from")
    if saturday is not None and morning is not None and saturday < morning:
        problems.append(("hours.saturday_from", "must not be earlier than hours.morning_end "
                         "(set it to the morning_end time for PDSA all Saturday)"))
    return problems


def _is_iso_date(text: str) -> bool:
    if not _ISO_DATE_RE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _check_extra_dates(extra_dates: list[str]) -> list[tuple[str, str]]:
    """``hours.extra_dates``: real ``YYYY-MM-DD`` dates, each listed once."""
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, text in enumerate(extra_dates):
        if not _is_iso_date(text):
            problems.append((f"hours.extra_dates[{i}]", f"{text!r} is not a date: write "
                             "\"YYYY-MM-DD\""))
            continue
        if text in seen:
            problems.append((f"hours.extra_dates[{i}]", f"{text} is listed twice"))
        seen.add(text)
    return problems


def _check_pdsa_destinations(config: Config) -> list[tuple[str, str]]:
    """``numbers.*.pdsa``: never on 15; a well-formed dial string or a known queue."""
    problems: list[tuple[str, str]] = []
    known = set(config.skill_names())
    for number, entry in config.numbers.items():
        if entry.pdsa is None:
            continue
        problem = _pdsa_problem(number, entry.pdsa, known)
        if problem is not None:
            problems.append((f"numbers.{number}.pdsa", problem))
    return problems


def _pdsa_problem(number: str, pdsa: str, known: set[str]) -> str | None:
    if number == "15":
        return f"15 always reaches {FRONT_OFFICE}, around the clock: no PDSA destination"
    if is_dial_string(pdsa):
        if _DIAL_RE.match(pdsa):
            return None
        return (f"{pdsa!r} is not a dial string: write Tech/resource (e.g. "
                "PJSIP/pdsa-trunk), no blank or comma")
    if re.match(SKILL_NAME_RE, pdsa) and pdsa in known:
        return None
    return (f"{pdsa!r} is neither a queue of this site (known: "
            f"{', '.join(sorted(known))}) nor a dial string (e.g. PJSIP/pdsa-trunk)")


def _departement_code_problem(departement: str) -> str | None:
    """Why ``departement`` is no INSEE code of a département, or None if it is one."""
    if departement.startswith("97"):
        if departement in OVERSEAS_ZONES:
            return None
        return (f"no overseas département or collectivity has the code {departement!r} "
                f"(known: {', '.join(sorted(OVERSEAS_ZONES))})")
    if _METROPOLITAN_RE.match(departement):
        return None
    return (f"no département has the code {departement!r} "
            "(01–95 without 20, 2A, 2B, 971–978)")


def _check_departement(config: Config) -> list[tuple[str, str]]:
    """``site.departement``: a real code, known to the holidays library, and matching
    the offsets of ``site.timezone``."""
    departement = config.site.departement
    code_problem = _departement_code_problem(departement)
    if code_problem is not None:
        return [("site.departement", code_problem)]
    problems: list[tuple[str, str]] = []
    subdiv = holiday_subdivision(departement)
    if subdiv is not None and subdiv not in holidays.list_supported_countries()["FR"]:
        problems.append(("site.departement", "the installed holidays library lacks the "
                         f"subdivision {subdiv!r} of France: upgrade it"))
    expected = expected_zone(departement)
    try:
        mismatch = _offsets(config.site.timezone) != _offsets(expected)
    except (KeyError, ValueError):
        return problems  # an unknown zone is reported by validate()
    if mismatch:
        problems.append(("site.timezone", f"{config.site.timezone!r} is not the local time of "
                         f"département {departement} (expected {expected}): SAS and PDSA "
                         "hours are local time"))
    return problems
