"""``/healthz``: the router's health, assembled from named sources: the AMI link, the
background tasks, the room, the role, and the extra parts adapters add (``store``,
``records_file``, ``tasks``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acd.core.ports import EngineView, HealthSource


class Health:
    """What ``/healthz`` answers (see :meth:`report`)."""

    def __init__(self, site: str, engine: EngineView, *, linked: Callable[[], bool],
                 tasks_ok: Callable[[], bool], role: Callable[[], str]) -> None:
        self.site = site
        self._engine = engine
        self._linked = linked
        self._tasks_ok = tasks_ok
        self._role = role
        self.started_at = time.time()
        #: extra parts of /healthz, by name (``"store"`` → the durable state's health)
        self.sources: dict[str, HealthSource] = {}

    def report(self) -> dict[str, Any]:
        """``ok`` while the AMI link is up and resynchronised and every background task
        runs; ``degraded`` otherwise (the HTTP server answers 503 then: not routing).

        ``warn`` (still 200) when the router routes but one of its sources says
        ``"status": "failing"`` (the records file that cannot be written): something to
        repair, not a router to restart or to take out of service."""
        engine = self._engine
        connected = self._linked()
        sources = {name: source() for name, source in self.sources.items()}
        failing = any(isinstance(part, dict) and part.get("status") == "failing"
                      for part in sources.values())
        status = "degraded" if not (connected and self._tasks_ok()) \
            else "warn" if failing else "ok"
        return {
            "status": status,
            "ami_connected": connected,
            "site": self.site,
            "calls_active": len(engine.calls),
            "calls_waiting": {q: len(queue) for q, queue in engine.queues.items()},
            "role": self._role(),
            "uptime_s": round(time.time() - self.started_at, 1),
            **sources,
        }
