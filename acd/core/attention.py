"""What the room's state marks for the policies to look at once a handler is done.

The ledger (:mod:`acd.core.calls`, :mod:`acd.core.roster`) changes the room and keeps
its invariants; it never offers a call itself. A call that starts waiting, an agent
who becomes free, a queue that empties are *marked* here, in the order they happened;
the engine (:meth:`acd.core.engine.Engine.settle`) hands each mark to the policy that
decides (an overflow rule, a warm transfer, an offer) once the handler that made it
is done, oldest first, until none is left. So the layers below never call the ones
above, and a policy sees the room whole, never half-changed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from acd.core.model import Agent, Call


@dataclass(slots=True, frozen=True)
class CallWaits:
    """``call`` entered its queue (``new``: it just arrived there, not given back)."""

    call: Call
    new: bool


@dataclass(slots=True, frozen=True)
class AgentFree:
    """``agent`` became free for calls (available, its phone free)."""

    agent: Agent


@dataclass(slots=True, frozen=True)
class BackupsLendable:
    """A queue emptied: its filière may spare its backups now ("spare" backups)."""


Mark = CallWaits | AgentFree | BackupsLendable


class Attention:
    """The marks of one input, oldest first."""

    __slots__ = ("_marks",)

    def __init__(self) -> None:
        self._marks: deque[Mark] = deque()

    def call_waits(self, call: Call, *, new: bool) -> None:
        self._marks.append(CallWaits(call, new))

    def agent_free(self, agent: Agent) -> None:
        self._marks.append(AgentFree(agent))

    def backups_lendable(self) -> None:
        self._marks.append(BackupsLendable())

    def next(self) -> Mark | None:
        """The oldest mark not yet settled, or None."""
        return self._marks.popleft() if self._marks else None

    def clear(self) -> None:
        self._marks.clear()
