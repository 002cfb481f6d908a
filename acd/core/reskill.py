"""Re-skilling: an agent's skills and levels change while the router runs.

The ARM rotate between N1 (front office) and N2 (AMU) during a shift; a supervisor
says so through the API (``PUT /api/v1/agents/{id}/skills``), which gives the engine
an :class:`~acd.core.inputs.AgentReskill`. The new skills apply from the next offer:
an available agent leaves the pool under its old skills and comes back under the new
ones (and may be offered a waiting call of a new skill at once); a call already
ringing or talking stays where it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acd.core import facts as f
from acd.core import inputs as i
from acd.core.model import AgentState

if TYPE_CHECKING:
    from acd.core.base import EngineBase
    from acd.core.ports import SkillsView

#: the levels a skill may have (as in ``agents[].skills`` of the config)
LEVELS = range(1, 10)


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


def apply_reskill(engine: EngineBase, request: i.AgentReskill) -> None:
    """Replace the agent's skills (see the module docstring); an invalid request is
    ignored with its reason (the API answers 422 before it gets here)."""
    problem = reskill_problem(engine, request)
    if problem is not None:
        engine._ignore_text("AgentReskill", problem)
        return
    agent = engine.agents[request.agent]
    old = dict(agent.skills)
    pooled = agent.state is AgentState.AVAILABLE and not agent.device_busy
    if pooled:
        engine.pool.discard(agent)  # indexed under the old skills
    agent.skills = dict(request.skills)
    engine._facts.append(f.AgentReskilled(at=engine.now, agent=agent.id, old=old,
                                          new=dict(agent.skills), by=request.by,
                                          reason=request.reason))
    if pooled:
        engine.pool.add(agent)
        engine._dispatch_agent(agent)
