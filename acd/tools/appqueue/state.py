"""The room as app_queue sees it: phones, queue members, queues, the callers in them.

Names follow ``app_queue.c`` where it has one: a :class:`Member` is one queue's
``struct member`` (its own penalty, ``lastcall`` and ``calls``: ``shared_lastcall =
no``), an :class:`Entry` is a ``struct queue_ent`` (one caller in one queue), an
:class:`Attempt` is one ``try_calling`` with its ``callattempt`` list. A
:class:`Phone` is what the members of one agent share: the device and its state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from acd.config import Config
from acd.core.model import Leg, Outcome
from acd.sim.model import OfferOutcome
from acd.tools.appqueue.agenda import Timer
from acd.tools.appqueue.options import AppQueueOptions
from acd.tools.appqueue.rules import PenaltyChange


@dataclass(eq=False, slots=True)
class Phone:
    """An agent's device: it rings for one caller or talks with one (``ringinuse =
    no``: a phone in use or ringing is never rung)."""

    agent: str
    logged_in: bool = False
    paused: bool = False
    #: the caller it rings for (device state RINGING)
    ringing_for: Entry | None = None
    #: the caller it talks with (device state INUSE)
    talking_with: Caller | None = None

    def free(self) -> bool:
        """Logged in, not paused, not in use, not ringing (device NOT_INUSE)."""
        return (self.logged_in and not self.paused and self.ringing_for is None
                and self.talking_with is None)


@dataclass(eq=False, slots=True)
class Member:
    """An agent as a member of one queue."""

    phone: Phone
    penalty: int
    #: place in the queue's member list (``linear``, ``rrmemory``)
    position: int
    #: whole second when its last call of this queue ended (None: never)
    lastcall: int | None = None
    #: calls of this queue it took
    calls: int = 0


@dataclass(eq=False, slots=True)
class Queue:
    """One queue with its settings resolved, its members and its callers in order."""

    name: str
    strategy: str
    autofill: bool
    timeout_s: float
    retry_s: float
    wrapup_s: int
    weight: int
    rules: tuple[PenaltyChange, ...]
    max_penalty: int | None
    min_penalty: int | None
    members: list[Member] = field(default_factory=list)
    #: callers in queue order: QUEUE_PRIO (highest first), then time of joining
    callers: list[Entry] = field(default_factory=list)
    #: ``rrmemory``: the member position to start from
    rrpos: int = 0
    wrapped: bool = False


@dataclass(eq=False, slots=True)
class Caller:
    """A caller from arrival to hang-up, across the queues it visits."""

    #: rank among the calls placed: seeds its offers as the simulated PBX does
    index: int
    number: str
    caller_name: str
    #: the router's priority (0 = life-threatening)
    priority: int
    placed_at: float
    #: when it joined its first queue (after the dialplan's Answer); None: not yet
    arrived_at: float | None = None
    period: str = "sas"
    legs: list[Leg] = field(default_factory=list)
    answered_at: float | None = None
    answered_by: str | None = None
    ended_at: float | None = None
    #: None while the call goes on: answered, abandoned, forwarded
    outcome: Outcome | None = None
    #: phones rung for it so far (the n-th offer's draws)
    offers: int = 0
    #: its place in a queue while it waits there
    entry: Entry | None = None
    patience: Timer | None = None


@dataclass(eq=False, slots=True)
class Candidate:
    """One member in a try's list (``struct callattempt``) with its metric."""

    member: Member
    metric: int
    #: rung, or found unable to ring: no longer a candidate
    tried: bool = False


@dataclass(eq=False, slots=True)
class Ringing:
    """A phone ringing for a try, and what its agent will do."""

    member: Member
    outcome: OfferOutcome
    answer: Timer | None = None


@dataclass(eq=False, slots=True)
class Attempt:
    """One try of a caller: its candidates and the phones ringing until ``deadline``."""

    deadline: float
    #: app_queue's ``outgoing`` list: built by prepending, so in reverse member order
    candidates: list[Candidate]
    ringing: list[Ringing] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Entry:
    """One caller waiting in one queue."""

    caller: Caller
    queue: Queue
    #: QUEUE_PRIO: higher is served first
    prio: int
    joined_at: float
    #: the whole second it joined (``qe->start``): rules count from it
    start: int
    max_penalty: int | None
    min_penalty: int | None
    #: the next rule of the queue's list to apply
    next_rule: int = 0
    #: ``linear``: the member position to start from, and whether a later one exists
    linpos: int = 0
    linwrapped: bool = False
    #: a try is ringing for it (callers behind it may go ahead, with ``autofill``)
    pending: bool = False
    #: its next one-second check, retry or ring time-out
    step: Timer | None = None
    attempt: Attempt | None = None


@dataclass(eq=False)
class Room:
    """Every queue and phone, and who belongs where."""

    queues: dict[str, Queue]
    phones: dict[str, Phone]
    #: agent → (queue, its member there) for each queue it belongs to
    memberships: dict[str, list[tuple[Queue, Member]]]

    @property
    def use_weight(self) -> bool:
        """app_queue compares weights only when some queue has one."""
        return any(queue.weight for queue in self.queues.values())


def build_room(config: Config, options: AppQueueOptions) -> Room:
    """Every skill of the site as a queue, its members in the roster's order.

    An agent holding a skill at level L is a member of its queue with penalty L − 1
    (level 1, the primary, is penalty 0), for the levels the router can reach (level 1,
    and level L when the skill's ``expansion_s`` has an (L − 1)-th delay): the same
    people answer in both rooms. Members are static (``member =>`` lines in roster
    order); an agent logged out or paused is a member that cannot be rung.
    """
    phones = {agent.id: Phone(agent.id, logged_in=agent.logged_in) for agent in config.agents}
    queues: dict[str, Queue] = {}
    memberships: dict[str, list[tuple[Queue, Member]]] = {a: [] for a in phones}
    for name in config.skill_names():
        settings, skill = options.for_queue(name), config.skill(name)
        queue = Queue(name=name, strategy=settings.strategy, autofill=settings.autofill,
                      timeout_s=settings.ring_s(config.routing.ring_timeout_s),
                      retry_s=settings.retry_s, wrapup_s=settings.wrapup(skill.wrap_up_s),
                      weight=settings.weight, rules=settings.rules,
                      max_penalty=settings.max_penalty, min_penalty=settings.min_penalty)
        for agent in config.agents:
            level = agent.skills.get(name)
            if level is None or level - 1 > len(skill.expansion_s):
                continue
            member = Member(phones[agent.id], penalty=level - 1, position=len(queue.members))
            queue.members.append(member)
            memberships[agent.id].append((queue, member))
        queues[name] = queue
    return Room(queues=queues, phones=phones, memberships=memberships)
