"""``acd sim``: the simulator alone, serving AMI until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal

from acd.config import Config
from acd.config.secrets import ami_secret
from acd.logs import get_logger
from acd.sim.arrivals import place_calls
from acd.sim.behaviour import AgentBehaviour, RandomBehaviour
from acd.sim.control import ControlServer
from acd.sim.options import PbxOptions
from acd.sim.server import start_sim

log = get_logger("acd.sim")


def parse_range(text: str) -> tuple[float, float]:
    """``"0.5"`` → (0.5, 0.5); ``"1,3"`` → (1.0, 3.0); ValueError otherwise."""
    parts = [float(p) for p in text.split(",")]
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or not 0 <= parts[0] <= parts[1]:
        raise ValueError(f"{text!r}: seconds 'LOW,HIGH' with 0 ≤ LOW ≤ HIGH, or one value")
    return parts[0], parts[1]


def behaviour_from(answer_after_s: tuple[float, float] | None,
                   talk_s: tuple[float, float] | None,
                   no_answer_rate: float | None) -> AgentBehaviour | None:
    """The agents' behaviour the command line asks for (None: the simulator's default)."""
    if answer_after_s is None and talk_s is None and no_answer_rate is None:
        return None
    default = RandomBehaviour()
    return RandomBehaviour(answer_after_s=answer_after_s or default.answer_after_s,
                           talk_s=talk_s or default.talk_s,
                           no_answer_rate=default.no_answer_rate if no_answer_rate is None
                           else no_answer_rate)


def serve_sim(config: Config, *, host: str, port: int, seed: int, speed: float,
              full_event_mix: bool, calls_per_hour: float = 0.0,
              failopen_s: float | None = None, control_port: int | None = None,
              behaviour: AgentBehaviour | None = None) -> int:
    secret = ami_secret(config)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        sim = await start_sim(config, host, port, seed=seed, speed=speed, secret=secret,
                              behaviour=behaviour,
                              options=PbxOptions(full_event_mix=full_event_mix,
                                                 failopen_s=failopen_s))
        control: ControlServer | None = None
        if control_port is not None:
            control = ControlServer(sim.pbx)
            await control.start(host, control_port)
        log.info("sim_started", host=host, port=sim.port, agents=len(config.agents),
                 speed=speed, seed=seed, calls_per_hour=calls_per_hour, failopen_s=failopen_s,
                 control_port=control.port if control is not None else None)
        callers = asyncio.create_task(place_calls(sim.pbx, list(config.numbers),
                                                  calls_per_hour, random.Random(seed)))
        try:
            await stop.wait()
        finally:
            callers.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await callers
            if control is not None:
                await control.close()
            await sim.close()
            log.info("sim_stopped")

    try:
        import uvloop

        uvloop.run(main())  # as the router: the simulator's own latency stays small
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(main())
    return 0
