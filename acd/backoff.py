"""The one retry schedule: the AMI reconnection, the Redis writer and the supervisor
all wait by it."""

from __future__ import annotations

import random


def backoff_delay(attempt: int, initial: float, maximum: float,
                  rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: ``initial·2^(attempt-1)`` capped at ``maximum``,
    then a random 50–100 % of it, so routers restarted together do not reconnect in step."""
    ceiling = min(maximum, initial * 2 ** min(attempt - 1, 30))
    draw: float = (rng or random.Random()).random()
    return float(ceiling * (0.5 + 0.5 * draw))
