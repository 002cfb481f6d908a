"""The call record: one JSON object per finished call (``acd replay``, ``acd simulate``,
the DGOS report). Field names are a contract read by operators' scripts."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import msgspec

from acd.core.model import Call, Leg, Outcome


class LegRecord(msgspec.Struct, frozen=True, kw_only=True):
    queue: str
    agent: str | None
    entered_at: str
    answered_at: str | None
    ended_at: str | None
    #: entering this leg's queue → this leg's pick-up
    wait_s: float | None
    talk_s: float | None
    #: the answering agent's primary skill (its role) when it picked the leg up: a
    #: backup answering another filière's call has a role other than ``queue``
    role: str | None = None


class TransferRecord(msgspec.Struct, frozen=True, kw_only=True, rename={"from_": "from"}):
    """A transfer asked for during the call, whatever became of it."""

    #: the queue the call was in, and the one asked for
    from_: str
    to: str
    #: "cold" | "warm"
    mode: str
    #: the agent who asked (null: asked for a call no agent held)
    agent: str | None
    at: str
    #: connected | cancelled (a warm transfer nobody of the target took, the first
    #: agent kept the caller; or the first agent hung up meanwhile) |
    #: fallback_transferrer | fallback_original_queue | fallback_overflow (the site's
    #: transfer fallback) | caller_gone (the caller hung up first) | requested (still
    #: going on when the record was written)
    result: str
    ended_at: str | None = None


class OverflowRecord(msgspec.Struct, frozen=True, kw_only=True):
    partner: str
    at: str
    #: answered | noanswer | busy | congestion | unavailable | failed | abandoned
    result: str


class CallRecord(msgspec.Struct, frozen=True, kw_only=True):
    uniqueid: str
    linkedid: str
    number: str
    caller_name: str
    queues: list[str]
    arrived_at: str
    answered_at: str | None
    ended_at: str | None
    #: answered | abandoned | overflowed | forwarded | lost (Asterisk itself cut it, see
    #: ``lost_reason``) | waiting (never answered, still there at the end of a run); an
    #: answered call still talking at the end has ``ended_at`` null (:class:`Outcome`)
    outcome: Outcome
    #: the agent who picked up first
    agent: str | None
    #: arrival in the first queue → first pick-up by a person; null if never answered
    wait_s: float | None
    priority: int
    channel: str
    legs: list[LegRecord]
    #: true when the end was found at a resync (the router was not connected)
    ended_unobserved: bool = False
    #: with outcome "lost": why. "pbx-restart": Asterisk hung the caller up as it
    #: stopped or restarted (``core restart now``: a SoftHangupRequest with the shutdown
    #: flag before the Hangup, or a Shutdown event before the link closed);
    #: "pbx-crash": Asterisk died without a word and came back with a new start time,
    #: the call gone. A lost call may have been picked up before (``agent``,
    #: ``answered_at`` and ``wait_s`` say so): it counts as answered, never as abandoned
    lost_reason: str | None = None
    #: "sas" | "pdsa": the period the call arrived in
    period: str = "sas"
    #: the partner SAS that took the call (outcome "overflowed"), and every attempt
    partner: str | None = None
    overflows: list[OverflowRecord] = msgspec.field(default_factory=list)
    #: every transfer asked for, in order, connected or not (a warm transfer nobody
    #: took adds no leg: this is its only trace)
    transfers: list[TransferRecord] = msgspec.field(default_factory=list)
    #: true: the caller hung up during the announcement, before the dialplan handed the
    #: call to the router (outcome "abandoned", or "lost" if Asterisk cut it).
    #: ``arrived_at`` is then its arrival in the dialplan (the arrival event, before the
    #: announcement), ``queues`` the queue its number led to, ``legs`` empty: it entered
    #: no queue
    in_announcement: bool = False


def iso(ts: float | None, zone: ZoneInfo) -> str | None:
    """Epoch seconds → ISO 8601 local time with offset, millisecond precision."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, zone).isoformat(timespec="milliseconds")


def span(start: float | None, end: float | None) -> float | None:
    """``start`` → ``end`` in seconds, to the millisecond; None unless both are known."""
    if start is None or end is None:
        return None
    return round(end - start, 3)


def leg_record(leg: Leg, zone: ZoneInfo) -> LegRecord:
    """The record of one leg (the router's, and the app_queue model's for the policy
    comparison)."""
    return LegRecord(
        queue=leg.queue,
        agent=leg.agent,
        entered_at=iso(leg.entered_at, zone) or "",
        answered_at=iso(leg.answered_at, zone),
        ended_at=iso(leg.ended_at, zone),
        wait_s=span(leg.entered_at, leg.answered_at),
        talk_s=span(leg.answered_at, leg.ended_at),
        role=leg.role,
    )


def record_of(call: Call, zone: ZoneInfo) -> CallRecord:
    return CallRecord(
        uniqueid=call.id,
        linkedid=call.linkedid,
        number=call.number,
        caller_name=call.caller_name,
        queues=list(call.queues),
        arrived_at=iso(call.arrived_at, zone) or "",
        answered_at=iso(call.answered_at, zone),
        ended_at=iso(call.ended_at, zone),
        outcome=call.outcome or (Outcome.ANSWERED if call.answered_at is not None
                                 or call.answered_unobserved else Outcome.WAITING),
        agent=call.answered_by,
        wait_s=span(call.arrived_at, call.answered_at),
        priority=call.priority,
        channel=call.channel,
        legs=[leg_record(leg, zone) for leg in call.legs],
        ended_unobserved=call.ended_unobserved,
        lost_reason=call.lost_reason,
        period=call.period,
        partner=call.overflowed_to,
        overflows=[OverflowRecord(partner=p, at=iso(at, zone) or "", result=result)
                   for p, at, result in call.overflows],
        transfers=[TransferRecord(from_=t.from_queue, to=t.to_queue, mode=t.mode,
                                  agent=t.agent, at=iso(t.at, zone) or "",
                                  result=t.result, ended_at=iso(t.ended_at, zone))
                   for t in call.transfers],
    )
