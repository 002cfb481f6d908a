"""The model's callers as the router's call records (:mod:`acd.core.records`), so that
:func:`acd.tools.summary.summarize` and the policy comparison read both rooms alike.

The same semantics as the router's records: ``arrived_at`` is when the caller joined
its first queue (the router counts from the dialplan's announcement, after the same
Answer), ``wait_s`` runs from there to the first pick-up by a person, one leg per
queue visit with the agent who answered it (none for a visit nobody answered), a leg's
``ended_at`` set when its conversation ended. A call still going on when the day
stops has no ``ended_at``: "answered" if someone picked it up, else "waiting".
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from acd.core.constants import FORWARD_PARTNER
from acd.core.model import Outcome
from acd.core.records import CallRecord, OverflowRecord, iso, leg_record, span
from acd.tools.appqueue.state import Caller


def call_record(caller: Caller, zone: ZoneInfo) -> CallRecord:
    """The record of a caller that joined the room (``arrived_at`` set)."""
    assert caller.arrived_at is not None, "a caller gone before joining has no record"
    uniqueid = f"appqueue.{caller.index}"
    forwarded = caller.outcome == Outcome.FORWARDED
    return CallRecord(
        uniqueid=uniqueid,
        linkedid=uniqueid,
        number=caller.number,
        caller_name=caller.caller_name,
        queues=[leg.queue for leg in caller.legs],
        arrived_at=iso(caller.arrived_at, zone) or "",
        answered_at=iso(caller.answered_at, zone),
        ended_at=iso(caller.ended_at, zone),
        outcome=caller.outcome or (Outcome.ANSWERED if caller.answered_at is not None
                                   else Outcome.WAITING),
        agent=caller.answered_by,
        wait_s=span(caller.arrived_at, caller.answered_at),
        priority=caller.priority,
        channel=f"Local/{caller.number}@incoming-{caller.index:08x};2",
        legs=[leg_record(leg, zone) for leg in caller.legs],
        period=caller.period,
        partner=FORWARD_PARTNER if forwarded else None,
        overflows=[OverflowRecord(partner=FORWARD_PARTNER, at=iso(caller.ended_at, zone) or "",
                                  result="answered")] if forwarded else [],
    )
