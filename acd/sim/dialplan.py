"""Small pieces of the simulated dialplan shared by its contexts (``acd-connect``,
``acd-overflow``, ``acd-transfer``): extension patterns, Dial()'s arguments."""

from __future__ import annotations

import re

#: acd-connect's and acd-overflow's pattern extension ``_[0-9A-Za-z].``
DIAL_EXTEN = re.compile(r"[0-9A-Za-z].+")

#: Dial() variables Asterisk resets (VarSet ``""``) when Dial starts
DIAL_VARS = ("DIALSTATUS", "DIALEDPEERNUMBER", "DIALEDPEERNAME", "ANSWEREDTIME",
             "ANSWEREDTIME_MS", "DIALEDTIME", "DIALEDTIME_MS", "RINGTIME", "RINGTIME_MS",
             "PROGRESSTIME", "PROGRESSTIME_MS")


def has_resource(dial_string: str) -> bool:
    """What the dialplan's guard checks before Dial: ``${CUT(VAR,/,2)}`` is not empty.

    Dial() of an empty string, or of one without ``technology/resource``, sets
    DIALSTATUS to INVALIDARGS and *hangs the caller up* (app_dial returns -1); the
    guard sends the caller to ``nodial`` instead.
    """
    fields = dial_string.split("/")
    return len(fields) > 1 and fields[1] != ""


def no_resource_test(variable: str) -> str:
    """The GotoIf of that guard, as the dialplan writes it."""
    return f'$["${{CUT({variable},/,2)}}" = ""]?nodial'


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def ring_seconds(text: str) -> float | None:
    """Dial's timeout argument: None (ring forever) when empty, invalid or not > 0."""
    if not is_number(text):
        return None
    value = float(text)
    return value if value > 0 else None
