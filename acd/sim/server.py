"""Start a simulated Asterisk: a :class:`~acd.sim.pbx.Pbx` behind an AMI server.

    sim = await start_sim(config, "127.0.0.1", 0, seed=1, speed=20.0, secret="s3cret")
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=120)
    ...
    await sim.close()

The AMI user is ``config.ami.username`` with ``secret``. Misbehaviour for tests is on
:attr:`SimServer.wire` (:class:`~acd.sim.wire.AmiServer`), plus :meth:`SimServer.restart`
which also hangs channels up, as an Asterisk restart does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Literal

from acd.config import Config
from acd.sim.actions import AmiActions
from acd.sim.behaviour import AgentBehaviour
from acd.sim.clock import SimClock
from acd.sim.options import PbxOptions
from acd.sim.pbx import Pbx
from acd.sim.wire import AmiServer

#: ``core restart now`` (recording 09): Shutdown 1.1 s (simulated) after the hangups
SHUTDOWN_AFTER_S = 1.1
#: real seconds between the Shutdown event and the sockets closing
CLOSE_AFTER_S = 0.05


class SimServer:
    """A running simulator: :attr:`pbx`, :attr:`wire`, :attr:`port`."""

    def __init__(self, pbx: Pbx, wire: AmiServer, actions: AmiActions) -> None:
        self.pbx = pbx
        self.wire = wire
        self.actions = actions
        #: the AMI port, the wire's (listening already, and again on it after a restart)
        self.port = wire.port
        #: simulated time, the PBX's
        self.clock: SimClock = pbx.clock
        self.restarts = 0

    async def close(self) -> None:
        """Stop listening, close every session, stop the PBX's timers."""
        await self.wire.close()
        self.pbx.stop()

    async def restart(self, *, down_s: float = 1.0,
                      hangup: Literal["all", "none"] | Collection[str] = "all",
                      clean: bool = True) -> None:
        """Asterisk restarts (``core restart now``, recording 09): channels hung up
        first (all, none, or all but the calls owning a channel named in ``hangup``;
        each sent a SoftHangupRequest with Cause 4, the shutdown flag, before any
        Hangup; the callers not talking with Cause 0), then the ``Shutdown`` event, every
        socket closed, no listener for ``down_s`` real seconds, then FullyBooted again
        at the next login (uptime starts over)."""
        if hangup == "all":
            self.pbx.hangup_all(reason="restart", cause=0, shutdown=True)
        elif hangup != "none":
            self.pbx.hangup_all(keep=hangup, reason="restart", cause=0, shutdown=True)
        await asyncio.sleep(self.clock.real_delay(SHUTDOWN_AFTER_S))
        self.pbx.events.emit("Shutdown", [("Shutdown", "Cleanly" if clean else "Uncleanly"),
                                          ("Restart", "True")], "system")
        await asyncio.sleep(CLOSE_AFTER_S)  # the sessions read it before their socket closes
        await self.wire.restart(down_s)
        # a new Asterisk process: the globals are extensions.conf's again (the router's
        # heartbeat is gone until it logs in again and sends one)
        self.pbx.globals.clear()
        self.pbx.globals.update(self.pbx.loaded_globals)
        self.pbx.started_at = self.pbx.clock.now()
        self.restarts += 1

    async def crash(self, *, down_s: float = 1.0) -> None:
        """Asterisk dies without a word (killed, its host lost): no Hangup, no
        Shutdown; the sockets close, nothing listens for ``down_s`` real seconds, and
        it comes back empty (uptime starts over)."""
        self.pbx.vanish()
        await self.wire.restart(down_s)
        self.pbx.started_at = self.pbx.clock.now()
        self.restarts += 1

    async def drop_ami(self, *, down_s: float = 0.0) -> None:
        """The AMI link is cut (a network fault): every session closed, no listener
        for ``down_s`` real seconds; Asterisk and its calls carry on."""
        await self.wire.restart(down_s)


async def start_sim(config: Config, host: str = "127.0.0.1", port: int = 0, *,
                    seed: int = 0, speed: float = 1.0, secret: str,
                    behaviour: AgentBehaviour | None = None,
                    options: PbxOptions | None = None,
                    start_epoch: float | None = None,
                    auth_failure_delay_s: float = 1.0,
                    read: Collection[str] | None = None) -> SimServer:
    """Listen on ``host:port`` (0: any free port, see :attr:`SimServer.port`).

    ``read`` limits the AMI user's event classes like manager.conf's ``read =``
    (``dialplans/manager_acd.conf``: system, call, user, agent); None sends all, as
    in the recordings (``read = all``).
    """
    clock = SimClock(speed=speed, start_epoch=start_epoch)
    pbx = Pbx(config.agents, clock=clock, seed=seed, behaviour=behaviour, options=options,
              names=config.dialplan)
    actions = AmiActions(pbx, numbers=config.numbers)
    wire = AmiServer(actions, users={config.ami.username: secret}, clock=clock,
                     uptime=pbx.uptime, auth_failure_delay_s=auth_failure_delay_s,
                     security_events=pbx.options.full_event_mix, seed=seed,
                     read_classes={config.ami.username: read} if read is not None else None)
    pbx.subscribe(wire.broadcast)
    await wire.start(host, port)
    return SimServer(pbx, wire, actions)
