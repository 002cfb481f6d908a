"""A discrete-event model of Asterisk's ``app_queue``: a room whose callers wait in
native ``Queue()`` applications, without the router.

Each caller runs app_queue's own loop, as read in ``apps/app_queue.c``:

1. **Its turn** (``wait_our_turn``): on joining, then once a second (``RECHECK``) from
   its own join time, the caller asks whether it is its turn (``is_our_turn``,
   :mod:`acd.tools.appqueue.turns`). Without ``autofill`` (app_queue's default) only
   the caller at the head of the queue is ever served: the others wait behind it even
   with free members. A free member is noticed only at a caller's next check, up to a
   second later.
2. **A try** (``try_calling``): the members in the caller's penalty range get their
   metric (:mod:`acd.tools.appqueue.metric`) and the best one rings; with ``ringall``
   every member of the best penalty that can be rung rings at once, each with its own
   answer delay: the first to answer takes the call, the others stop ringing then, and
   nobody answers only if none of them does. A member that answers busy is replaced at
   once by the next best (``ringall``: the next penalty level, once every phone of this
   one is done). The phones ring for ``timeout`` seconds.
3. **Retry** (``wait_a_bit``): after a try nobody answered (or in which nobody could be
   rung: every member in range busy, or the caller's range holding none of the free
   members), the caller waits ``retry`` seconds, then tries again if it is still its
   turn, else goes back to its one-second checks.
4. **Queue rules** (``update_qe_rule``): after each check that was not its turn and
   after each try, every rule whose seconds have passed (whole seconds since the whole
   second it joined) changes its ``QUEUE_MAX_PENALTY`` / ``QUEUE_MIN_PENALTY``; a try
   uses the limits as they are when it starts.
5. **Wrap-up per queue**: a member's ``lastcall`` (whole seconds) and ``calls`` are its
   own in each queue (``shared_lastcall = no``): after a call of queue A, it can be rung
   for queue B at once, for A after A's ``wrapuptime``.
6. **Weight** (``compare_weight``): with a weight on some queue, a member is not rung
   for a queue while a queue of higher weight it belongs to has callers and no more
   available members than callers. Without weights, a member of several queues goes
   to whichever caller's one-second check comes first.
7. **Order** within a queue: ``QUEUE_PRIO`` (9 − the router's priority, so priority 0
   is served first), then time of joining; a transferred caller joins the target queue
   at the tail of its priority.

The day around it is the fast day's (:mod:`acd.tools.fastday`): the caller is placed at
its planned time, answered by the dialplan half a second later (``Answer()``) and only
then joins its queue; its patience runs from its placement until its first pick-up.
Each phone rung is one offer of the caller, drawn as the simulated PBX draws it
(``random.Random(f"{seed}:call{k}:{n}")`` for the n-th offer of the k-th caller placed),
so the same caller needs the same talk and answer times in both rooms. At the end of
its talk an agent whose behaviour says "transfer to Q" blind-transfers the caller into
Q's queue (``Queue(Q)`` again); a call to a number that goes to an external PDSA line
in PDSA hours is forwarded there on arrival, as the router does.

Not modelled: position and periodic announcements, ``joinempty`` / ``leavewhenempty``
(callers always join and stay), ``ringinuse = yes``, ``autopause``, member delay and
announcements to the member, ``timeoutrestart``, the ``wrandom`` and ``rrordered``
strategies, ``penaltymemberslimit``, ``QUEUE_RAISE_PENALTY``, partner overflow and
bascules (the router's, not app_queue's), warm transfers (every transfer is blind).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from acd.config import FRONT_OFFICE, Config
from acd.core.hours import route_number
from acd.core.model import Leg, Outcome
from acd.core.records import CallRecord
from acd.sim.behaviour import AgentBehaviour
from acd.sim.model import OfferOutcome
from acd.tools.appqueue.agenda import Agenda
from acd.tools.appqueue.metric import candidates, find_best, store_next
from acd.tools.appqueue.options import AppQueueOptions
from acd.tools.appqueue.records import call_record
from acd.tools.appqueue.state import (
    Attempt,
    Caller,
    Entry,
    Member,
    Queue,
    Ringing,
    build_room,
)
from acd.tools.appqueue.turns import can_ring, our_turn

#: seconds between two checks of a waiting caller (app_queue's ``RECHECK``)
RECHECK_S = 1.0
#: the dialplan's ``Answer()`` before ``Queue()``: 500 ms, as the simulated PBX
ANSWER_WAIT_S = 0.5
#: QUEUE_PRIO of a call of the router's priority 0 (9 − priority: higher first)
TOP_PRIO = 9
#: patience of a caller placed without one (the simulated PBX's)
DEFAULT_PATIENCE_S = 600.0


@dataclass(frozen=True)
class Ring:
    """A phone rung for a caller: what the tests and the curious read."""

    at: float
    #: the caller's rank among the calls placed
    call: int
    queue: str
    agent: str


def whole(now: float) -> int:
    """``time(NULL)``: the whole second app_queue reads."""
    return math.floor(now)


def apply_due_rules(entry: Entry, second: int) -> None:
    """Every rule of the caller's list whose seconds have passed, in order."""
    rules = entry.queue.rules
    waited = second - entry.start
    while entry.next_rule < len(rules) and waited >= rules[entry.next_rule].after_s:
        entry.max_penalty, entry.min_penalty = rules[entry.next_rule].apply(
            entry.max_penalty, entry.min_penalty)
        entry.next_rule += 1


class AppQueueModel:
    """The room: calls placed and agents' features in, call records out."""

    def __init__(self, config: Config, options: AppQueueOptions, *,
                 behaviour: AgentBehaviour, seed: int, start: float,
                 answer_wait_s: float = ANSWER_WAIT_S) -> None:
        self.config = config
        self.agenda = Agenda(start)
        self.room = build_room(config, options)
        self.behaviour = behaviour
        self.seed = seed
        self.answer_wait_s = answer_wait_s
        #: every caller placed, in order (its rank seeds its offers)
        self.callers: list[Caller] = []
        #: every phone rung, in order
        self.rings: list[Ring] = []
        self._rng = random.Random(f"{seed}:appqueue")

    # ---------------------------------------------------------------- inputs

    def place_call(self, number: str, *, caller_name: str = "",
                   patience_s: float = DEFAULT_PATIENCE_S,
                   priority: int | None = None) -> Caller:
        """A caller dials ``number`` now; it hangs up after ``patience_s`` unless an
        agent picked it up."""
        now = self.agenda.now
        caller = Caller(index=len(self.callers), number=number, caller_name=caller_name,
                        priority=self.config.routing.default_priority if priority is None
                        else priority, placed_at=now)
        self.callers.append(caller)
        caller.patience = self.agenda.at(now + patience_s, lambda: self._patience_over(caller))
        self.agenda.at(now + self.answer_wait_s, lambda: self._arrive(caller))
        return caller

    def feature(self, agent: str, kind: str) -> None:
        """An agent's feature (``login``, ``logout``, ``pause``, ``ready``) on its phone;
        logged out or paused, it is rung no more, a call in progress goes on. An
        unknown agent or feature changes nothing."""
        phone = self.room.phones.get(agent)
        if phone is None:
            return
        if kind in ("login", "logout"):
            phone.logged_in = kind == "login"
        elif kind in ("pause", "ready"):
            phone.paused = kind == "pause"

    def run(self, until: float) -> None:
        self.agenda.run(until)

    def records(self) -> list[CallRecord]:
        """One record per caller that joined the room, in order of placement."""
        zone = self.config.zone()
        return [call_record(c, zone) for c in self.callers if c.arrived_at is not None]

    # ---------------------------------------------------------------- arrival

    def _arrive(self, caller: Caller) -> None:
        if caller.outcome is not None:
            return
        now = self.agenda.now
        route = route_number(self.config, caller.number, now)
        caller.arrived_at, caller.period = now, route.period
        if route.external:  # PDSA hours: the number goes to its PDSA line
            if caller.patience is not None:
                caller.patience.cancel()
            caller.legs.append(Leg(FRONT_OFFICE, now))
            caller.outcome, caller.ended_at = Outcome.FORWARDED, now
            return
        queues = self.room.queues
        self._join(caller, queues.get(route.destination) or queues[FRONT_OFFICE])

    def _join(self, caller: Caller, queue: Queue) -> None:
        now = self.agenda.now
        entry = Entry(caller, queue, prio=TOP_PRIO - caller.priority, joined_at=now,
                      start=whole(now), max_penalty=queue.max_penalty,
                      min_penalty=queue.min_penalty)
        callers = queue.callers
        place = next((n for n, other in enumerate(callers) if other.prio < entry.prio),
                     len(callers))
        callers.insert(place, entry)
        caller.entry = entry
        caller.legs.append(Leg(queue.name, now))
        self._check_turn(entry)

    def _leave(self, entry: Entry) -> None:
        entry.queue.callers.remove(entry)
        entry.caller.entry = None

    # ---------------------------------------------------------------- the loop

    def _check_turn(self, entry: Entry) -> None:
        """``wait_our_turn``: try now if it is its turn, else look again in a second."""
        now = self.agenda.now
        second = whole(now)
        if our_turn(entry, second):
            self._try(entry, second)
            return
        apply_due_rules(entry, second)
        entry.step = self.agenda.at(now + RECHECK_S, lambda: self._check_turn(entry))

    def _try(self, entry: Entry, second: int) -> None:
        """``try_calling``: ring the best member(s) for ``timeout`` seconds."""
        entry.pending = True
        attempt = Attempt(deadline=self.agenda.now + entry.queue.timeout_s,
                          candidates=candidates(entry, second, self._rng))
        entry.attempt = attempt
        self._ring_best(entry, attempt, second)
        store_next(entry, attempt)
        self._replace_busy(entry, attempt, second)
        if not attempt.ringing:
            self._try_over(entry)
            return
        entry.step = self.agenda.at(attempt.deadline, lambda: self._time_out(entry))

    def _ring_best(self, entry: Entry, attempt: Attempt, second: int) -> None:
        """``ring_one``: the best candidate (``ringall``: every candidate of the best
        metric) that can be rung; on to the next best while none could."""
        ringall = entry.queue.strategy == "ringall"
        while (best := find_best(attempt)) is not None:
            group = [c for c in attempt.candidates if not c.tried and c.metric <= best.metric] \
                if ringall else [best]
            rang = False
            for candidate in group:
                candidate.tried = True
                rang = self._ring(entry, attempt, candidate.member, second) or rang
            if rang:
                return

    def _ring(self, entry: Entry, attempt: Attempt, member: Member, second: int) -> bool:
        """Ring ``member``'s phone if it can be rung; False if not."""
        if not can_ring(self.room, entry.queue, member, second):
            return False
        caller = entry.caller
        outcome = self._offer(caller, member.phone.agent, entry.queue.name)
        if outcome.kind == "unavailable":
            return False
        now = self.agenda.now
        ringing = Ringing(member, outcome)
        member.phone.ringing_for = entry
        attempt.ringing.append(ringing)
        self.rings.append(Ring(now, caller.index, entry.queue.name, member.phone.agent))
        if outcome.kind == "answer" and outcome.answer_after_s < attempt.deadline - now:
            ringing.answer = self.agenda.at(now + outcome.answer_after_s,
                                            lambda: self._answered(entry, ringing))
        return True

    def _offer(self, caller: Caller, agent: str, queue: str) -> OfferOutcome:
        """What ``agent`` does with the caller's next offer from ``queue``, drawn as the
        PBX draws it."""
        rng = random.Random(f"{self.seed}:call{caller.index}:{caller.offers}")
        caller.offers += 1
        return self.behaviour.decide(agent, rng, queue)

    def _replace_busy(self, entry: Entry, attempt: Attempt, second: int) -> None:
        """Phones that answered busy stop; when none rings any more, the next best."""
        while busy := [r for r in attempt.ringing if r.outcome.kind == "busy"]:
            for ringing in busy:
                self._stop_ringing(ringing)
                attempt.ringing.remove(ringing)
            if attempt.ringing:
                return
            self._ring_best(entry, attempt, second)

    def _stop_ringing(self, ringing: Ringing) -> None:
        ringing.member.phone.ringing_for = None
        if ringing.answer is not None:
            ringing.answer.cancel()

    def _time_out(self, entry: Entry) -> None:
        attempt = entry.attempt
        if attempt is not None:
            for ringing in attempt.ringing:
                self._stop_ringing(ringing)
        self._try_over(entry)

    def _try_over(self, entry: Entry) -> None:
        """Nobody answered: the rules due, then ``retry`` seconds of waiting."""
        entry.pending = False
        entry.attempt = None
        now = self.agenda.now
        apply_due_rules(entry, whole(now))
        entry.step = self.agenda.at(now + entry.queue.retry_s, lambda: self._check_turn(entry))

    # ---------------------------------------------------------------- the call

    def _answered(self, entry: Entry, ringing: Ringing) -> None:
        attempt = entry.attempt
        if attempt is not None:
            for other in attempt.ringing:
                if other is not ringing:
                    self._stop_ringing(other)
        if entry.step is not None:
            entry.step.cancel()
        entry.attempt, entry.pending = None, False
        self._leave(entry)
        now = self.agenda.now
        caller, member = entry.caller, ringing.member
        phone = member.phone
        phone.ringing_for, phone.talking_with = None, caller
        leg = caller.legs[-1]
        leg.agent, leg.answered_at = phone.agent, now
        if caller.answered_at is None:
            caller.answered_at, caller.answered_by = now, phone.agent
            if caller.patience is not None:
                caller.patience.cancel()
        target = ringing.outcome.transfer_to
        self.agenda.at(now + ringing.outcome.talk_s,
                       lambda: self._talk_over(caller, member, target))

    def _talk_over(self, caller: Caller, member: Member, target: str | None) -> None:
        """The conversation ends: the member's queue counts it; the caller hangs up, or
        is blind-transferred into ``target``'s queue."""
        now = self.agenda.now
        member.phone.talking_with = None
        member.lastcall = whole(now)
        member.calls += 1
        caller.legs[-1].ended_at = now
        queue = self.room.queues.get(target) if target is not None else None
        if queue is not None:
            self._join(caller, queue)
            return
        caller.outcome, caller.ended_at = Outcome.ANSWERED, now

    def _patience_over(self, caller: Caller) -> None:
        if caller.outcome is not None or caller.answered_at is not None:
            return
        entry = caller.entry
        if entry is not None:
            if entry.step is not None:
                entry.step.cancel()
            if entry.attempt is not None:
                for ringing in entry.attempt.ringing:
                    self._stop_ringing(ringing)
            entry.attempt = None
            self._leave(entry)
        caller.outcome, caller.ended_at = Outcome.ABANDONED, self.agenda.now
