"""``/healthz``: the router's health, from its link, engine, tasks and extra sources."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acd.service.router import Router


def health_of(router: Router) -> dict[str, Any]:
    """``ok`` while the AMI link is up and resynchronised and every background task
    runs; ``degraded`` otherwise (the HTTP server answers 503 then: not routing).

    ``warn`` (still 200) when the router routes but one of its sources says
    ``"status": "failing"`` (the records file that cannot be written): something to
    repair, not a router to restart or to take out of service."""
    engine = router.engine
    connected = router.ami is not None and router.ami.connected and engine.link_up
    sources = {name: source() for name, source in router.health_sources.items()}
    failing = any(isinstance(part, dict) and part.get("status") == "failing"
                  for part in sources.values())
    status = "degraded" if not (connected and router.tasks_ok()) \
        else "warn" if failing else "ok"
    return {
        "status": status,
        "ami_connected": connected,
        "site": router.config.site.name,
        "calls_active": len(engine.calls),
        "calls_waiting": {q: len(queue) for q, queue in engine.queues.items()},
        "role": router.role,
        "uptime_s": round(time.time() - router.started_at, 1),
        **sources,
    }
