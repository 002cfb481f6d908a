"""What happened, as the engine reports it: metrics, logs, the journal and the CTI
stream are all fed from these. Times are epoch seconds."""

from __future__ import annotations

import msgspec

from acd.core.records import CallRecord


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


class CallOffered(Fact, frozen=True, kw_only=True):
    call: str
    queue: str
    agent: str


class CallAnswered(Fact, frozen=True, kw_only=True):
    call: str
    queue: str
    agent: str
    #: arrival → this pick-up; ``first`` says whether it is the call's first pick-up
    wait_s: float
    first: bool


class CallReturned(Fact, frozen=True, kw_only=True):
    """A call went back to the head of its queue (no answer, failed action…)."""

    call: str
    queue: str
    agent: str | None
    reason: str


class CallEnded(Fact, frozen=True, kw_only=True):
    call: str
    queue: str
    outcome: str
    #: arrival → end, for abandon statistics
    duration_s: float
    record: CallRecord


class AgentStateChanged(Fact, frozen=True, kw_only=True):
    agent: str
    old: str
    new: str
    reason: str | None = None


class StateRepaired(Fact, frozen=True, kw_only=True):
    """The engine's view disagreed with Asterisk and was corrected."""

    kind: str
    subject: str
    detail: str


class InputIgnored(Fact, frozen=True, kw_only=True):
    """An input that could not apply (unknown channel, illegal move): logged, skipped."""

    input: str
    detail: str
