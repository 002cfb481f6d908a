"""Which channels are ACD callers, and where Asterisk shows them. Pure.

The one rule the reconnect resync, the restart (restore from Redis) and the periodic
reconciler share: a channel is an ACD caller only with evidence, i.e. a real
``ACD_NUMBER`` (``(null)``, Asterisk's word for unset in ``Status … Variables:``, and
the empty string are unset) on a channel that is in the holding context, in one of
the acd contexts, or in the fail-open queue. Every other channel (the ``;1`` half of
a Local caller, an IVR, a call between two phones) is never Redirected, recorded or
counted.

:func:`place_of` says where Asterisk shows a caller: only a caller in the holding
context waits for the router; the others are followed where they are.
"""

from __future__ import annotations

import enum

from acd.ami.events import StatusEntry
from acd.config import DialplanNames

#: what ``Status … Variables:`` and Getvar answer for a variable that is not set
UNSET_VALUES = frozenset({"", "(null)"})
#: the application of a caller waiting in a native Asterisk queue (fail open)
NATIVE_QUEUE_APP = "Queue"


class Place(enum.Enum):
    #: in the holding context: waiting for the router
    HOLDING = "holding"
    #: in the fail-open ``Queue()``, not yet talking
    NATIVE_QUEUE = "native_queue"
    #: in a bridge (with an agent: acd-connect, the fail-open queue, a warm transfer)
    BRIDGED = "bridged"
    #: acd-connect's Dial is ringing an agent
    RINGING = "ringing"
    #: with (or ringing) a partner SAS
    OVERFLOW = "overflow"
    #: anywhere else in the acd dialplan (announcing, between two steps)
    ELSEWHERE = "elsewhere"


def real_value(value: str | None) -> str | None:
    """``value`` unless Asterisk means "unset" by it."""
    if value is None or value.strip() in UNSET_VALUES:
        return None
    return value


def acd_contexts(names: DialplanNames) -> frozenset[str]:
    """The contexts a caller runs in (``[acd-warm]`` runs on an agent's channel)."""
    return frozenset({names.holding_context, names.connect_context, names.overflow_context,
                      names.failopen_context, names.warm_bridge_context})


def in_failopen_queue(entry: StatusEntry, names: DialplanNames) -> bool:
    return entry.application == NATIVE_QUEUE_APP and (
        entry.context == names.failopen_context
        or entry.data.split(",", 1)[0] == names.failopen_queue)


def is_acd_caller(entry: StatusEntry, names: DialplanNames) -> bool:
    """The evidence rule (see the module docstring)."""
    if real_value(entry.variables.get(names.number_var)) is None:
        return False
    return entry.context in acd_contexts(names) or in_failopen_queue(entry, names)


def place_of(entry: StatusEntry, names: DialplanNames) -> Place:
    """Where Asterisk shows an ACD caller now."""
    if entry.context == names.overflow_context:
        return Place.OVERFLOW
    if entry.bridge_id:
        return Place.BRIDGED
    if in_failopen_queue(entry, names):
        return Place.NATIVE_QUEUE
    if entry.context == names.holding_context:
        return Place.HOLDING
    if entry.context == names.connect_context and entry.application == "Dial":
        return Place.RINGING
    return Place.ELSEWHERE
