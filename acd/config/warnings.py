"""Warnings about a configuration that loads but works against the dialplan.

``acd check-config`` prints them and still exits 0: the router runs with such a
config, and no caller is lost by it, but it does something the site did not mean.

* **The ring time-out races the dialplan's.** ``[acd-connect]`` dials an agent for
  ``ACD_RING`` seconds (15 in ``dialplans/globals_acd.conf``); the router takes a call
  back itself after ``[routing] ring_timeout_s`` + ``ring_grace_s``. When that comes
  first (``config/lab.toml`` once had 10 + 2 < 15, recording live 04), every
  unanswered offer is ended by the router's Redirect rather than by Dial, the agent
  rings less long than the dialplan says, and the next offer has to wait for the caller
  to be back in ``[holding]``. Set ``ring_timeout_s`` to ``ACD_RING`` (the router's
  grace then covers Asterisk's latency), or change both.
* **The standby takes over after the dialplan has failed callers open.** A caller
  holding goes to the native queue when the router's heartbeat is older than
  ``ACD_FAILOPEN_S`` (10 in ``globals_acd.conf``). When the leader of a pair dies, its
  last heartbeat is up to ``[routing] heartbeat_s`` old, its lock lives ``[leader]
  ttl_s`` more, and the standby, trying every ``ttl_s / 8``, takes it then: up to
  ``heartbeat_s + ttl_s * 9/8`` without a heartbeat (``ttl_s = 30``: 34.75 s). When
  that reaches ``ACD_FAILOPEN_S``, every caller waiting then is failed open before the
  standby can route it, and stays in the native queue (the router follows it there,
  never moves it): the pair protects nobody. Lower ``ttl_s``, or raise
  ``ACD_FAILOPEN_S`` on purpose.

  A warning, not an error, and on purpose: the config cannot see the site's
  ``ACD_FAILOPEN_S`` (the shipped value is assumed), and refusing the file would stop
  the service from starting (``check-config`` runs before every start): with no router
  at all every caller is failed open, the very harm the warning is about. Failing open
  loses nobody (the native queue answers), so the router runs and says so.
"""

from __future__ import annotations

from acd.config.dialplan_defaults import DIALPLAN
from acd.config.schema import Config

#: ACD_RING in dialplans/globals_acd.conf: seconds Dial rings an agent
DIALPLAN_RING_S = float(DIALPLAN.ring_s)
#: ACD_FAILOPEN_S in dialplans/globals_acd.conf: seconds without the router's heartbeat
#: after which [holding] sends callers to the native queue
DIALPLAN_FAILOPEN_S = float(DIALPLAN.failopen_s)
#: a standby tries to take the lock every ttl_s times this (acd.store.leader)
STANDBY_POLL_SHARE = 1 / 8


def takeover_bound_s(config: Config) -> float | None:
    """The longest the dialplan may go without a heartbeat when the leader of a pair
    dies (its last heartbeat, the lock's TTL, the standby's next try); None alone."""
    leader = config.leader
    if leader is None or not leader.enabled:
        return None
    return config.routing.heartbeat_s + leader.ttl_s * (1 + STANDBY_POLL_SHARE)


def config_warnings(config: Config, *, dialplan_ring_s: float = DIALPLAN_RING_S,
                    dialplan_failopen_s: float = DIALPLAN_FAILOPEN_S) -> list[str]:
    """What in ``config`` works against the shipped dialplan, one sentence each."""
    warnings: list[str] = []
    routing = config.routing
    if routing.ring_timeout_s + routing.ring_grace_s <= dialplan_ring_s:
        warnings.append(
            f"[routing] ring_timeout_s = {routing.ring_timeout_s:g} (+ ring_grace_s "
            f"{routing.ring_grace_s:g}) ends offers before the dialplan's Dial does "
            f"(ACD_RING = {dialplan_ring_s:g} s in globals_acd.conf): set ring_timeout_s "
            f"to ACD_RING")
    takeover = takeover_bound_s(config)
    if config.leader is not None and takeover is not None \
            and 0 < dialplan_failopen_s <= takeover:
        limit = (dialplan_failopen_s - routing.heartbeat_s) / (1 + STANDBY_POLL_SHARE)
        warnings.append(
            f"[leader] ttl_s = {config.leader.ttl_s:g}: when the leader dies the standby "
            f"takes over up to {takeover:g} s after its last heartbeat (heartbeat_s "
            f"{routing.heartbeat_s:g} + ttl_s × 9/8), after the dialplan has failed the "
            f"waiting callers open (ACD_FAILOPEN_S = {dialplan_failopen_s:g} s in "
            f"globals_acd.conf): " + (f"set ttl_s under {limit:.3g}" if limit > 0
                                      else "lower heartbeat_s and ttl_s"))
    return warnings
