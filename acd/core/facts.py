"""What happened, as the engine reports it: metrics, logs, the journal and the CTI
stream are all fed from these. Times are epoch seconds.

A fact stands alone: it carries what its readers need (the number dialled, the
period, the arrival, the wait, the caller), so none of them reads the engine back
(a call is gone from it by its :class:`CallEnded`). ``caller`` is always masked
(:func:`acd.logs.mask_number`): facts are journaled and logged, and a caller's number
is health data."""

from __future__ import annotations

import msgspec

from acd.core.model import Outcome
from acd.core.records import CallRecord
from acd.logs import mask_number as mask_number  # the one masking rule, for ``caller``


class Fact(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Base of facts; ``at`` is when it happened (engine time)."""

    at: float


class CallQueued(Fact, frozen=True, kw_only=True):
    call: str
    queue: str
    number: str
    priority: int
    #: True for a new arrival, False when the call is put back in a queue
    new: bool
    #: "sas" | "pdsa": the period the call arrived in (kept for its whole life)
    period: str = "sas"
    #: when the call arrived (epoch seconds)
    arrived_at: float = 0.0
    #: the caller's number, masked
    caller: str = ""


class CallOffered(Fact, frozen=True, kw_only=True):
    call: str
    queue: str
    agent: str
    #: the number dialled and the call's priority
    number: str = ""
    priority: int = 0
    #: arrival → this offer
    wait_s: float = 0.0
    #: the caller's number, masked
    caller: str = ""


class CallAnswered(Fact, frozen=True, kw_only=True):
    call: str
    queue: str
    agent: str
    #: arrival → this pick-up; ``first`` says whether it is the call's first pick-up
    wait_s: float
    first: bool
    #: the number dialled and the period the call arrived in (QS 30 s per number/period)
    number: str = ""
    period: str = "sas"
    #: the queue the call first entered (the front office for QS 30 s)
    first_queue: str = ""
    priority: int = 0
    #: the caller's number, masked
    caller: str = ""


class CallTransferred(Fact, frozen=True, kw_only=True):
    """A call moved from one filière (queue) to another; ``result`` says how it went:
    requested, connected (the target agent answered), fallback, failed."""

    call: str
    from_queue: str
    to_queue: str
    agent: str | None
    result: str
    reason: str = ""
    #: the number dialled
    number: str = ""
    #: the caller's number, masked
    caller: str = ""


class CallOverflowed(Fact, frozen=True, kw_only=True):
    """A call tried at a partner SAS; ``result``: tried, answered, failed (then back
    in its local queue), busy, unreachable."""

    call: str
    queue: str
    partner: str
    result: str
    #: why the call was sent (rule, share, bascule, PDSA hours), on "tried"
    reason: str = ""


class BasculeChanged(Fact, frozen=True, kw_only=True):
    """A supervisor switched a queue (or the site, queue "*") to partners, or back."""

    queue: str
    share: float
    partner: str | None
    by: str
    reason: str


class CallReturned(Fact, frozen=True, kw_only=True):
    """A call went back to the head of its queue (no answer, failed action…)."""

    call: str
    queue: str
    agent: str | None
    reason: str


class OfferBusy(Fact, frozen=True, kw_only=True):
    """An agent's phone answered an offer busy (``DialEnd BUSY``, or a warm transfer's
    ``OriginateResponse Reason: 5``): not a missed offer; the caller goes to someone
    else and the agent, still available, is left out of selection until ``until``."""

    call: str
    queue: str
    agent: str
    until: float
    #: "offer" (the caller was rung through) or "warm" (a warm transfer's target)
    kind: str = "offer"


class CallConnecting(Fact, frozen=True, kw_only=True):
    """The dialplan named the agent it is connecting the call to (``AcdConnecting``)."""

    call: str
    agent: str | None


class AgentLegSeen(Fact, frozen=True, kw_only=True):
    """Asterisk dialled ``agent``'s phone for ``call``: a leg the engine follows from
    now on (its end, its answer)."""

    call: str
    agent: str


class RingLeft(Fact, frozen=True, kw_only=True):
    """``agent``'s phone no longer rings for ``call`` (its part of a ring group ended,
    or Asterisk shows it busy elsewhere); the other phones ring on."""

    call: str
    agent: str


class CallSetAside(Fact, frozen=True, kw_only=True):
    """The call is out of its queue and without an agent for now, left to Asterisk
    until it says what became of it: its agent's leg ended, a phone the engine does not
    follow rings for it, the fail-open queue has it, or the dialplan's Dial() returned
    after a pick-up (the caller is finishing)."""

    call: str
    queue: str
    reason: str


class CallEnded(Fact, frozen=True, kw_only=True):
    call: str
    queue: str
    outcome: Outcome
    #: arrival → end, for abandon statistics
    duration_s: float
    record: CallRecord
    #: the caller's number, masked (the record keeps none)
    caller: str = ""


class AgentStateChanged(Fact, frozen=True, kw_only=True):
    agent: str
    old: str
    new: str
    reason: str | None = None


class AgentStateDeferred(Fact, frozen=True, kw_only=True):
    """A pause or logout asked while the agent rings or talks, applied when its call
    ends; ``pending`` None: withdrawn (the agent was made ready meanwhile)."""

    agent: str
    pending: str | None
    reason: str | None = None


class AgentPhoneChanged(Fact, frozen=True, kw_only=True):
    """Asterisk shows the agent's phone busy (left out of selection), or free again."""

    agent: str
    busy: bool


class AgentReskilled(Fact, frozen=True, kw_only=True):
    """An agent's skills and levels were changed at run time (N1/N2 rotation)."""

    agent: str
    old: dict[str, int]
    new: dict[str, int]
    by: str
    reason: str = ""


class StateRepaired(Fact, frozen=True, kw_only=True):
    """The engine's view disagreed with Asterisk and was corrected."""

    kind: str
    subject: str
    detail: str


class InputIgnored(Fact, frozen=True, kw_only=True):
    """An input that could not apply (unknown channel, illegal move): logged, skipped."""

    input: str
    detail: str


class StateRestored(Fact, frozen=True, kw_only=True):
    """The previous run's state was taken back at start (before the AMI resync)."""

    calls: int
    waiting: int
    agents: int
    #: engine time at which the previous run saved it
    saved_at: float
