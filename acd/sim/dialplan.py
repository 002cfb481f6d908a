"""Small pieces of the simulated dialplan shared by its contexts (``acd-connect``,
``acd-overflow``, ``acd-transfer``): extension patterns, Dial()'s arguments."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from acd.sim.emit import Emitter
    from acd.sim.model import Channel

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


def resource_guard(events: Emitter, trunk: Channel, context: str, exten: str,
                   variable: str) -> str | None:
    """The guard before Dial (priority 2) and its ``nodial`` branch (priorities 9 and
    10), as ``[acd-connect]`` and ``[acd-overflow]`` both write them: the dial string in
    ``variable`` if it names a resource; else None, once DIALSTATUS is INVALIDARGS and
    the caller went back to ``dialend``."""
    events.step(trunk, context, exten, 2, "GotoIf", no_resource_test(variable))
    dial_string = trunk.variables.get(variable, "")
    if has_resource(dial_string):
        return dial_string
    events.step(trunk, context, exten, 9, "Set", "DIALSTATUS=INVALIDARGS")
    events.varset(trunk, "DIALSTATUS", "INVALIDARGS")
    events.step(trunk, context, exten, 10, "Goto", "dialend")
    return None


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
