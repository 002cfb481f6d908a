"""Calls, agents and their states, with the legal transitions as data.

Theory of operation
-------------------
Two small state machines live here, each a table ``state → states it may move to``.
:func:`move` applies a transition or raises :class:`~acd.errors.IllegalTransition`
and leaves the object unchanged. The engine is the only caller.

Asterisk is the truth: when its events show an agent talking to a caller (a call
answered at a phone we did not offer it to, a native queue connecting a caller while
the router was away), the engine follows. So "observed" moves, e.g. any live agent
state → ON_CALL, are legal. What the table forbids are the router's own mistakes:
offering a call to an agent who is paused, ringing or logged out, or waking a call
that has ended.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Final, TypeVar

from acd.errors import IllegalTransition


class Outcome(enum.StrEnum):
    """How a call ended: ``outcome`` of its record, written as the value (a contract
    read by operators' scripts and by ``acd report``)."""

    #: picked up by a person (an answered call still talking at the end of a run too)
    ANSWERED = "answered"
    #: the caller hung up before any pick-up
    ABANDONED = "abandoned"
    #: a partner SAS took the call
    OVERFLOWED = "overflowed"
    #: sent to the external destination of its number (the PDSA line)
    FORWARDED = "forwarded"
    #: Asterisk itself cut the call (a restart, a crash): see ``lost_reason``
    LOST = "lost"
    #: never answered, still there when a run stopped
    WAITING = "waiting"


class AgentState(enum.Enum):
    #: not working; never offered a call
    LOGGED_OUT = "logged_out"
    #: idle and ready: may be offered a call
    AVAILABLE = "available"
    #: a call has been offered: the phone is ringing (or about to)
    RINGING = "ringing"
    #: talking with a caller
    ON_CALL = "on_call"
    #: after-call work; becomes AVAILABLE at the end of the skill's wrap-up time
    WRAP_UP = "wrap_up"
    #: logged in but not taking calls (reason in ``Agent.pause_reason``)
    PAUSED = "paused"


class CallState(enum.Enum):
    #: in a skill queue, hearing music
    WAITING = "waiting"
    #: assigned to an agent: the router's actions are sent / the agent's phone rings
    OFFERED = "offered"
    #: talking with an agent
    CONNECTED = "connected"
    #: the agent's leg is gone but the caller is still there: back to the queue soon
    HELD = "held"
    #: waiting in a native Asterisk Queue() (fail-open path): observed, not routed
    NATIVE = "native"
    #: out of its queue (its place kept) while a partner SAS is tried, or talking there
    OVERFLOWING = "overflowing"
    #: the caller's channel is gone
    ENDED = "ended"


_A = AgentState
AGENT_TRANSITIONS: Final[dict[AgentState, frozenset[AgentState]]] = {
    _A.LOGGED_OUT: frozenset({_A.AVAILABLE, _A.PAUSED, _A.ON_CALL}),
    _A.AVAILABLE: frozenset({_A.RINGING, _A.ON_CALL, _A.PAUSED, _A.LOGGED_OUT}),
    _A.RINGING: frozenset({_A.ON_CALL, _A.AVAILABLE, _A.PAUSED, _A.LOGGED_OUT}),
    _A.ON_CALL: frozenset({_A.WRAP_UP, _A.AVAILABLE, _A.PAUSED, _A.LOGGED_OUT}),
    _A.WRAP_UP: frozenset({_A.AVAILABLE, _A.PAUSED, _A.LOGGED_OUT, _A.ON_CALL, _A.RINGING}),
    _A.PAUSED: frozenset({_A.AVAILABLE, _A.LOGGED_OUT, _A.ON_CALL}),
}

_C = CallState
CALL_TRANSITIONS: Final[dict[CallState, frozenset[CallState]]] = {
    _C.WAITING: frozenset({_C.OFFERED, _C.CONNECTED, _C.NATIVE, _C.OVERFLOWING, _C.ENDED}),
    _C.OFFERED: frozenset({_C.WAITING, _C.HELD, _C.CONNECTED, _C.NATIVE, _C.ENDED}),
    _C.CONNECTED: frozenset({_C.HELD, _C.WAITING, _C.ENDED}),
    _C.HELD: frozenset({_C.WAITING, _C.OFFERED, _C.CONNECTED, _C.NATIVE, _C.ENDED}),
    _C.NATIVE: frozenset({_C.CONNECTED, _C.OFFERED, _C.WAITING, _C.ENDED}),
    _C.OVERFLOWING: frozenset({_C.WAITING, _C.HELD, _C.ENDED}),
    _C.ENDED: frozenset(),
}


@dataclass(slots=True)
class Leg:
    """One stretch of a call in one queue, possibly answered by one agent."""

    queue: str
    entered_at: float
    agent: str | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    #: the answering agent's primary skill when it picked the leg up
    role: str | None = None


@dataclass(slots=True)
class TransferAttempt:
    """A transfer asked for during a call, and how it ended (the record's
    ``transfers``): every one, connected or not."""

    from_queue: str
    to_queue: str
    #: "cold" or "warm"
    mode: str
    #: the agent who asked for it (None: asked for a call no agent held)
    agent: str | None
    at: float
    #: "requested" while it goes on; then "connected" (an agent of the target took the
    #: caller), "cancelled" (a warm transfer nobody of the target took: the first agent
    #: kept the caller; or the first agent hung up meanwhile), "fallback_transferrer",
    #: "fallback_original_queue", "fallback_overflow" (the site's transfer fallback) or
    #: "caller_gone" (the caller hung up first)
    result: str = "requested"
    ended_at: float | None = None


@dataclass(slots=True, eq=False)
class Call:
    """A caller, identified by the Uniqueid of the channel the dialplan announced."""

    id: str
    channel: str
    linkedid: str
    number: str
    caller_name: str
    caller_num: str
    priority: int
    arrived_at: float
    queue: str
    #: when the call entered its current queue (skill expansion counts from here)
    enqueued_at: float
    #: ordering key inside a priority band: lower is served first
    seq: int
    #: 1 for a new arrival; 0 once handled (put back, transferred): served first
    tier: int = 1
    state: CallState = CallState.WAITING
    #: agent offered to, or talking with
    agent: str | None = None
    #: the other agents the current offer rings at once beside ``agent`` (a ring
    #: group, ``[routing] ring_phones``): the first to answer takes the call
    also_ringing: list[str] = field(default_factory=list)
    #: increases with every offer so a late answer to an old offer is recognised
    offer_id: int = 0
    answered_at: float | None = None
    answered_by: str | None = None
    ended_at: float | None = None
    outcome: Outcome | None = None
    queues: list[str] = field(default_factory=list)
    legs: list[Leg] = field(default_factory=list)
    #: set when the call's end was found at a resync rather than seen as it happened
    ended_unobserved: bool = False
    #: Asterisk itself cut the call (:mod:`acd.core.pbxloss`): "pbx-restart" (it was
    #: stopping) or "pbx-crash" (it came back with a new start time); outcome "lost"
    lost_reason: str | None = None
    #: answered by ``answered_by`` at a time the router did not see (found talking at
    #: a resync): no ``answered_at``, no wait, left out of QS 30 s
    answered_unobserved: bool = False
    #: agent named by the dialplan's AcdConnecting event (when we did not offer it)
    connecting_hint: str | None = None
    #: agents' channels seen dialled for this call (forgotten when the call ends)
    agent_channels: list[str] = field(default_factory=list)
    #: agents this call was offered to before its current offer
    superseded: set[str] = field(default_factory=set)
    #: "sas" or "pdsa": the period the call arrived in (kept for its whole life)
    period: str = "sas"
    #: external destination of its number in its period (the PDSA regulation trunk)
    forward_to: str | None = None
    #: the transfer in progress: where the call came from, and who sent it
    transfer: Transfer | None = None
    #: the partner being tried now, and the one that took the call
    overflow_partner: str | None = None
    overflowed_to: str | None = None
    #: every partner attempt: (partner, epoch seconds, result)
    overflows: list[tuple[str, float, str]] = field(default_factory=list)
    #: every transfer asked for, in order (the last one may still be going on)
    transfers: list[TransferAttempt] = field(default_factory=list)

    def ringing_agents(self) -> list[str]:
        """The agents the current offer rings: ``agent``, then ``also_ringing``."""
        return [self.agent, *self.also_ringing] if self.agent else [*self.also_ringing]


@dataclass(slots=True)
class Arrival:
    """A caller the dialplan told of before its announcement (``arrival_event``), not
    yet handed to the router (``call_waiting_event``): never routed, never acted on;
    recorded only if it hangs up before its announcement ends."""

    id: str
    channel: str
    linkedid: str
    number: str
    caller_name: str
    at: float
    #: the ``Queue`` header of a dialplan that names the number's queue itself
    queue: str | None = None
    #: Asterisk cut it as it stopped (:mod:`acd.core.pbxloss`)
    lost_reason: str | None = None


@dataclass(slots=True)
class Transfer:
    """A move between filières that has not reached an agent of the target yet."""

    from_queue: str
    to_queue: str
    agent: str | None
    at: float


@dataclass(slots=True, eq=False)
class Agent:
    """A position in the room: an id, a phone, skills with levels."""

    id: str
    device: str
    #: skill → level (1 = primary, 2 = backup…)
    skills: dict[str, int]
    name: str = ""
    state: AgentState = AgentState.LOGGED_OUT
    pause_reason: str | None = None
    #: since when the agent is AVAILABLE (longest idle is served first)
    idle_since: float = 0.0
    #: the call the agent is ringing for or talking with
    call: str | None = None
    missed_offers: int = 0
    #: wrap-up ends at this time (engine timer)
    wrap_up_until: float = 0.0
    #: pause or logout asked during a call, applied when the call ends
    pending: AgentState | None = None
    pending_reason: str | None = None
    #: the phone is busy or unreachable according to Asterisk's device state
    device_busy: bool = False
    #: the phone answered an offer busy: out of selection until this engine time,
    #: though available (``BUSY_HOLD_S``; not kept across a restart)
    busy_until: float = 0.0
    #: created from traffic (replay, unknown phone), not from config
    observed: bool = False


def primary_skill(skills: dict[str, int]) -> str | None:
    """The skill of the best (lowest) level: the agent's role; None without skills."""
    return min(skills.items(), key=lambda item: item[1])[0] if skills else None


_S = TypeVar("_S", AgentState, CallState)


def _checked(table: dict[_S, frozenset[_S]], what: str, old: _S, new: _S) -> _S:
    """``new`` if the table allows ``old`` → ``new`` (or they are the same)."""
    if old is not new and new not in table[old]:
        raise IllegalTransition(f"{what}: {old.value} → {new.value}")
    return new


def move_agent(agent: Agent, new: AgentState) -> AgentState:
    """Apply a legal agent transition; return the old state."""
    old = agent.state
    agent.state = _checked(AGENT_TRANSITIONS, f"agent {agent.id}", old, new)
    return old


def move_call(call: Call, new: CallState) -> CallState:
    """Apply a legal call transition; return the old state."""
    old = call.state
    call.state = _checked(CALL_TRANSITIONS, f"call {call.id}", old, new)
    return old


def device_of(channel: str) -> str:
    """The device (dial string) a channel belongs to.

    ``PJSIP/arm01-0000002a`` → ``PJSIP/arm01``; ``Local/1001@agents-00000001;1`` →
    ``Local/1001@agents``. Asterisk appends ``-<sequence>`` (and ``;N`` for Local).
    """
    dash = channel.rfind("-")
    return channel[:dash] if dash > 0 else channel


@dataclass(slots=True)
class WarmTransfer:
    """A warm transfer in progress: the caller is still with the transferring agent."""

    call: str
    from_queue: str
    to_queue: str
    #: the transferring agent, who keeps the caller until the target answers
    agent: str
    at: float
    #: changes with every ring so late outcomes of an older one are recognised
    token: int = 0
    #: the target agent being rung now
    target: str | None = None
    #: target agents already rung (not rung again for this transfer)
    tried: set[str] = field(default_factory=set)
    #: warm_max_wait_s is over: no new agent is rung
    expired: bool = False
    #: when the transfer gives up looking for an agent, and when the ring in progress
    #: is over (timers of older rings and transfers are recognised by these)
    deadline: float = 0.0
    ring_deadline: float = 0.0
