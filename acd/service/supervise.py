"""Background tasks that cannot die silently.

The heartbeat, the reconciler and the like run as long as the router does. If one
raises, :class:`Supervisor` logs it once (``task_failed``: the task, the exception's
type and where it was raised, never its message, which could hold a caller's
number), restarts it after a short backoff that grows with repeated failures, and
counts the restart (``acd_task_restarts_total{task}``, the tasks in
:data:`acd.service.kinds.SUPERVISED_TASKS`). While a task is down,
:meth:`Supervisor.health` says so and ``/healthz`` answers 503: a router whose
heartbeat is not running lets callers fail open, and must not look healthy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from acd.backoff import backoff_delay
from acd.logs import get_logger, where

log = get_logger("acd.router")

#: restart delays: from this ...
RESTART_INITIAL_S = 0.1
#: ... doubling up to this while the task keeps failing
RESTART_MAX_S = 5.0
#: a task that ran this long before failing starts the backoff again
STABLE_S = 60.0


@dataclass(slots=True)
class TaskState:
    running: bool = False
    restarts: int = 0
    last_error: str | None = None


class Supervisor:
    """Starts named tasks and keeps them running (see the module docstring)."""

    def __init__(self) -> None:
        self.states: dict[str, TaskState] = {}
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, name: str,
              factory: Callable[[], Coroutine[Any, Any, None]]) -> asyncio.Task[None]:
        """Run ``factory()`` as task ``name``, again after each failure."""
        self.states[name] = TaskState()
        task = asyncio.create_task(self._keep(name, factory), name=name)
        self.tasks.append(task)
        return task

    async def _keep(self, name: str,
                    factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
        state = self.states[name]
        failures = 0
        while True:
            state.running = True
            began = time.monotonic()
            try:
                await factory()
                state.running = False
                return
            except Exception as exc:  # logged, counted, restarted: never silent
                state.running = False
                failures = 1 if time.monotonic() - began >= STABLE_S else failures + 1
                state.last_error = type(exc).__name__
                delay = backoff_delay(failures, RESTART_INITIAL_S, RESTART_MAX_S)
                log.error("task_failed", task=name, error=type(exc).__name__,
                          where=where(exc), restart_in_s=round(delay, 2))
            await asyncio.sleep(delay)
            state.restarts += 1
            log.warning("task_restarted", task=name, restarts=state.restarts)

    def ok(self) -> bool:
        """Whether every task started is running (or ended on its own)."""
        return all(s.running or s.last_error is None for s in self.states.values())

    def health(self) -> dict[str, Any]:
        """``/healthz``'s ``tasks``: each task's state and restarts."""
        return {name: {"running": s.running, "restarts": s.restarts,
                       "last_error": s.last_error} for name, s in self.states.items()}
