"""SAS hours, PDSA hours (art. R6315-1 and its regional options) and the number plan.

Dates used below (2026 unless said): Good Friday 3 April, Easter Monday 6 April,
Labour Day Friday 1 May, Ascension Thursday 14 May, National Day Tuesday 14 July;
the clocks change on Sunday 29 March and Sunday 25 October in Europe/Paris.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd.config import Config, HoursConfig, NumberConfig, SiteConfig
from acd.config.load import load_config, parse_config
from acd.core.hours import (
    HOLIDAY_SUBDIVISIONS,
    OVERSEAS_ZONES,
    bridge_holiday,
    expected_zone,
    holiday_subdivision,
    local_time,
    pdsa_cause,
    period_at,
    public_holiday,
    route_number,
)
from acd.errors import ConfigError
from tests.support.paths import REPO

CONFIG_DIR = REPO / "config"

NUMBERS = {
    "15": NumberConfig(queue="ARM_N1", label="15"),
    "116117": NumberConfig(queue="ARM_N1", pdsa="PJSIP/pdsa-trunk"),
    "0320334455": NumberConfig(queue="ARM_N1", pdsa="MG"),
    "0800": NumberConfig(queue="OSNP"),
}


def site(departement: str = "59", timezone: str | None = None, **hours: Any) -> Config:
    zone = timezone or expected_zone(departement)
    return Config(site=SiteConfig(name="t", departement=departement, timezone=zone),
                  numbers=NUMBERS, hours=HoursConfig(**hours))


def at(text: str, config: Config) -> datetime:
    """A local wall-clock time of the site (first occurrence if it happens twice)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(config.site.timezone))


def period(config: Config, text: str) -> tuple[str, str]:
    return period_at(config, at(text, config))


SAS = ("sas", "SAS hours")


# --- the weekday: night 20:00–08:00 ----------------------------------------------------


@pytest.mark.parametrize(
    ("clock", "expected"),
    [
        ("00:00", ("pdsa", "PDSA (night)")),
        ("07:59", ("pdsa", "PDSA (night)")),
        ("08:00", SAS),
        ("12:00", SAS),
        ("19:59", SAS),
        ("20:00", ("pdsa", "PDSA (night)")),
        ("23:59", ("pdsa", "PDSA (night)")),
    ],
)
def test_weekday_boundaries(clock: str, expected: tuple[str, str]) -> None:
    assert period(site(), f"2026-04-07T{clock}") == expected  # a Tuesday


def test_seconds_before_a_boundary_are_still_on_the_other_side() -> None:
    assert period(site(), "2026-04-07T07:59:59.999")[0] == "pdsa"
    assert period(site(), "2026-04-07T19:59:59")[0] == "sas"


def test_morning_end_later_than_eight() -> None:
    config = site(morning_end="08:30")
    assert period(config, "2026-04-07T08:15") == ("pdsa", "PDSA (night)")
    assert period(config, "2026-04-07T08:30") == SAS


@pytest.mark.parametrize(
    ("clock", "expected"),
    [
        ("18:59", SAS),
        ("19:00", ("pdsa", "PDSA (evening from 19:00)")),
        ("19:59", ("pdsa", "PDSA (evening from 19:00)")),
        ("20:00", ("pdsa", "PDSA (night)")),
    ],
)
def test_earlier_evening_start(clock: str, expected: tuple[str, str]) -> None:
    assert period(site(evening_start="19:00"), f"2026-04-08T{clock}") == expected


# --- Saturday ------------------------------------------------------------------------


def test_saturday_from_noon_when_the_option_is_on() -> None:
    config = site()  # the default: saturday from 12:00
    assert period(config, "2026-04-11T07:59") == ("pdsa", "PDSA (night)")
    assert period(config, "2026-04-11T08:00") == SAS
    assert period(config, "2026-04-11T11:59") == SAS
    assert period(config, "2026-04-11T12:00") == ("pdsa", "PDSA (Saturday from 12:00)")
    assert period(config, "2026-04-11T19:59") == ("pdsa", "PDSA (Saturday from 12:00)")
    assert period(config, "2026-04-11T20:00") == ("pdsa", "PDSA (night)")


@pytest.mark.parametrize("off", [{"saturday": False}, {"saturday_from": None}])
def test_saturday_is_a_sas_day_when_the_option_is_off(off: dict[str, Any]) -> None:
    config = site(**off)
    assert period(config, "2026-04-11T11:59") == SAS
    assert period(config, "2026-04-11T12:00") == SAS
    assert period(config, "2026-04-11T19:59") == SAS
    assert period(config, "2026-04-11T20:00") == ("pdsa", "PDSA (night)")


def test_saturday_morning_extension() -> None:
    config = site(saturday_from="08:00")
    assert period(config, "2026-04-11T08:00") == ("pdsa", "PDSA (Saturday from 08:00)")
    assert period(config, "2026-04-10T08:00") == SAS  # Friday unchanged


# --- Sundays and public holidays -------------------------------------------------------


@pytest.mark.parametrize("clock", ["00:30", "08:00", "12:00", "19:59", "22:00"])
def test_sunday_is_pdsa_all_day(clock: str) -> None:
    assert period(site(), f"2026-04-12T{clock}") == ("pdsa", "PDSA (Sunday)")


@pytest.mark.parametrize(
    ("day", "name"),
    [("2026-07-14", "National Day"), ("2026-05-01", "Labor Day"),
     ("2026-05-14", "Ascension Day"), ("2026-04-06", "Easter Monday")],
)
def test_national_holidays_everywhere(day: str, name: str) -> None:
    for departement in ("59", "75", "57", "974"):
        config = site(departement)
        assert period(config, f"{day}T10:00") == ("pdsa", f"PDSA (holiday: {name})")


def test_good_friday_is_a_holiday_in_moselle_only() -> None:
    assert period(site("57"), "2026-04-03T10:00") == ("pdsa", "PDSA (holiday: Good Friday, 57)")
    assert period(site("75"), "2026-04-03T10:00") == SAS
    assert period(site("75"), "2026-04-03T20:00") == ("pdsa", "PDSA (night)")


@pytest.mark.parametrize("departement", ["57", "67", "68"])
def test_26_december_in_alsace_moselle(departement: str) -> None:
    # 26 December 2025 is a Friday
    assert period(site(departement), "2025-12-26T10:00") == (
        "pdsa", f"PDSA (holiday: Saint Stephen's Day, {departement})")
    assert period(site("59"), "2025-12-26T10:00") == SAS


def test_abolition_of_slavery_in_la_reunion_in_its_own_time() -> None:
    reunion = site("974")
    assert reunion.site.timezone == "Indian/Reunion"
    # Monday 20 December 2027, 14:00 in Saint-Denis = 10:00 UTC = 11:00 in Paris
    moment = datetime(2027, 12, 20, 10, 0, tzinfo=UTC).timestamp()
    assert period_at(reunion, moment) == ("pdsa", "PDSA (holiday: Abolition of Slavery, 974)")
    assert local_time(reunion, moment).isoformat() == "2027-12-20T14:00:00+04:00"
    assert period_at(site("59"), moment) == SAS
    # the next evening: 20:30 in La Réunion is 17:30 in Paris
    evening = datetime(2027, 12, 21, 16, 30, tzinfo=UTC).timestamp()
    assert period_at(reunion, evening) == ("pdsa", "PDSA (night)")
    assert period_at(site("59"), evening) == SAS


def test_abolition_of_slavery_in_martinique() -> None:
    martinique = site("972")
    assert martinique.site.timezone == "America/Martinique"
    assert period(martinique, "2026-05-22T10:00") == (
        "pdsa", "PDSA (holiday: Abolition of Slavery, 972)")
    assert period(site("974"), "2026-05-22T10:00") == SAS
    assert period(site("59"), "2026-05-22T10:00") == SAS


def test_holidays_come_from_the_library_for_each_subdivision() -> None:
    assert holiday_subdivision("57") == "57"
    assert holiday_subdivision("67") == holiday_subdivision("68") == "6AE"
    assert holiday_subdivision("59") is None
    assert holiday_subdivision("2A") is None
    assert set(OVERSEAS_ZONES) <= set(HOLIDAY_SUBDIVISIONS)
    assert public_holiday("973", date(2026, 6, 10)) == "Abolition of Slavery, 973"
    assert public_holiday("976", date(2026, 4, 27)) == "Abolition of Slavery, 976"
    assert public_holiday("59", date(2026, 6, 10)) is None
    assert public_holiday("59", date(2026, 12, 25)) == "Christmas Day"


# --- bridge days -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("departement", "day", "reason"),
    [
        ("59", "2026-05-15", "bridge day after Ascension Day"),   # Friday after Thursday
        ("59", "2026-05-16", "bridge day after Ascension Day"),   # and its Saturday
        ("59", "2026-05-02", "bridge day after Labor Day"),       # Saturday after Friday
        ("59", "2026-07-13", "bridge day before National Day"),   # Monday before Tuesday
        ("59", "2026-01-02", "bridge day after New Year's Day"),  # Friday after Thursday
        ("59", "2026-05-09", "bridge day after Victory Day"),     # Saturday after Friday
        ("57", "2026-04-04", "bridge day after Good Friday, 57"),
    ],
)
def test_bridge_days_when_the_option_is_on(departement: str, day: str, reason: str) -> None:
    on = site(departement, bridge_days=True)
    assert period(on, f"{day}T10:00") == ("pdsa", f"PDSA ({reason})")
    off = site(departement)
    assert period(off, f"{day}T10:00") == SAS
    assert bridge_holiday(departement, date.fromisoformat(day)) == reason


@pytest.mark.parametrize(
    ("departement", "day"),
    [
        ("59", "2026-05-11"),  # Monday of Ascension week: the holiday is Thursday
        ("59", "2026-05-13"),  # Wednesday before Ascension
        ("59", "2026-11-10"),  # Tuesday before Wednesday 11 November
        ("59", "2026-11-12"),  # Thursday after it
        ("75", "2026-04-04"),  # Saturday after Good Friday, which is no holiday in 75
        ("59", "2026-05-23"),  # Saturday of Pentecost weekend: the holiday is Monday
    ],
)
def test_no_bridge_day(departement: str, day: str) -> None:
    config = site(departement, bridge_days=True, saturday=False)
    assert period(config, f"{day}T10:00") == SAS
    assert bridge_holiday(departement, date.fromisoformat(day)) is None


def test_a_holiday_on_a_bridge_position_is_reported_as_the_holiday() -> None:
    # Easter Monday 2026 is the Monday before no holiday, and a holiday itself
    config = site(bridge_days=True)
    assert period(config, "2026-04-06T10:00") == ("pdsa", "PDSA (holiday: Easter Monday)")


# --- extra dates -----------------------------------------------------------------------


def test_extra_dates_are_whole_pdsa_days() -> None:
    config = site(extra_dates=["2026-12-24"])
    assert period(config, "2026-12-24T08:00") == ("pdsa", "PDSA (extra date)")
    assert period(config, "2026-12-24T14:00") == ("pdsa", "PDSA (extra date)")
    assert period(config, "2026-12-23T14:00") == SAS
    assert period(config, "2026-12-28T14:00") == SAS


# --- daylight-saving nights ----------------------------------------------------------


def _walk(config: Config, start_utc: datetime, hours: int) -> list[tuple[datetime, str, str]]:
    out: list[tuple[datetime, str, str]] = []
    for minute in range(hours * 60 + 1):
        moment = start_utc + timedelta(minutes=minute)
        p, reason = period_at(config, moment.timestamp())
        out.append((local_time(config, moment.timestamp()), p, reason))
    return out


def _changes(walk: list[tuple[datetime, str, str]]) -> list[tuple[str, str]]:
    return [(now.strftime("%a %H:%M"), p) for (_, before, _), (now, p, _)
            in itertools.pairwise(walk) if p != before]


def test_spring_forward_night_is_continuous() -> None:
    config = site(saturday=False)
    # Saturday 28 March 10:00 to Monday 30 March 10:00, Paris time (47 hours of clock)
    walk = _walk(config, datetime(2026, 3, 28, 9, 0, tzinfo=UTC), 47)
    assert {p for _, p, _ in walk} == {"sas", "pdsa"}
    assert _changes(walk) == [("Sat 20:00", "pdsa"), ("Mon 08:00", "sas")]
    # 01:59 is followed by 03:00: the hour skipped is not missing from the walk
    clocks = [t.strftime("%d %H:%M") for t, _, _ in walk]
    assert clocks[clocks.index("29 01:59") + 1] == "29 03:00"
    assert "29 02:30" not in clocks
    assert period(config, "2026-03-29T01:59") == ("pdsa", "PDSA (Sunday)")
    assert period(config, "2026-03-29T03:00") == ("pdsa", "PDSA (Sunday)")


def test_fall_back_night_repeats_an_hour_in_pdsa() -> None:
    config = site()
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC).timestamp()   # 02:30 +02:00
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC).timestamp()  # 02:30 +01:00
    assert local_time(config, first).isoformat() == "2026-10-25T02:30:00+02:00"
    assert local_time(config, second).isoformat() == "2026-10-25T02:30:00+01:00"
    assert period_at(config, first)[0] == period_at(config, second)[0] == "pdsa"
    # Saturday 24 October 10:00 to Monday 26 October 10:00: 49 hours of real time
    walk = _walk(config, datetime(2026, 10, 24, 8, 0, tzinfo=UTC), 49)
    assert _changes(walk) == [("Sat 12:00", "pdsa"), ("Mon 08:00", "sas")]
    assert sum(1 for t, _, _ in walk if t.strftime("%d %H:%M") == "25 02:30") == 2


def test_both_forms_of_the_moment_agree() -> None:
    config = site("974")
    moment = datetime(2026, 5, 22, 18, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert period_at(config, moment) == period_at(config, moment.timestamp())
    assert local_time(config, moment).utcoffset() == timedelta(hours=4)
    with pytest.raises(ValueError, match="naive"):
        period_at(config, datetime(2026, 5, 22, 18, 0))


# --- the whole calendar: a property ------------------------------------------------------

DEPARTEMENTS = ["59", "75", "57", "67", "2A", "971", "972", "973", "974", "976"]


@settings(max_examples=25, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 24)),
    departement=st.sampled_from(DEPARTEMENTS),
    evening_start=st.sampled_from(["18:00", "19:00", "19:30", "20:00"]),
    morning_end=st.sampled_from(["08:00", "08:30"]),
    saturday=st.booleans(),
    saturday_from=st.sampled_from(["08:00", "12:00", "13:00"]),
    bridge_days=st.booleans(),
    extra=st.integers(min_value=0, max_value=6),
)
def test_every_instant_has_a_period_and_changes_only_at_boundaries(
        start: datetime, departement: str, evening_start: str, morning_end: str,
        saturday: bool, saturday_from: str, bridge_days: bool, extra: int) -> None:
    first = start.replace(second=0, microsecond=0, tzinfo=UTC)
    extra_date = (first + timedelta(days=extra)).date().isoformat()
    config = site(departement, evening_start=evening_start, morning_end=morning_end,
                  saturday=saturday, saturday_from=saturday_from, bridge_days=bridge_days,
                  extra_dates=[extra_date])
    boundaries = {evening_start, morning_end, saturday_from, "20:00"}
    walk = _walk(config, first, 7 * 24)
    changes_per_day: dict[date, int] = {}
    for (_, before, _), (now, p, reason) in itertools.pairwise(walk):
        assert (p, reason.startswith("PDSA (")) in {("sas", False), ("pdsa", True)}
        assert p == "pdsa" or reason == "SAS hours"
        if p != before:
            assert now.strftime("%H:%M") in boundaries, (now, before, p)
            changes_per_day[now.date()] = changes_per_day.get(now.date(), 0) + 1
        if now.strftime("%H:%M") == "00:00":
            assert p == "pdsa"  # midnight is always inside the night
    assert all(n <= 2 for n in changes_per_day.values()), changes_per_day


# --- the number plan -------------------------------------------------------------------


def test_15_reaches_arm_n1_around_the_clock() -> None:
    config = site("57", bridge_days=True)
    sunday = route_number(config, "15", at("2026-04-12T10:00", config))
    assert (sunday.destination, sunday.period, sunday.external) == ("ARM_N1", "pdsa", False)
    assert sunday.reason == "15 always reaches ARM_N1 (PDSA hours: Sunday)"
    weekday = route_number(config, "15", at("2026-04-07T10:00", config))
    assert (weekday.destination, weekday.period) == ("ARM_N1", "sas")
    assert weekday.reason == "15 always reaches ARM_N1 (SAS hours)"


def test_116117_goes_to_the_front_office_in_sas_hours_and_to_pdsa_after() -> None:
    config = site("57")
    day = route_number(config, "116117", at("2026-04-07T10:00", config))
    assert (day.period, day.destination, day.reason, day.external) == (
        "sas", "ARM_N1", "SAS hours", False)
    good_friday = route_number(config, "116117", at("2026-04-03T10:00", config))
    assert (good_friday.period, good_friday.destination, good_friday.external) == (
        "pdsa", "PJSIP/pdsa-trunk", True)
    assert good_friday.reason == "PDSA (holiday: Good Friday, 57)"
    assert good_friday.local_time.isoformat() == "2026-04-03T10:00:00+02:00"


def test_local_number_to_a_pdsa_queue_of_the_site() -> None:
    config = site()
    night = route_number(config, "0320334455", at("2026-04-07T22:00", config))
    assert (night.period, night.destination, night.external) == ("pdsa", "MG", False)
    assert night.reason == "PDSA (night)"


def test_number_without_pdsa_keeps_its_queue() -> None:
    config = site()
    night = route_number(config, "0800", at("2026-04-07T22:00", config))
    assert (night.period, night.destination) == ("pdsa", "OSNP")
    assert night.reason == "0800 always reaches OSNP (PDSA hours: night)"


def test_unknown_number_reaches_arm_n1() -> None:
    config = site()
    route = route_number(config, "0612345678", at("2026-04-12T10:00", config))
    assert (route.destination, route.period, route.external) == ("ARM_N1", "pdsa", False)
    assert "not in the number plan" in route.reason
    assert route.reason.endswith("(PDSA hours: Sunday)")


def test_pdsa_cause_is_none_in_sas_hours() -> None:
    config = site()
    assert pdsa_cause(config, at("2026-04-07T10:00", config)) is None
    assert pdsa_cause(config, at("2026-04-07T21:00", config)) == "night"


# --- config: the shipped examples and validation ----------------------------------------


def test_examples_send_116117_to_pdsa_and_keep_15() -> None:
    large = load_config(CONFIG_DIR / "sas-large.toml")
    assert large.numbers["15"].pdsa is None
    assert large.numbers["116117"].pdsa is not None
    assert "/" in large.numbers["116117"].pdsa
    assert large.numbers["0320334455"].pdsa is not None
    assert large.hours.bridge_days is True
    small = load_config(CONFIG_DIR / "sas-small.toml")
    assert small.numbers["15"].pdsa is None
    assert small.numbers["116117"].pdsa == "MG"
    assert small.hours.evening_start == "19:00"
    route = route_number(small, "116117", at("2026-04-08T19:30", small))
    assert (route.destination, route.reason) == ("MG", "PDSA (evening from 19:00)")


BASE = """\
[site]
name = "t"
departement = "59"
timezone = "Europe/Paris"

[numbers."15"]
queue = "ARM_N1"

[numbers."116117"]
queue = "ARM_N1"
pdsa = "PJSIP/pdsa-trunk"

[hours]
evening_start = "20:00"
morning_end = "08:00"
saturday_from = "12:00"
extra_dates = ["2026-12-24"]
"""


def problems(old: str, new: str) -> list[tuple[str, str]]:
    assert BASE.count(old) == 1, old
    with pytest.raises(ConfigError) as info:
        parse_config(BASE.replace(old, new).encode())
    return info.value.problems


def test_base_is_valid() -> None:
    config = parse_config(BASE.encode())
    assert config.hours.extra_dates == ["2026-12-24"]
    assert config.numbers["116117"].pdsa == "PJSIP/pdsa-trunk"


@pytest.mark.parametrize(
    ("old", "new", "key", "fragment"),
    [
        ('evening_start = "20:00"', 'evening_start = "8pm"', "hours.evening_start", "HH:MM"),
        ('evening_start = "20:00"', 'evening_start = "21:00"', "hours.evening_start",
         "20:00 at the latest"),
        ('morning_end = "08:00"', 'morning_end = "07:00"', "hours.morning_end",
         "08:00 at the earliest"),
        ('morning_end = "08:00"', 'morning_end = "24:00"', "hours.morning_end", "HH:MM"),
        ('evening_start = "20:00"', 'evening_start = "08:00"', "hours.morning_end",
         "earlier than hours.evening_start"),
        ('saturday_from = "12:00"', 'saturday_from = "07:30"', "hours.saturday_from",
         "morning_end"),
        ('["2026-12-24"]', '["2026-02-30"]', "hours.extra_dates[0]", "YYYY-MM-DD"),
        ('["2026-12-24"]', '["24/12/2026"]', "hours.extra_dates[0]", "YYYY-MM-DD"),
        ('["2026-12-24"]', '["2026-12-24", "2026-12-24"]', "hours.extra_dates[1]", "twice"),
        ('pdsa = "PJSIP/pdsa-trunk"', 'pdsa = "PDSA"', "numbers.116117.pdsa",
         "neither a queue"),
        ('pdsa = "PJSIP/pdsa-trunk"', 'pdsa = "pdsa trunk"', "numbers.116117.pdsa",
         "neither a queue"),
        ('pdsa = "PJSIP/pdsa-trunk"', 'pdsa = "PJSIP/pdsa trunk"', "numbers.116117.pdsa",
         "not a dial string"),
        ('queue = "ARM_N1"\n\n[numbers."116117"]', 'queue = "ARM_N1"\npdsa = "MG"\n\n'
         '[numbers."116117"]', "numbers.15.pdsa", "around the clock"),
        ('departement = "59"', 'departement = "974"', "site.timezone", "Indian/Reunion"),
        ('departement = "59"', 'departement = "979"', "site.departement", "overseas"),
        ('departement = "59"', 'departement = "20"', "site.departement", "2A, 2B"),
        ('timezone = "Europe/Paris"', 'timezone = "America/Martinique"', "site.timezone",
         "Europe/Paris"),
    ],
)
def test_invalid_hours_and_plan(old: str, new: str, key: str, fragment: str) -> None:
    found = problems(old, new)
    assert any(k == key and fragment in p for k, p in found), found


@pytest.mark.parametrize(
    "changes",
    [
        [('pdsa = "PJSIP/pdsa-trunk"', 'pdsa = "MG"')],
        [('pdsa = "PJSIP/pdsa-trunk"', 'pdsa = "Local/116117@pdsa-regulation"')],
        [('departement = "59"', 'departement = "974"'),
         ('timezone = "Europe/Paris"', 'timezone = "Indian/Reunion"')],
        [('departement = "59"', 'departement = "2A"')],
        [('saturday_from = "12:00"', "saturday = false")],
        [('evening_start = "20:00"', 'evening_start = "18:00"')],
        [('morning_end = "08:00"', 'morning_end = "08:30"')],
    ],
)
def test_valid_variants(changes: list[tuple[str, str]]) -> None:
    text = BASE
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    config = parse_config(text.encode())
    assert route_number(config, "15", 0.0).destination == "ARM_N1"
