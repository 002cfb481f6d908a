"""Where the engine's actions go: written to the AMI link if this router may act (alone,
or the leader whose lease runs), else fenced (counted, logged ``action_fenced``). An
action Asterisk refuses, or that cannot be sent, comes back as an
:class:`~acd.core.inputs.ActionFailed` input.

The AMI connection both feeds the router and carries its actions; it is built with the
router as its event sink, so it reaches the outbox last (:meth:`Outbox.connect`), the
one loop the composition (:mod:`acd.service.build`) closes.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from acd.ami.actions import Action
from acd.ami.client import AmiConnection
from acd.ami.replies import check_response
from acd.core import inputs as i
from acd.errors import AmiError
from acd.logs import get_logger
from acd.service.leadership import Leadership

log = get_logger("acd.router")

#: told an action that failed (the router submits it to the engine)
OnFailed = Callable[[i.ActionFailed], object]


class Outbox:
    """Sends the engine's actions (see the module docstring)."""

    def __init__(self, leadership: Leadership) -> None:
        self.leadership = leadership
        #: the AMI connection; None: actions go nowhere (a router fed by hand)
        self.link: AmiConnection | None = None
        #: actions dropped because this router is not (or no longer) the leader
        self.fenced = 0

    def connect(self, link: AmiConnection) -> None:
        """Send through ``link`` from now on."""
        self.link = link

    def send(self, action: Action, on_failed: OnFailed) -> None:
        if self.link is None:
            return
        if not self.leadership.may_act():
            self.fenced += 1
            log.warning("action_fenced", action=action.name, role=self.leadership.role)
            return
        future = self.link.send(action)
        future.add_done_callback(functools.partial(_done, action, on_failed))


def _done(action: Action, on_failed: OnFailed, future: asyncio.Future[Any]) -> None:
    try:
        check_response(action, future.result())
        return
    except AmiError as exc:
        message = str(exc)
    except asyncio.CancelledError:
        message = "cancelled"
    log.warning("ami_action_failed", action=action.name, error=message)
    on_failed(i.ActionFailed(action.ref, action.name, message))
