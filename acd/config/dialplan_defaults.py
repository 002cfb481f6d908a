"""The values ``dialplans/globals_acd.conf`` ships, written once: read by the globals
``acd check-pbx`` expects, by the router's own defaults that must agree with them (the
ring time-out), by the config warnings and by the simulator (its globals, its ring and
its hold loop).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DialplanDefaults:
    #: ACD_RING: seconds an agent's phone rings before Dial gives up
    ring_s: int = 15
    #: ACD_PARTNER_RING: seconds a partner SAS's trunk rings, when the router did not
    #: set it on the caller
    partner_ring_s: int = 20
    #: ACD_MOH: the music-on-hold class of waiting callers
    moh: str = "default"
    #: ACD_WARM_HOLD: seconds a warm transfer's answered target waits for the caller
    warm_hold_s: int = 10
    #: ACD_HOLD_S: seconds of one MusicOnHold() in [holding]; the fail-open check runs
    #: between two
    hold_s: int = 5
    #: ACD_FAILOPEN_S: seconds without the router's heartbeat after which [holding]
    #: sends callers to the native queue
    failopen_s: int = 10
    #: ACD_FAILOPEN_QUEUE: that native queue
    failopen_queue: str = "acd-front-office"

    def globals(self) -> dict[str, str]:
        """Name → value as ``globals_acd.conf`` writes it (the heartbeat is never
        there)."""
        return {
            "ACD_RING": str(self.ring_s), "ACD_PARTNER_RING": str(self.partner_ring_s),
            "ACD_MOH": self.moh, "ACD_WARM_HOLD": str(self.warm_hold_s),
            "ACD_HOLD_S": str(self.hold_s), "ACD_FAILOPEN_S": str(self.failopen_s),
            "ACD_FAILOPEN_QUEUE": self.failopen_queue,
        }


#: the shipped dialplan's globals
DIALPLAN = DialplanDefaults()
