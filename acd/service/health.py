"""``/healthz``: the router's health, from its link, engine, tasks and extra sources."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acd.service.router import Router


def health_of(router: Router) -> dict[str, Any]:
    """``ok`` while the AMI link is up and resynchronised and every background task
    runs; ``degraded`` otherwise (the HTTP server answers 503 then)."""
    engine = router.engine
    connected = router.ami is not None and router.ami.connected and engine.link_up
    return {
        "status": "ok" if connected and router.tasks_ok() else "degraded",
        "ami_connected": connected,
        "site": router.config.site.name,
        "calls_active": len(engine.calls),
        "calls_waiting": {q: len(queue) for q, queue in engine.queues.items()},
        "role": router.role,
        "uptime_s": round(time.time() - router.started_at, 1),
        **{name: source() for name, source in router.health_sources.items()},
    }
