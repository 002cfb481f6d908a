"""The simulated people of a scenario: how each agent answers and talks, and the
feature codes they press. ``acd simulate``, the fast day and Asterisk's own queue
(:mod:`acd.tools.appqueue`) all play the same people.
"""

from __future__ import annotations

from acd.config import Config
from acd.sim import AgentBehaviour, PerAgentBehaviour, RandomBehaviour
from acd.tools.simulate.scenario import Scenario
from acd.tools.simulate.traffic import primary_skill

#: ``[acd-features]``: what an agent dials to log in, log out, pause and be ready
FEATURE_CODES = {"login": "*71", "logout": "*72", "pause": "*73", "ready": "*74"}


def behaviour_for(config: Config, scenario: Scenario) -> PerAgentBehaviour:
    """Each agent's behaviour: talk times by the queue of the call and the agent's
    primary skill (:meth:`~acd.tools.simulate.scenario.AgentsSpec.talk_range`), transfers of
    the calls of its own filière."""
    spec = scenario.agents
    per_agent: dict[str, AgentBehaviour] = {}
    for agent in config.agents:
        role = primary_skill(agent)
        per_agent[agent.id] = RandomBehaviour(
            answer_after_s=(spec.answer_after_s[0], spec.answer_after_s[1]),
            talk_s=spec.talk_range(None, role), no_answer_rate=spec.no_answer_rate,
            busy_rate=spec.busy_rate,
            agent_ends_rate=spec.agent_ends_rate,
            transfers=dict(spec.transfers.get(role, {})),
            talk_distribution=spec.talk_distribution,
            talk_in={queue: spec.talk_range(queue, role)
                     for queue in config.skill_names()},
            transfers_from=role)
    return PerAgentBehaviour(per_agent)
