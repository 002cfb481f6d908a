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
"""

from __future__ import annotations

from acd.config.schema import Config

#: ACD_RING in dialplans/globals_acd.conf: seconds Dial rings an agent
DIALPLAN_RING_S = 15.0


def config_warnings(config: Config, *, dialplan_ring_s: float = DIALPLAN_RING_S) -> list[str]:
    """What in ``config`` works against the shipped dialplan, one sentence each."""
    warnings: list[str] = []
    routing = config.routing
    if routing.ring_timeout_s + routing.ring_grace_s <= dialplan_ring_s:
        warnings.append(
            f"[routing] ring_timeout_s = {routing.ring_timeout_s:g} (+ ring_grace_s "
            f"{routing.ring_grace_s:g}) ends offers before the dialplan's Dial does "
            f"(ACD_RING = {dialplan_ring_s:g} s in globals_acd.conf): set ring_timeout_s "
            f"to ACD_RING")
    return warnings
