"""When a call goes to a partner SAS, and to which one: the overflow rules and the
supervisor's bascule. Pure policy.

Per queue, an :class:`~acd.config.OverflowRule` says when calls overflow: a new call
finds more than ``max_waiting`` calls waiting, or an estimated wait over
``max_estimated_wait_s``, or no agent logged in for the skill (``when_no_agent``); a
waiting call passes ``max_wait_s``; or a share of all calls goes to partners whatever
the load (``share``: partial overflow). A supervisor's *bascule* switches a queue, or
the whole site (queue ``*``), wholly (share 1) or partly to partners, on top of the
rules.

Partners are tried in order of preference; one that failed (no answer, busy,
congestion, unreachable) is left out for its ``down_for_s``.
"""

from __future__ import annotations

from dataclasses import dataclass

from acd.config import OverflowRule, PartnerConfig

SITE = "*"


@dataclass(frozen=True, slots=True)
class Bascule:
    """A supervisor's switch of a queue (or the site) to partners."""

    share: float
    partner: str | None
    by: str
    reason: str
    at: float


@dataclass(slots=True)
class ShareCounter:
    """Deterministic partial overflow: with share s, exactly one call in 1/s goes out
    (an accumulator, so a test or a replay gives the same result every time)."""

    level: float = 0.0

    def take(self, share: float) -> bool:
        if share <= 0:
            return False
        if share >= 1:
            return True
        self.level += share
        if self.level >= 1.0:
            self.level -= 1.0
            return True
        return False


def share_for(queue: str, rule: OverflowRule | None, bascules: dict[str, Bascule]) -> float:
    """The share of new calls of ``queue`` to send to partners now."""
    shares = [rule.share if rule else 0.0]
    for key in (queue, SITE):
        if key in bascules:
            shares.append(bascules[key].share)
    return max(shares)


def overflow_reason(rule: OverflowRule | None, *, waiting: int, estimated_wait_s: float,
                    staffed: bool) -> str | None:
    """Why a new call should overflow under the load rules, or None."""
    if rule is None:
        return None
    if rule.when_no_agent and not staffed:
        return "no agent logged in"
    if rule.max_waiting is not None and waiting >= rule.max_waiting:
        return f"{waiting} calls waiting (limit {rule.max_waiting})"
    if rule.max_estimated_wait_s is not None and estimated_wait_s > rule.max_estimated_wait_s:
        return (f"estimated wait {estimated_wait_s:.0f} s "
                f"(limit {rule.max_estimated_wait_s:g} s)")
    return None


def pick_partner(partners: list[PartnerConfig], down_until: dict[str, float], now: float,
                 allowed: list[str] | None = None,
                 preferred: str | None = None) -> PartnerConfig | None:
    """The partner to try now: ``preferred`` (a bascule's target) if up, else the
    allowed partners by preference, skipping those marked down."""
    candidates = [p for p in partners if not allowed or p.name in allowed]
    candidates.sort(key=lambda p: (p.name != preferred, p.preference, p.name))
    for partner in candidates:
        if down_until.get(partner.name, 0.0) <= now:
            return partner
    return None
