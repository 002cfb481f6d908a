"""What a timer of the engine is about (:mod:`acd.core.timers` runs them).

A timer names what it is about (``key``: a call id, or an agent id for ``WRAP`` and
``BUSY``) and carries a token: a timer whose token no longer matches is stale.
"""

from __future__ import annotations

import enum


class TimerKind(enum.StrEnum):
    #: an agent's wrap-up is over (keyed by agent)
    WRAP = "wrap"
    #: an agent whose phone answered busy may be offered calls again (keyed by agent)
    BUSY = "busy"
    #: an offer rang too long
    RING = "ring"
    #: a caller without an agent goes back to its queue
    ORPHAN = "orphan"
    #: a backup level of the skill becomes eligible
    EXPAND = "expand"
    #: a transferred call waited too long in its target queue
    XFER = "xfer"
    #: a warm transfer gives up looking for an agent
    WARM = "warm"
    #: a warm transfer's ring is over
    WARM_RING = "warmring"
    #: a backup level becomes eligible for a warm transfer
    WARM_EXPAND = "warmexpand"
    #: a waiting call passed its overflow rule's max_wait_s
    OVERFLOW = "ovf"
    #: a partner SAS rang too long
    OVERFLOW_RING = "ovfring"


TimerEntry = tuple[float, int, TimerKind, str, int]
