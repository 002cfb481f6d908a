"""``acd sim``: the simulator alone, serving AMI until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal

from acd.config import Config
from acd.logs import get_logger
from acd.secrets import ami_secret
from acd.sim.arrivals import place_calls
from acd.sim.pbx import PbxOptions
from acd.sim.server import start_sim

log = get_logger("acd.sim")


def serve_sim(config: Config, *, host: str, port: int, seed: int, speed: float,
              full_event_mix: bool, calls_per_hour: float = 0.0,
              failopen_s: float | None = None) -> int:
    secret = ami_secret(config)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        sim = await start_sim(config, host, port, seed=seed, speed=speed, secret=secret,
                              options=PbxOptions(full_event_mix=full_event_mix,
                                                 failopen_s=failopen_s))
        log.info("sim_started", host=host, port=sim.port, agents=len(config.agents),
                 speed=speed, seed=seed, calls_per_hour=calls_per_hour, failopen_s=failopen_s)
        callers = asyncio.create_task(place_calls(sim.pbx, list(config.numbers),
                                                  calls_per_hour, random.Random(seed)))
        try:
            await stop.wait()
        finally:
            callers.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await callers
            await sim.close()
            log.info("sim_stopped")

    asyncio.run(main())
    return 0
