"""How simulated agents and partner SAS react to an offered call: pluggable, seeded,
reproducible.

The PBX asks the agent behaviour once per offer, passing a ``random.Random`` seeded
from the simulation seed, the caller's rank among the calls placed and the number of
offers that caller had before, so the n-th offer of the k-th caller draws the same
numbers whatever the order in which calls interleave and whoever takes it: two
staffings played on the same seed differ by who answers, not by what the callers
need (``acd plan`` compares staffings this way). A partner
SAS's behaviour (:class:`PartnerBehaviour`) is drawn the same way, per partner name and
dial count.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, get_args

from acd.sim.model import Ender, OfferKind, OfferOutcome

#: extensions of ``[acd-transfer]`` (``_[A-Z].``): a transfer target is a queue name
TRANSFER_TARGET = re.compile(r"[A-Z].+")


class AgentBehaviour(Protocol):
    """Decides what an agent does with one offered call; ``queue``: the queue the call
    is offered from, as the agent's desktop shows it (None when the PBX does not know
    it: the agent then behaves as for a call of its own filière)."""

    def decide(self, agent_id: str, rng: random.Random,
               queue: str | None = None) -> OfferOutcome: ...


TalkDistribution = Literal["uniform", "exponential"]


@dataclass(frozen=True)
class RandomBehaviour:
    """Answers after a random delay, talks for a random time, sometimes does not answer,
    sometimes answers busy, sometimes transfers the call to another queue at the end of
    the talk time.

    Ranges are ``(low, high)`` simulated seconds, drawn uniformly; the talk time may
    instead be exponential with the range's midpoint as mean (``talk_distribution``).
    The talk time depends on the queue the call is offered from (``talk_in``: a backup
    answering another filière's call talks as that call needs), the same draw scaled to
    the range; transfers are made only from the agent's own filière (``transfers_from``),
    as a backup hands the call back to no one.
    """

    answer_after_s: tuple[float, float] = (1.0, 6.0)
    talk_s: tuple[float, float] = (60.0, 300.0)
    #: probability that the phone rings unanswered (until the ring time-out)
    no_answer_rate: float = 0.05
    #: probability that the phone answers busy at once (SIP 486: do-not-disturb, a call
    #: on another line), drawn with the same number as ``no_answer_rate`` so that a rate
    #: of 0 leaves every other draw as it was
    busy_rate: float = 0.0
    #: probability that the agent, rather than the caller, ends the conversation
    agent_ends_rate: float = 0.5
    #: target queue → probability that an answered call is transferred there at the end
    #: of the talk time (one draw per answered offer; the rest ends normally)
    transfers: Mapping[str, float] = field(default_factory=dict)
    #: "uniform" in ``talk_s``, or "exponential" with mean the midpoint of ``talk_s``
    talk_distribution: TalkDistribution = "uniform"
    #: queue → talk range of a call offered from that queue (``talk_s`` for the others
    #: and when the queue is not known)
    talk_in: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    #: the queue whose calls the agent transfers (its own filière); None: any call
    transfers_from: str | None = None

    def __post_init__(self) -> None:
        if self.talk_distribution not in ("uniform", "exponential"):
            raise ValueError(f"unknown talk distribution {self.talk_distribution!r}")
        if self.talk_distribution == "exponential" and any(
                sum(r) <= 0 for r in (self.talk_s, *self.talk_in.values())):
            raise ValueError("an exponential talk time needs a mean above 0 s")
        bad = [t for t in self.transfers if not TRANSFER_TARGET.fullmatch(t)]
        if bad:
            raise ValueError(f"transfer targets must be queue names ([A-Z]…): {bad}")
        if min(self.no_answer_rate, self.busy_rate) < 0 \
                or self.no_answer_rate + self.busy_rate > 1.0 + 1e-9:
            raise ValueError("no-answer and busy rates must be in [0, 1] and sum to at "
                             f"most 1: {self.no_answer_rate}, {self.busy_rate}")
        rates = list(self.transfers.values())
        if any(not 0.0 <= r <= 1.0 for r in rates) or math.fsum(rates) > 1.0 + 1e-9:
            raise ValueError(f"transfer probabilities must be in [0, 1] and sum to at most "
                             f"1: {dict(self.transfers)}")

    def decide(self, agent_id: str, rng: random.Random,
               queue: str | None = None) -> OfferOutcome:
        answer = rng.uniform(*self.answer_after_s)
        talk_s = self.talk_in.get(queue, self.talk_s) if queue is not None else self.talk_s
        talk = (rng.expovariate(2.0 / sum(talk_s))
                if self.talk_distribution == "exponential" else rng.uniform(*talk_s))
        ender: Ender = "agent" if rng.random() < self.agent_ends_rate else "caller"
        draw = rng.random()
        kind: OfferKind = "noanswer" if draw < self.no_answer_rate else \
            "busy" if draw < self.no_answer_rate + self.busy_rate else "answer"
        transfer_to: str | None = None
        own = queue is None or self.transfers_from is None or queue == self.transfers_from
        if self.transfers and kind == "answer" and own:
            draw, total = rng.random(), 0.0
            for target, rate in self.transfers.items():
                total += rate
                if draw < total:
                    transfer_to = target
                    break
        return OfferOutcome(kind=kind, answer_after_s=answer, talk_s=talk, ender=ender,
                            transfer_to=transfer_to)


@dataclass(frozen=True)
class FixedBehaviour:
    """Every agent does the same thing every time (tests)."""

    outcome: OfferOutcome = field(default_factory=OfferOutcome)

    def decide(self, agent_id: str, rng: random.Random,
               queue: str | None = None) -> OfferOutcome:
        return self.outcome


@dataclass(frozen=True)
class PerAgentBehaviour:
    """A behaviour per agent id, with a default for the others."""

    agents: dict[str, AgentBehaviour]
    default: AgentBehaviour = RandomBehaviour()

    def decide(self, agent_id: str, rng: random.Random,
               queue: str | None = None) -> OfferOutcome:
        return self.agents.get(agent_id, self.default).decide(agent_id, rng, queue)


#: what a partner SAS's trunk does with a call: ``answer``; ``noanswer`` (rings until
#: ``ACD_PARTNER_RING``); ``busy``; ``congestion``; ``unavailable`` (CHANUNAVAIL: the
#: trunk channel cannot be created, no DialBegin/DialEnd)
PartnerKind = Literal["answer", "noanswer", "busy", "congestion", "unavailable"]
PARTNER_KINDS: frozenset[str] = frozenset(get_args(PartnerKind))
PartnerEnder = Literal["caller", "partner"]


@dataclass(frozen=True)
class PartnerBehaviour:
    """What a partner SAS does with the calls sent to it (see :data:`PartnerKind`)."""

    kind: PartnerKind = "answer"
    #: simulated seconds the trunk rings before the partner answers
    answer_after_s: float = 3.0
    #: conversation length once answered: seconds, or a ``(low, high)`` range drawn per
    #: call with the seeded generator
    talk_s: float | tuple[float, float] = (60.0, 300.0)
    #: who ends an answered call: the caller (the usual case) or the partner SAS
    ender: PartnerEnder = "caller"

    def __post_init__(self) -> None:
        if self.kind not in PARTNER_KINDS:
            raise ValueError(f"unknown partner behaviour {self.kind!r}; "
                             f"one of {sorted(PARTNER_KINDS)}")

    def talk_time(self, rng: random.Random) -> float:
        if isinstance(self.talk_s, tuple):
            return rng.uniform(*self.talk_s)
        return float(self.talk_s)
