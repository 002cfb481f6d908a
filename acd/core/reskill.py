"""Re-skilling: an agent's skills and levels change while the router runs.

The ARM rotate between N1 (front office) and N2 (AMU) during a shift; a supervisor
says so through the API (``PUT /api/v1/agents/{id}/skills``), which gives the engine
an :class:`~acd.core.inputs.AgentReskill`. The check lives here;
:class:`~acd.core.agents.Agents` applies a valid request. The new skills apply from
the next offer: an available agent leaves the pool under its old skills and comes back under the new
ones (and may be offered a waiting call of a new skill at once); a call already
ringing or talking stays where it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from acd.core import inputs as i

if TYPE_CHECKING:
    from acd.config import Config
    from acd.core.model import Agent
    from acd.core.routing import SkillQueue

#: the levels a skill may have (as in ``agents[].skills`` of the config)
LEVELS = range(1, 10)


class SkillsView(Protocol):
    """The agents, the queues and the config (what a reskill request is checked on)."""

    @property
    def config(self) -> Config: ...
    @property
    def agents(self) -> Mapping[str, Agent]: ...
    @property
    def queues(self) -> Mapping[str, SkillQueue]: ...


def reskill_problem(engine: SkillsView, request: i.AgentReskill) -> str | None:
    """Why ``request`` cannot apply, or None."""
    agent = engine.agents.get(request.agent)
    if agent is None or agent.observed:
        return f"unknown agent {request.agent!r}"
    if not request.skills:
        return f"agent {agent.id}: an agent needs at least one skill"
    unknown = sorted(set(request.skills) - set(engine.queues))
    if unknown:
        return (f"agent {agent.id}: unknown skill {', '.join(unknown)} "
                f"(known: {', '.join(engine.queues)})")
    bad = sorted(s for s, level in request.skills.items() if level not in LEVELS)
    if bad:
        return f"agent {agent.id}: levels must be 1 to 9 ({', '.join(bad)})"
    for skill, level in sorted(request.skills.items()):
        reachable = len(engine.config.skill(skill).expansion_s) + 1
        if level > reachable:  # as check-config says of agents[].skills
            return (f"agent {agent.id}: level {level} of {skill} never gets calls: "
                    f"skills.{skill}.expansion_s only opens levels up to {reachable}")
    return None

