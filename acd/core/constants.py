"""The domain constants of the engine, defined once.

Names of the SAS rooms' filières, the agent states that count as working, the Asterisk
statuses the engine reads, and the engine's own time limits. Every module of
``acd.core`` (and the indicators the metrics, the report and the summary share) takes
them from here.
"""

from __future__ import annotations

from acd.core.model import AgentState

#: Agent states in which an agent works the calls of its skills: ready, ringing or
#: talking (a queue's ``staffed`` in the API and the console; an agent the API made
#: ready).
WORKING = frozenset({AgentState.AVAILABLE, AgentState.RINGING, AgentState.ON_CALL})
#: The working states and wrap-up, which ends soon: the agents the estimated wait
#: counts on.
WORKING_OR_WRAPPING = WORKING | {AgentState.WRAP_UP}

#: Device states that mean the phone cannot take a call now.
BUSY_DEVICE_STATES = frozenset({"INUSE", "BUSY", "RINGING", "RINGINUSE", "ONHOLD",
                                "UNAVAILABLE", "INVALID"})
#: Dial statuses that count against the agent (a missed offer). A busy phone is not
#: one (live t3-23: a SIP phone answering 486 was paused "no answer"): see BUSY_HOLD_S.
MISSED_DIAL_STATUSES = frozenset({"NOANSWER", "CHANUNAVAIL", "CONGESTION"})
#: The Dial status of a phone that answered busy (``Busy()``, SIP 486).
BUSY_DIAL_STATUS = "BUSY"
#: An agent whose phone answered an offer busy stays available but out of selection
#: this long: the caller goes to someone else at once, and is not offered the same
#: busy phone again in a loop (live t3-23: again 2 ms later, then the pause). Device
#: state cannot say sooner that the phone is free: a SIP phone's 486 shows none
#: (t3-23), a Local device shows INUSE then NOT_INUSE within the millisecond of the
#: busy answer itself (t3-06f). An agent whose device state says busy stays out
#: longer, until it says free (BUSY_DEVICE_STATES).
BUSY_HOLD_S = 10.0
#: Pause before a call whose action failed is offered again.
ACTION_RETRY_S = 1.0
NO_ANSWER_REASON = "no answer"
#: A caller the dialplan is about to hang up (its agent ended the call) goes back to a
#: queue only if its Hangup has still not come after this long.
FINISHING_BACKSTOP_S = 60.0
#: Handled legs per queue the estimated wait averages over, and the handling time it
#: assumes before any.
HANDLE_WINDOW = 50
DEFAULT_HANDLE_S = 120.0
#: Event timestamps may step back this much (Asterisk's threads): time never does.
CLOCK_JITTER_S = 1.0
#: A snapshot does not end calls that arrived this close to the moment it was asked for.
SNAPSHOT_MARGIN_S = 1.0
#: Channels of calls ended lately, so a snapshot taken before their Hangup cannot
#: resurrect them.
RECENTLY_ENDED_MAX = 10_000
#: Callers followed in their announcement (:mod:`acd.core.arrivals`) at most, and for
#: at most this long: past either, the oldest is forgotten without a record (its
#: Hangup was missed, or the announcement never ends)
ARRIVING_MAX = 10_000
ARRIVING_MAX_S = 3600.0
#: after a failed attempt, a call that still meets an overflow rule is tried again
OVERFLOW_RETRY_S = 30.0
#: the name under which a forward to an external PDSA destination appears in records
FORWARD_PARTNER = "PDSA"
