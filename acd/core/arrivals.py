"""Callers in their announcement: told of by the dialplan, not calls yet.

``[acd-announce]`` sends ``[dialplan] arrival_event`` (``AcdCallArrived``) before
``Answer()`` and the announcement, and ``call_waiting_event`` (``AcdCallWaiting``)
once the caller joins its queue. In between, the caller is an
:class:`~acd.core.model.Arrival` in ``RoomState.arriving``, keyed by its channel: it
is not a call (not in ``calls``, in no queue, offered to nobody), and nothing here
sends an action: this module only forgets arrivals or writes their record.

* ``call_waiting_event`` of the same channel: the arrival is forgotten and the call
  goes on exactly as it would without it (:meth:`CallBook.on_call_waiting
  <acd.core.calls.CallBook.on_call_waiting>`: its arrival and its wait start there).
* the channel's ``Hangup`` first: the caller hung up during the announcement. Its
  record (``in_announcement``) has outcome ``abandoned`` (``lost``, reason
  ``pbx-restart``, when Asterisk flagged the channel for shutdown first, as
  :mod:`acd.core.pbxloss` does for calls), ``arrived_at`` the arrival event,
  ``queues`` the queue its number led to at that moment, no leg.
* a resync's list without the channel (the link was down: nobody saw how it ended),
  or with the channel followed as a call already (its ``call_waiting_event`` was
  missed): forgotten without a record. At most :data:`ARRIVING_MAX` arrivals are kept,
  each for at most :data:`ARRIVING_MAX_S`: beyond, the oldest go without a record.

A dialplan without the arrival event sends none: nothing here runs, and a caller who
hangs up during the announcement leaves no record, as before the event existed.
"""

from __future__ import annotations

from acd.ami import events as ev
from acd.ami import userevents as ue
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.calls import CallBook
from acd.core.constants import ARRIVING_MAX, ARRIVING_MAX_S, SNAPSHOT_MARGIN_S
from acd.core.context import Context
from acd.core.model import Arrival, Outcome
from acd.core.records import CallRecord, iso


class Arrivals:
    """Follows the callers in their announcement; records those who hang up there."""

    def __init__(self, context: Context, calls: CallBook) -> None:
        self.state, self.fx, self.timers, self.config = context
        self.calls = calls

    def on_arrived(self, event: ue.CallArrived) -> None:
        state = self.state
        channel = event.channel
        if not channel or channel in state.by_channel or channel in state.arriving:
            return  # already a call, or told twice: one caller, one record
        self.forget_oldest()
        state.arriving[channel] = Arrival(
            id=event.call_id,
            channel=channel,
            linkedid=event.linkedid,
            number=event.number or event.exten,
            caller_name=event.caller_name or event.caller_id_name,
            at=state.now,
            queue=event.queue or None,
        )

    def on_call_waiting(self, event: ue.CallWaiting) -> None:
        """The announcement is over: the call goes on as it always has."""
        self.state.arriving.pop(event.channel, None)
        self.calls.on_call_waiting(event)

    def on_hangup(self, event: ev.Hangup) -> bool:
        """Whether the channel was a caller in its announcement (now recorded)."""
        arrival = self.state.arriving.pop(event.channel, None)
        if arrival is None:
            return False
        self.record(arrival)
        return True

    def on_snapshot(self, event: i.ChannelsSnapshot) -> None:
        """After the resync has taken the list into account."""
        state = self.state
        live = {entry.channel for entry in event.channels}
        for channel, arrival in list(state.arriving.items()):
            gone = channel not in live and arrival.at < event.taken_at - SNAPSHOT_MARGIN_S
            if gone or channel in state.by_channel:
                del state.arriving[channel]

    def forget_oldest(self) -> None:
        state = self.state
        arriving = state.arriving
        while arriving:
            oldest = next(iter(arriving.values()))
            if len(arriving) < ARRIVING_MAX and state.now - oldest.at <= ARRIVING_MAX_S:
                return
            del arriving[oldest.channel]

    def record(self, arrival: Arrival) -> None:
        state = self.state
        now, zone = state.now, state.zone
        queue, period, _ = self.calls.entry(arrival.number, arrival.queue, arrival.at)
        outcome = Outcome.ABANDONED if arrival.lost_reason is None else Outcome.LOST
        record = CallRecord(
            uniqueid=arrival.id,
            linkedid=arrival.linkedid,
            number=arrival.number,
            caller_name=arrival.caller_name,
            queues=[queue],
            arrived_at=iso(arrival.at, zone) or "",
            answered_at=None,
            ended_at=iso(now, zone),
            outcome=outcome,
            agent=None,
            wait_s=None,
            priority=self.calls.priority(None),
            channel=arrival.channel,
            legs=[],
            lost_reason=arrival.lost_reason,
            period=period,
            in_announcement=True,
        )
        self.fx.fact(f.CallEnded(at=now, call=arrival.id, queue=queue, outcome=outcome,
                                 duration_s=now - arrival.at, record=record))
