"""How soon the AMI connection comes back: within 2 s of Asterisk's port accepting
again after an outage of any length, and ever more slowly against a peer that accepts
the connection then drops it. A real TCP peer, on an event loop whose clock runs ten
times faster than real time (tests/support/fastloop.py)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import MutableMapping
from typing import Any

from structlog.testing import capture_logs

from acd.ami import events as ev
from acd.ami.client import AmiConnection
from acd.config import AmiConfig
from tests.support.amipeer import AmiPeer
from tests.support.fastloop import run_fast
from tests.support.wait import until

SECRET = "s3cret"
#: loop seconds per real second
SCALE = 10.0


class Sink:
    def __init__(self) -> None:
        self.ups = 0
        self.downs = 0

    def on_event(self, event: ev.AmiEvent) -> None:
        pass

    def on_link_up(self, channels: list[ev.StatusEntry], taken_at: float) -> None:
        self.ups += 1

    def on_link_down(self, reason: str) -> None:
        self.downs += 1


async def start_peer(peer: AmiPeer) -> AmiPeer:
    """``peer`` on a port below the kernel's ephemeral range (32768 and up), as
    Asterisk's 5038 is: a connection to a closed port there can never be a TCP
    self-connection on the client's own ephemeral port."""
    rng = random.Random()
    for _ in range(200):
        with contextlib.suppress(OSError):
            return await peer.start(rng.randrange(20000, 32000))
    raise RuntimeError("no free port in 20000-32000")


def production_ami(port: int) -> AmiConfig:
    """The shipped defaults: reconnect_initial_s 0.5, reconnect_max_s 30."""
    return AmiConfig(host="127.0.0.1", port=port)


def test_back_within_2_s_of_the_port_accepting_after_a_30_s_outage() -> None:
    async def main() -> tuple[float, list[MutableMapping[str, Any]], int]:
        loop = asyncio.get_running_loop()
        peer = await start_peer(AmiPeer())
        sink = Sink()
        connection = AmiConnection(production_ami(peer.port), SECRET, sink)
        task = asyncio.create_task(connection.run())
        await until(lambda: sink.ups == 1, timeout=50)
        with capture_logs() as logs:
            await peer.close()  # Asterisk stops: its port refuses connections
            await until(lambda: sink.downs == 1, timeout=50)
            await asyncio.sleep(30.0)
            attempts = connection.reconnects
            await peer.start(peer.port)  # back
            back_at = loop.time()
            await until(lambda: sink.ups == 2, timeout=100)
            took = loop.time() - back_at
        assert peer.logins == 2
        await connection.stop()
        await task
        await peer.close()
        return took, logs, attempts

    took, logs, attempts = run_fast(main, SCALE)
    # logged in and resynchronised within 2 s of the port accepting (it was 12-18 s)
    assert took < 2.0, took
    # the port was tried every 0.5 s all along the outage, never backed off
    waits = [e["in_s"] for e in logs if e["event"] == "ami_reconnecting"]
    assert waits and max(waits) <= 0.5, waits
    assert attempts >= 40  # ~60 in 30 s
    # one line for the outage, not one per try; one when the port accepts again
    failed = [e for e in logs if e["event"] == "ami_session_failed"]
    assert len(failed) == 1 and "ConnectionRefused" in str(failed[0]["error"]), failed
    (reachable,) = [e for e in logs if e["event"] == "ami_reachable"]
    # counted from the first refused try, up to 0.5 s after the link dropped
    assert 29.0 <= float(str(reachable["after_s"])) <= 32.0, reachable


def test_a_peer_that_accepts_then_drops_at_once_is_retried_ever_more_slowly() -> None:
    async def main() -> tuple[int, list[float]]:
        peer = await start_peer(AmiPeer(drop_at_once=True))
        connection = AmiConnection(production_ami(peer.port), SECRET, Sink())
        with capture_logs() as logs:
            task = asyncio.create_task(connection.run())
            await asyncio.sleep(60.0)
            connections = len(peer.sessions)
            await connection.stop()
            await task
        await peer.close()
        return connections, [float(str(e["in_s"])) for e in logs
                             if e["event"] == "ami_reconnecting"]

    connections, waits = run_fast(main, SCALE)
    # 0.5 s doubling (jitter: 50-100 % of it) up to 30 s: at most 9 connections in a
    # minute, where probing every 0.5 s would make 120
    assert 5 <= connections <= 10, connections
    assert waits[-1] >= 7.5, waits
