"""Fail open: ``[holding]``'s heartbeat check and ``[acd-failopen]``'s native queue.

The dialplan (``dialplans/extensions_acd.conf``) checks, each time a caller enters
``[holding]`` and between two ``MusicOnHold()`` of the loop, whether the router's
heartbeat global (``ACD_HEARTBEAT``, refreshed by the router with an AMI ``Setvar``
without ``Channel``) is older than ``ACD_FAILOPEN_S``. If so the caller goes to
``Queue(${ACD_FAILOPEN_QUEUE})``: Asterisk's own queue of the front-office phones
(``dialplans/queues_acd.conf``: ``rrmemory``, ``autofill = yes``, ring 15 s, retry 2 s,
``ringinuse = no``, ``joinempty = yes``, ``leavewhenempty = no``), which rings a free
member for every waiting caller, first caller first, until one answers. Without the
``c`` option the caller is hung up when the agent ends the conversation, as after an
answered Dial in ``acd-connect``.

Events follow transcript 05 (native app queue): ``QueueCallerJoin``, the member's
Dial (``DialBegin``/``DialEnd``, the caller's channel dialling), ``AgentCalled``,
``AgentRingNoAnswer``, ``QueueCallerLeave`` and ``AgentConnect`` at the answer,
``AgentComplete`` at the end, ``QueueCallerAbandon`` when a caller hangs up waiting.
Members are dynamic, as ``queues_acd.conf`` now has them: the router adds, removes and
pauses them (AMI ``QueueAdd``, ``QueueRemove``, ``QueuePause``, :mod:`acd.sim.pbx_actions`),
events ``QueueMemberAdded``/``QueueMemberRemoved``/``QueueMemberPause`` as recorded in
transcript 05. The PBX starts with every front-office phone as an unpaused dynamic
member, as app_queue's ``persistentmembers`` gives them back after a restart. A paused
member is never rung. Members an earlier configuration left there
(:meth:`NativeQueue.persist`, a scenario's ``[pbx] stale_failopen_members``) are kept
as app_queue keeps them, over a restart (the queue lives with the PBX, not with its AMI
sessions) and a reload, until a ``QueueRemove``; their phones ring unanswered, as the
stale ``PJSIP/2001``–``2003`` of recording live t3-25 held the first callers in 15 s
rings (``AgentRingNoAnswer``) while the router was away. Callers rung on them are
counted (:attr:`NativeQueue.stale_rung`).

``autofill = yes`` (the shipped file): every waiting caller rings a free member at
once; with :attr:`NativeQueue.autofill` False (app_queue's default, recording live 07)
only the caller at the head of the queue rings, the others wait.

Not modelled: penalties, wrap-up time, the queue's own time-out (the dialplan sets
none), a member's device state seen through a hint.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from acd.config import AgentConfig, is_front_office
from acd.sim.connect import Connect
from acd.sim.kernel import Kernel
from acd.sim.model import Call, Dial, Phase

#: queues_acd.conf: seconds a member rings, then seconds before the next round
MEMBER_RING_S = 15.0
RETRY_S = 2.0
FAILOPEN_VAR = "ACD_FAILOPEN_S"


def fail_open_test(heartbeat_var: str) -> str:
    """The GotoIf of ``[holding]``, as the dialplan writes it."""
    return (f"$[0${{{FAILOPEN_VAR}}} > 0 & ${{EPOCH}} - 0${{{heartbeat_var}}} > "
            f"0${{{FAILOPEN_VAR}}}]?")


@dataclass
class QueueMember:
    """One member of the fail-open queue, as app_queue keeps it."""

    interface: str
    name: str
    login_time: int
    paused: bool = False
    reason: str = ""
    dynamic: bool = True
    last_pause: int = 0

    def headers(self, queue: str) -> list[tuple[str, str]]:
        """The member block of QueueMemberAdded/Removed/Pause (transcript 05)."""
        return [("Queue", queue), ("MemberName", self.name), ("Interface", self.interface),
                ("StateInterface", self.interface),
                ("Membership", "dynamic" if self.dynamic else "static"), ("Penalty", "0"),
                ("CallsTaken", "0"), ("LastCall", "0"), ("LastPause", str(self.last_pause)),
                ("LoginTime", str(self.login_time)), ("InCall", "0"), ("Status", "1"),
                ("Paused", "1" if self.paused else "0"), ("PausedReason", self.reason),
                ("Ringinuse", "0"), ("Wrapuptime", "0")]


def member_name(interface: str) -> str:
    """The name a configuration gave a member: the resource of its interface
    (``PJSIP/2002`` → ``2002``, ``Local/1099@agents`` → ``1099``)."""
    resource = interface.partition("/")[2] or interface
    return resource.partition("@")[0] or resource


def _number(text: str) -> float:
    try:
        return float(text or "0")
    except ValueError:
        return 0.0


def router_silent(kernel: Kernel) -> bool:
    """``[holding]``'s check: heartbeat older than ``ACD_FAILOPEN_S`` (0/empty: off)."""
    limit = _number(kernel.globals.get(FAILOPEN_VAR, ""))
    if limit <= 0:
        return False
    heartbeat = _number(kernel.globals.get(kernel.names.heartbeat_var, ""))
    return int(kernel.host.now()) - int(heartbeat) > limit  # ${EPOCH}


class NativeQueue:
    """The fail-open queue of one simulated PBX: the ``[acd-failopen]`` context, and
    the application its members' dials return to."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        #: callers in the queue, in order (ringing ones keep their place)
        self.waiting: list[Call] = []
        #: calls that went through the native queue, and when they joined it (for tests)
        self.joined: list[Call] = []
        self.joined_at: list[float] = []
        self._last_called: dict[str, float] = {}
        #: call index → when its next ring may start (``retry`` after a failed one)
        self._retry_at: dict[int, float] = {}
        self._dispatch_pending = False
        #: queues_acd.conf's autofill (yes in the shipped file)
        self.autofill = True
        #: queues_acd.conf's strategy
        self.strategy = "rrmemory"
        #: (caller channel, member) of each ring of a member no agent of the site
        #: answers (:meth:`persist`)
        self.stale_rung: list[tuple[str, str]] = []
        login = int(kernel.clock.now())
        #: members by interface, in the order they were added
        self.member_list: dict[str, QueueMember] = {
            a.device: QueueMember(a.device, a.id, login)
            for a in kernel.agents.values() if is_front_office(a.skills)}

    def members(self) -> list[AgentConfig]:
        """The members that may be rung: not paused, and a phone the PBX knows."""
        by_device = self.kernel.by_device
        return [by_device[m.interface] for m in self.member_list.values()
                if not m.paused and m.interface in by_device]

    def persist(self, interfaces: Iterable[str]) -> None:
        """Members an earlier configuration left in the queue (``persistentmembers``):
        dynamic, unpaused, already there when the PBX starts, named as a ``QueueAdd``
        of that configuration named them (``PJSIP/2002`` → ``2002``, live t3-25). Their
        phones exist and ring unanswered unless an agent of the site has them."""
        login = int(self.kernel.clock.now())
        for interface in interfaces:
            name = member_name(interface)
            self.kernel.add_unattended_phone(interface, name)
            self.member_list.setdefault(interface, QueueMember(interface, name, login))

    def callers_rung_stale(self) -> int:
        """Callers rung at least once on a member no agent of the site answers."""
        return len({caller for caller, _ in self.stale_rung})

    # ---------------------------------------------------------------- AMI members

    def add(self, interface: str, name: str, paused: bool) -> str | None:
        """QueueAdd; the error message Asterisk gives, or None."""
        if interface in self.member_list:
            return "Unable to add interface: Already there"
        member = QueueMember(interface, name or interface, int(self.kernel.clock.now()),
                             paused=paused)
        self.member_list[interface] = member
        self._member_event("QueueMemberAdded", member)
        self.soon()
        return None

    def remove(self, interface: str) -> str | None:
        member = self.member_list.get(interface)
        if member is None:
            return "Unable to remove interface: Not there"
        if not member.dynamic:
            return "Unable to remove interface from queue: Not dynamic"
        del self.member_list[interface]
        self._member_event("QueueMemberRemoved", member)
        return None

    def pause(self, interface: str, paused: bool, reason: str) -> str | None:
        member = self.member_list.get(interface)
        if member is None:
            return "Interface not found"
        member.paused, member.reason = paused, reason if paused else ""
        member.last_pause = int(self.kernel.clock.now())
        self._member_event("QueueMemberPause", member)
        if not paused:
            self.soon()
        return None

    def _member_event(self, name: str, member: QueueMember) -> None:
        self.kernel.events.emit(name, member.headers(self._queue_name()), "agent")

    def goto(self, call: Call, exten: str, priority: int) -> bool:
        """``acd-failopen,s,1`` (``[holding]``'s fail-open check sends callers there)."""
        if exten != "s" or priority != 1:
            return False
        self.join(call)
        return True

    def join(self, call: Call) -> None:
        kernel, names = self.kernel, self.kernel.names
        queue = self._queue_name()
        kernel.events.step(call.trunk, names.failopen_context, "s", 1, "Queue", queue)
        call.phase = Phase.QUEUED
        call.native_queue = True
        self.waiting.append(call)
        self.joined.append(call)
        self.joined_at.append(kernel.clock.now())
        kernel.events.channel("QueueCallerJoin", call.trunk, ("Queue", queue),
                           ("Position", str(len(self.waiting))),
                           ("Count", str(len(self.waiting))), privilege="agent")
        self.dispatch()

    def queue_name(self) -> str:
        return self._queue_name()

    def _queue_name(self) -> str:
        return self.kernel.globals.get("ACD_FAILOPEN_QUEUE") or self.kernel.names.failopen_queue

    def dispatch(self) -> None:
        """Ring a free member for each waiting caller, first caller first; a caller
        whose last ring failed waits ``retry`` seconds first (live t3-25: 2 s)."""
        self._dispatch_pending = False
        now = self.kernel.clock.now()
        self.waiting = [c for c in self.waiting if c.phase in (Phase.QUEUED, Phase.DIALLING)]
        retry = [at for c in self.waiting if (at := self._retry_at.get(c.index, 0.0)) > now]
        if retry:
            self.soon(min(retry) - now)
        for position, call in enumerate(list(self.waiting)):
            if position > 0 and not self.autofill:
                return  # autofill = no: only the head of the queue rings (live 07)
            if call.phase is not Phase.QUEUED or self._retry_at.get(call.index, 0.0) > now:
                continue
            member = self._free_member()
            if member is None:
                return
            self._last_called[member.id] = now
            self._ring(call, member)

    def soon(self, delay: float = 0.0) -> None:
        """Dispatch again after ``delay`` simulated seconds (a member freed, a retry)."""
        if self.waiting and not self._dispatch_pending:
            self._dispatch_pending = True
            self.kernel.clock.call_later(delay, self.dispatch)

    def _free_member(self) -> AgentConfig | None:
        busy = self.kernel.device_dials
        free = [a for a in self.members() if a.device not in busy]
        if not free:
            return None
        return min(free, key=lambda a: self._last_called.get(a.id, 0.0))

    def _ring(self, call: Call, member: AgentConfig) -> None:
        kernel = self.kernel
        if member.device in kernel.unattended:
            self.stale_rung.append((call.channel, member.device))
        call.phase = Phase.DIALLING
        call.dial = None
        kernel.events.channel("AgentCalled", call.trunk, ("Queue", self._queue_name()),
                              ("Interface", member.device), ("MemberName", member.id),
                              privilege="agent")
        connect = kernel.context(kernel.names.connect_context, Connect)
        connect.start_dial(call, member.device, MEMBER_RING_S)

    def dial_returned(self, call: Call, status: str) -> None:
        """The member's Dial ended with the caller still there."""
        dial = call.dial
        call.dial = None
        if status == "ANSWER":  # the member ended the call: Queue() returns, no option c
            if dial is not None:
                self._event("AgentComplete", call, dial, ("Reason", "agent"))
            return
        if status == "NOANSWER" and dial is not None:
            ring_ms = round((self.kernel.clock.now() - dial.started) * 1000)
            self._event("AgentRingNoAnswer", call, dial, ("RingTime", str(ring_ms)))
        call.phase = Phase.QUEUED
        self._retry_at[call.index] = self.kernel.clock.now() + RETRY_S
        self.soon(RETRY_S)

    def dial_answered(self, call: Call, dial: Dial) -> None:
        """A member answered: the caller leaves the queue, bridged with the member."""
        hold = int(self.kernel.clock.now() - call.arrived)
        self._leave(call)
        self._event("AgentConnect", call, dial, ("HoldTime", str(hold)), ("RingTime", "1"))

    def caller_gone(self, call: Call) -> None:
        """The caller hangs up while in the queue (waiting or ringing a member)."""
        if call in self.waiting:
            self.kernel.events.channel("QueueCallerAbandon", call.trunk,
                                       ("Queue", self._queue_name()), ("Position", "1"),
                                       ("OriginalPosition", "1"), ("HoldTime", "0"),
                                       privilege="agent")
            self._leave(call)

    def redirected(self, call: Call) -> None:
        """An AMI Redirect took the caller out of ``Queue()``."""
        if call in self.waiting:
            self._leave(call)
        call.native_queue = False

    def _leave(self, call: Call) -> None:
        self._retry_at.pop(call.index, None)
        if call in self.waiting:
            self.waiting.remove(call)
        self.kernel.events.channel("QueueCallerLeave", call.trunk,
                                   ("Queue", self._queue_name()),
                                   ("Count", str(len(self.waiting))), ("Position", "1"),
                                   privilege="agent")
        self.soon()  # the next caller may be the head now (autofill = no)

    def _event(self, name: str, call: Call, dial: Dial, *extra: tuple[str, str]) -> None:
        self.kernel.events.emit(name, [
            *call.trunk.block(), *dial.outer.block("Dest"), ("Queue", self._queue_name()),
            ("Interface", dial.device),
            ("MemberName", dial.agent_id), *extra], "agent")
