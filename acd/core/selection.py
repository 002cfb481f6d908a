"""Who gets which call, as one object the engine asks: which free agent takes a call,
which waiting call a free agent takes, in what order a queue's calls are tried.

:class:`EngineSelection` is the engine's routing (:mod:`acd.core.routing`), with the
backups rule the configuration chooses (:mod:`acd.core.spare`). Asterisk's own
``Queue()`` is compared with it on simulated days by a model of its own
(:mod:`acd.tools.appqueue`), not through this object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from acd.core.model import Agent, Call
from acd.core.routing import AgentPool, SkillQueue, pick_agent, pick_call, ring_group
from acd.core.spare import SpareRule


class EngineSelection:
    """The engine's routing: priority, handled-before-new, best level then longest
    idle, skill expansion (see :mod:`acd.core.routing`), and with ``spare`` the backups
    their own filière can spare before the expansion delay (:mod:`acd.core.spare`).
    Keeps no state of its own."""

    def __init__(self, spare: SpareRule | None = None) -> None:
        self.spare = spare

    def pick_agent(self, call: Call, pool: AgentPool, expansion_s: list[float],
                   now: float) -> Agent | None:
        return pick_agent(call, pool, expansion_s, now, self.spare)

    def pick_call(self, agent: Agent, queues: dict[str, SkillQueue],
                  expansion: dict[str, list[float]], now: float) -> Call | None:
        return pick_call(agent, queues, expansion, now, self.spare)

    def ring_group(self, call: Call, first: Agent, pool: AgentPool, expansion_s: list[float],
                   now: float, size: int, free: Callable[[Agent], bool]) -> Iterator[Agent]:
        return ring_group(call, first, pool, expansion_s, now, size, free, self.spare)

    def heads(self, queue: SkillQueue) -> Iterable[Call]:
        return queue.heads()
