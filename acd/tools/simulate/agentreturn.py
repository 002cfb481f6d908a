"""Simulated people the router paused "no answer" come back, as people in a room do.

The router pauses an agent whose phone rang unanswered ``max_missed_offers`` times in
a row (``acd.core.offering``): in a room the agent, or the supervisor, sees it and
makes them ready again within minutes. A simulated agent never looked at a screen, so
without this a 2 % no-answer rate took one of eight people out for the rest of a
simulated day. Each pause draws, from its own seeded stream (the other draws stay as
they were), a delay in the scenario's ``[agents] ready_after_pause_s``; then, if the
agent is still paused for no answer, they press the ready feature code. The fast day
and ``acd simulate`` both use it.
"""

from __future__ import annotations

import random

from acd.core.constants import NO_ANSWER_REASON
from acd.core.model import Agent, AgentState


class PausedAgentsReturn:
    """When an agent paused for no answer presses ready again."""

    def __init__(self, after_s: tuple[float, float], seed: int) -> None:
        self.after_s = after_s
        self._rng = random.Random(f"ready-after-pause:{seed}")

    def delay(self) -> float:
        """Seconds from the pause to the ready press, for the next pause."""
        low, high = self.after_s
        return self._rng.uniform(low, high)


def still_paused_for_no_answer(agent: Agent | None) -> bool:
    """The agent has not been made ready or logged out meanwhile."""
    return agent is not None and agent.state is AgentState.PAUSED \
        and agent.pause_reason == NO_ANSWER_REASON
