"""How simulated agents react to an offered call: pluggable, seeded, reproducible.

The PBX asks the behaviour once per offer, passing a ``random.Random`` seeded from
the simulation seed, the agent id and the agent's offer count, so an agent's n-th
offer gets the same outcome whatever the order in which calls interleave.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Protocol

from acd.sim.model import Ender, OfferKind, OfferOutcome


class AgentBehaviour(Protocol):
    """Decides what an agent does with one offered call."""

    def decide(self, agent_id: str, rng: random.Random) -> OfferOutcome: ...


@dataclass(frozen=True)
class RandomBehaviour:
    """Answers after a random delay, talks for a random time, sometimes does not answer.

    Ranges are ``(low, high)`` simulated seconds, drawn uniformly.
    """

    answer_after_s: tuple[float, float] = (1.0, 6.0)
    talk_s: tuple[float, float] = (60.0, 300.0)
    #: probability that the phone rings unanswered (until the ring time-out)
    no_answer_rate: float = 0.05
    #: probability that the agent, rather than the caller, ends the conversation
    agent_ends_rate: float = 0.5

    def decide(self, agent_id: str, rng: random.Random) -> OfferOutcome:
        answer = rng.uniform(*self.answer_after_s)
        talk = rng.uniform(*self.talk_s)
        ender: Ender = "agent" if rng.random() < self.agent_ends_rate else "caller"
        kind: OfferKind = "noanswer" if rng.random() < self.no_answer_rate else "answer"
        return OfferOutcome(kind=kind, answer_after_s=answer, talk_s=talk, ender=ender)


@dataclass(frozen=True)
class FixedBehaviour:
    """Every agent does the same thing every time (tests)."""

    outcome: OfferOutcome = field(default_factory=OfferOutcome)

    def decide(self, agent_id: str, rng: random.Random) -> OfferOutcome:
        return self.outcome


@dataclass(frozen=True)
class PerAgentBehaviour:
    """A behaviour per agent id, with a default for the others."""

    agents: dict[str, AgentBehaviour]
    default: AgentBehaviour = RandomBehaviour()

    def decide(self, agent_id: str, rng: random.Random) -> OfferOutcome:
        return self.agents.get(agent_id, self.default).decide(agent_id, rng)
