"""app_queue's settings the model plays: per queue (``queues.conf``, and the channel
variables the dialplan sets before ``Queue()``), and for the whole room."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from acd.tools.appqueue.rules import PenaltyChange, in_order

#: app_queue's ring strategies the model plays (``wrandom`` and ``rrordered`` are not)
STRATEGIES: tuple[str, ...] = ("ringall", "leastrecent", "fewestcalls", "rrmemory",
                               "linear", "random")


@dataclass(frozen=True)
class QueueOptions:
    """One queue's settings; the defaults are app_queue's own, except ``timeout`` and
    ``wrapuptime``, which default to the site's (the router's ring time-out and the
    skill's wrap-up) so that both rooms ring and rest alike."""

    #: ``strategy`` (app_queue's default: ringall)
    strategy: str = "ringall"
    #: ``autofill``: as many callers tried at once as there are free members; off
    #: (app_queue's default): only the caller at the head of the queue
    autofill: bool = False
    #: ``timeout``: seconds one try rings; None: the site's ``routing.ring_timeout_s``
    timeout_s: float | None = None
    #: ``retry``: seconds a caller waits after a try nobody answered (above 0:
    #: app_queue replaces 0 or less with its default, 5)
    retry_s: float = 5.0
    #: ``wrapuptime``: whole seconds after a call of this queue before the member is
    #: rung for this queue again; None: the skill's ``wrap_up_s``, rounded up
    wrapup_s: int | None = None
    #: ``weight``: a member of several queues is kept for the one of higher weight
    #: while it has callers (0 everywhere: no weighting)
    weight: int = 0
    #: the caller's rule list (``queuerules.conf``), in order of their seconds
    rules: tuple[PenaltyChange, ...] = ()
    #: ``QUEUE_MAX_PENALTY`` set by the dialplan before ``Queue()``; None: no limit
    max_penalty: int | None = None
    #: ``QUEUE_MIN_PENALTY``; None: no limit
    min_penalty: int | None = None

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r} "
                             f"(one of {', '.join(STRATEGIES)})")
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise ValueError("timeout must be above 0 s")
        if self.retry_s <= 0:
            raise ValueError("retry must be above 0 s")
        if self.wrapup_s is not None and self.wrapup_s < 0:
            raise ValueError("wrapuptime cannot be negative")
        if any(limit is not None and limit < 0
               for limit in (self.max_penalty, self.min_penalty)):
            raise ValueError("penalty limits cannot be negative")
        object.__setattr__(self, "rules", in_order(self.rules))

    def ring_s(self, site_ring_timeout_s: float) -> float:
        return self.timeout_s if self.timeout_s is not None else site_ring_timeout_s

    def wrapup(self, skill_wrap_up_s: float) -> int:
        return self.wrapup_s if self.wrapup_s is not None else math.ceil(skill_wrap_up_s)


@dataclass(frozen=True)
class AppQueueOptions:
    """The room's queues: one set of settings for every queue, or some per queue."""

    default: QueueOptions = field(default_factory=QueueOptions)
    #: queue name → its own settings, instead of ``default``
    queues: Mapping[str, QueueOptions] = field(default_factory=dict)

    def for_queue(self, name: str) -> QueueOptions:
        return self.queues.get(name, self.default)
