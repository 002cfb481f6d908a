"""JSON views of the engine's objects that the API and the console both show."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from acd.core.overflow_rules import Bascule


def bascule_view(bascules: Mapping[str, Bascule], queue: str) -> dict[str, Any] | None:
    """The bascule in force for ``queue`` (or the whole site, ``SITE``), or None."""
    bascule = bascules.get(queue)
    if bascule is None:
        return None
    return {"queue": queue, "share": bascule.share, "partner": bascule.partner,
            "by": bascule.by, "reason": bascule.reason, "at": bascule.at}
