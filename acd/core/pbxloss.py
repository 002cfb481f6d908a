"""Calls Asterisk itself cut: a restart or a crash, told apart from a caller hanging up.

A caller Asterisk hangs up as it stops is not an abandon: the caller did not give up,
and counting it abandoned would raise the abandon rate of the DGOS report for a fault
of the platform. Such a call ends with outcome ``lost`` and a ``lost_reason``, decided
only from what Asterisk shows:

* ``pbx-restart`` — Asterisk is stopping (``core restart now``, ``core stop now``).
  It first sends every channel a ``SoftHangupRequest`` whose ``Cause`` is the shutdown
  flag (4), then the Hangups (Cause 0 for a caller who was only waiting, 16 for one
  talking), then ``Shutdown`` (recording 09, 1.1 s after the Hangups). A caller whose
  channel got that request is lost when its Hangup comes. A caller still followed when
  a ``Shutdown`` came (its Hangup never reached the router before the link closed) is
  lost if the next login shows Asterisk started again (below).
* ``pbx-crash`` — Asterisk died without a word (killed, its host lost): no Hangup, no
  Shutdown, the AMI link drops. Every login gives ``FullyBooted`` with Asterisk's
  ``Uptime``, then the resync's list, asked for at Asterisk's time ``taken_at`` (its
  Ping's timestamp, a few milliseconds later): ``taken_at − Uptime`` dates Asterisk's
  start on one clock, session after session. A start later than the one seen before
  (by more than :data:`RESTART_MARGIN_S`: the uptime is whole seconds) is a new
  Asterisk process, so every call that resync finds gone was cut by it. The same start
  means the link only was cut (live t3-25) or the router restarted: a call found gone
  then ended while nobody watched, as before.

The router cannot date a start it never saw (its first login after its own start):
a call restored from Redis and found gone then is closed as before. A call that ended
while the link was down *and* Asterisk restarted meanwhile is counted lost: the router
cannot tell a caller who gave up in that window from one the restart cut.
"""

from __future__ import annotations

from acd.ami import events as ev
from acd.core.room import RoomState

#: lost_reason of a caller Asterisk hung up as it stopped or restarted
PBX_RESTART = "pbx-restart"
#: lost_reason of a caller gone with an Asterisk that died and came back
PBX_CRASH = "pbx-crash"
#: a start time this much later than the known one is a new Asterisk process: Uptime
#: is whole seconds, and the list's time (its Ping) comes a moment after FullyBooted
RESTART_MARGIN_S = 2.0


class PbxLoss:
    """Marks the calls Asterisk cut as it stopped, and notes what the next resync needs
    to tell a new Asterisk (:func:`resync_reason`)."""

    def __init__(self, state: RoomState) -> None:
        self.state = state

    def on_soft_hangup(self, event: ev.SoftHangupRequest) -> None:
        """Asterisk is cutting a channel as it stops: a call's, or a caller's still in
        the announcement (:mod:`acd.core.arrivals`), lost when its Hangup comes."""
        if event.cause != ev.SOFT_HANGUP_SHUTDOWN:
            return
        state = self.state
        cut = state.by_channel.get(event.channel) or state.arriving.get(event.channel)
        if cut is not None:
            cut.lost_reason = PBX_RESTART

    def on_shutdown(self, event: ev.Shutdown) -> None:
        self.state.pbx_shutdown_seen = True

    def on_fully_booted(self, event: ev.FullyBooted) -> None:
        """A login: Asterisk's uptime, dated by the resync's list that follows."""
        self.state.pbx_uptime = event.uptime


def resync_reason(state: RoomState, taken_at: float) -> str | None:
    """Why the calls the resync of a list asked for at ``taken_at`` finds gone are
    gone: lost with this reason, or None (ended while the router did not watch)."""
    uptime, state.pbx_uptime = state.pbx_uptime, None
    if uptime is None:
        return None  # not the first list of a session (a new leader's resync)
    started = taken_at - uptime
    known = state.pbx_started_at
    if known is not None and started <= known + RESTART_MARGIN_S:
        state.pbx_shutdown_seen = False
        return None  # the same Asterisk
    state.pbx_started_at = started
    shutdown, state.pbx_shutdown_seen = state.pbx_shutdown_seen, False
    if known is None and not shutdown:
        return None  # the first start this router sees: nothing to compare with
    return PBX_RESTART if shutdown else PBX_CRASH
