"""Leadership in an active/standby pair: whether this router may act, and what a change
of leader does to it.

:class:`Leadership` answers "may I send an action now?" (alone: always; in a pair:
while the lease of the leader lock runs, checked on the monotonic clock at every
action) and tells its listeners when this router is elected or deposed.
:class:`Takeover` is the router's side of it: the change reaches the engine as an
input (:class:`~acd.core.inputs.LeadershipChanged`), an elected router asks Asterisk
for a fresh view before it decides again, and logs ``takeover_done`` once that view
has landed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from acd.core import inputs as i
from acd.logs import get_logger
from acd.service.link import LinkChange
from acd.store.leader import Election, LeaderLock

if TYPE_CHECKING:
    from acd.ami.client import AmiConnection
    from acd.core.ports import EngineView

log = get_logger("acd.router")


class Leadership:
    """The leader election of a pair (``lock``), or none: alone, always deciding."""

    def __init__(self, lock: LeaderLock | None = None) -> None:
        #: the election of an active/standby pair; None: alone
        self.election = None if lock is None else Election(
            lock, on_elected=self._elected, on_deposed=self._deposed)
        self._on_elected: list[Callable[[int], None]] = []
        self._on_deposed: list[Callable[[str], None]] = []

    @property
    def pair(self) -> bool:
        return self.election is not None

    def may_act(self) -> bool:
        """Whether this router may send AMI actions now: alone, or the leader whose
        lease has not run out (checked on the monotonic clock at every action)."""
        return self.election is None or self.election.check()

    @property
    def role(self) -> str:
        if self.election is None:
            return "alone"
        return "leader" if self.election.leading else "standby"

    def fence_token(self) -> int | None:
        """The fencing token for writes (None: do not write); 0 when alone."""
        if self.election is None:
            return 0
        return self.election.lock.fence_token()

    def add_listener(self, *, elected: Callable[[int], None] | None = None,
                     deposed: Callable[[str], None] | None = None) -> None:
        """``elected(token)`` when this router wins the lock, ``deposed(reason)`` when
        it loses it (or gives it up when stopping)."""
        if elected is not None:
            self._on_elected.append(elected)
        if deposed is not None:
            self._on_deposed.append(deposed)

    def _elected(self, token: int) -> None:
        for listener in self._on_elected:
            listener(token)

    def _deposed(self, reason: str) -> None:
        for listener in self._on_deposed:
            listener(reason)


class Takeover:
    """What a change of leader does to the router (see the module docstring)."""

    def __init__(self, submit: Callable[[object], object], engine: EngineView,
                 link: AmiConnection | None) -> None:
        self._submit = submit
        self._engine = engine
        self._link = link
        #: monotonic time of the last election won, until the resync that follows
        self._elected_at: float | None = None

    def standby(self) -> None:
        """Follow Asterisk's events without deciding (the start of a pair member)."""
        self._submit(i.LeadershipChanged(leading=False))

    def elected(self, token: int) -> None:
        """Won the lock: decide again, after a fresh view of Asterisk's channels."""
        self._elected_at = time.monotonic()
        self._submit(i.LeadershipChanged(leading=True))
        log.warning("router_leading", token=token)
        if self._link is not None and self._link.connected:
            self._link.resync("elected")

    def deposed(self, reason: str) -> None:
        """Lost the lock (or stopping): stop deciding at once; keep following."""
        self._submit(i.LeadershipChanged(leading=False))
        self._elected_at = None
        log.warning("router_standby", reason=reason)

    def on_link(self, change: LinkChange) -> None:
        if change.up and self._elected_at is not None and self._engine.decide:
            log.warning("takeover_done", channels=change.channels,
                        after_s=round(time.monotonic() - self._elected_at, 3))
            self._elected_at = None
