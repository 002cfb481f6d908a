"""``acd route``: where a call to a number goes at a given moment, and why."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import msgspec

from acd.config.load import load_config
from acd.core.hours import Route, route_number
from acd.shipped import locate


class BadMoment(ValueError):
    """``--at`` is not a date-time that exists in the site's zone."""


def parse_at(text: str, zone: ZoneInfo) -> datetime:
    """An ISO 8601 date-time; without an offset it is the site's local time.

    A local time that does not exist (the hour skipped in spring) is refused; one that
    happens twice (the hour repeated in autumn) is its first occurrence unless an offset
    is given.
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadMoment(f"{text!r} is not an ISO 8601 date-time "
                        "(e.g. 2026-04-03T21:00 or 2026-04-03T21:00:00+02:00)") from exc
    try:
        if moment.tzinfo is not None:
            return moment.astimezone(zone)
        local = moment.replace(tzinfo=zone)
        round_trip = local.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    except (OverflowError, ValueError) as exc:
        raise BadMoment(f"{text} is out of range") from exc
    if round_trip != moment:
        raise BadMoment(f"{text} does not exist in {zone.key} (the clocks skip that hour)")
    return local


def format_route(route: Route) -> str:
    """One line: ``116117 at 2026-04-03T21:00:00+02:00 → dial PJSIP/… — PDSA (night)``."""
    target = f"dial {route.destination}" if route.external else f"queue {route.destination}"
    return f"{route.number} at {route.local_time.isoformat()} → {target} — {route.reason}"


def route_as_dict(route: Route) -> dict[str, object]:
    return {
        "number": route.number,
        "at": route.local_time.isoformat(),
        "period": route.period,
        "destination": route.destination,
        "external": route.external,
        "reason": route.reason,
    }


def route_command(config_path: str, number: str, at: str | None, as_json: bool) -> int:
    """Print the route of ``number`` at ``at`` (default: now); 1 if ``at`` is invalid."""
    config = load_config(locate(config_path))
    zone = config.zone()
    if at is None:
        when: float | datetime = float(int(time.time()))
    else:
        try:
            when = parse_at(at, zone)
        except BadMoment as exc:
            print(f"acd route: --at: {exc}", file=sys.stderr)
            return 1
    route = route_number(config, number, when)
    if as_json:
        sys.stdout.buffer.write(msgspec.json.encode(route_as_dict(route)) + b"\n")
        sys.stdout.flush()
    else:
        print(format_route(route))
    return 0
