"""Who gets which call, as a replaceable part: the :class:`Selection` protocol.

The engine asks its selection which free agent takes a call, which waiting call a free
agent takes, in what order a queue's calls are tried, and tells it when an offer is
made and when an agent's call ends (the state some strategies keep: the last member
rung, the calls taken, the time of the last call).

:class:`EngineSelection` is the engine's own routing (:mod:`acd.core.routing`) and the
default of :class:`~acd.core.engine.Engine`; the running service never passes another
one. Other selections (models of Asterisk's app_queue strategies, to compare them with
this routing on a simulated day) live in ``acd.tools``, which the service may not
import.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from acd.core.model import Agent, Call
from acd.core.routing import AgentPool, Lend, SkillQueue, pick_agent, pick_call


class Selection(Protocol):
    """The engine's choices between free agents and waiting calls."""

    def pick_agent(self, call: Call, pool: AgentPool, expansion_s: list[float],
                   now: float) -> Agent | None:
        """The available agent to offer ``call`` to now, or None."""
        ...

    def pick_call(self, agent: Agent, queues: dict[str, SkillQueue],
                  expansion: dict[str, list[float]], now: float) -> Call | None:
        """The waiting call the free ``agent`` takes now, or None."""
        ...

    def heads(self, queue: SkillQueue) -> Iterable[Call]:
        """The calls of ``queue`` to try, in order, when the whole queue is dispatched."""
        ...

    def offered(self, call: Call, agent: Agent, now: float) -> None:
        """``call`` was just offered to ``agent``."""
        ...

    def call_ended(self, agent: Agent, call: Call | None, now: float) -> None:
        """``agent``'s call (answered) ended: the agent leaves the call."""
        ...


class EngineSelection:
    """The engine's routing: priority, handled-before-new, best level then longest
    idle, skill expansion (see :mod:`acd.core.routing`), and with ``lend`` the backups
    their own filière can spare before the expansion delay (:mod:`acd.core.spare`).
    Keeps no state of its own."""

    def __init__(self, lend: Lend | None = None) -> None:
        self.lend = lend

    def pick_agent(self, call: Call, pool: AgentPool, expansion_s: list[float],
                   now: float) -> Agent | None:
        return pick_agent(call, pool, expansion_s, now, self.lend)

    def pick_call(self, agent: Agent, queues: dict[str, SkillQueue],
                  expansion: dict[str, list[float]], now: float) -> Call | None:
        return pick_call(agent, queues, expansion, now, self.lend)

    def heads(self, queue: SkillQueue) -> Iterable[Call]:
        return queue.heads()

    def offered(self, call: Call, agent: Agent, now: float) -> None:
        """Nothing to remember."""

    def call_ended(self, agent: Agent, call: Call | None, now: float) -> None:
        """Nothing to remember."""
