"""The simulator driven over real AMI by a raw client that plays the router's part:
a simulator factory for the tests and the router's moves (Setvar + Redirect)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from acd.ami.frames import AmiMessage
from acd.config import Config
from acd.config.load import parse_config
from acd.sim.behaviour import FixedBehaviour
from acd.sim.model import Headers, OfferOutcome, Phase
from acd.sim.options import PbxOptions
from acd.sim.server import SimServer, start_sim
from tests.support.amiclient import SECRET, SIM_AGENTS, AmiTestClient
from tests.support.sites import agent, partner, site_toml

START = 1795329358.0
SPEED = 50.0

FLOWS_SITE = site_toml("SAS sim test", numbers={"15": "ARM_N1", "116117": "ARM_N1"},
                       agents=[*SIM_AGENTS, agent("osnp01", OSNP=1)],
                       partners=[partner("sas62")])

SimFactory = Callable[..., Awaitable[tuple[SimServer, AmiTestClient]]]


def flows_config() -> Config:
    return parse_config(FLOWS_SITE, "flows-site.toml")


class EventRecorder:
    """Every event a :class:`~acd.sim.pbx.Pbx` emits, with its instant."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Headers, float]] = []

    def __call__(self, name: str, privilege: str, headers: Headers, stamp: float) -> None:
        self.events.append((name, headers, stamp))


class SimRig:
    """Starts simulators and logs a raw client into each (events on); closes them all."""

    def __init__(self, config: Callable[[], Config], *, seed: int, talk_s: float) -> None:
        self.config = config
        self.seed = seed
        self.talk_s = talk_s
        self.opened: list[tuple[SimServer, AmiTestClient]] = []

    async def open(self, outcome: OfferOutcome | None = None,
                   options: PbxOptions | None = None,
                   speed: float = SPEED) -> tuple[SimServer, AmiTestClient]:
        behaviour = FixedBehaviour(outcome or OfferOutcome(answer_after_s=1.0,
                                                           talk_s=self.talk_s))
        sim = await start_sim(self.config(), seed=self.seed, speed=speed, secret=SECRET,
                              start_epoch=START, behaviour=behaviour, options=options)
        client = await AmiTestClient.connect(sim.port)
        await client.login()
        self.opened.append((sim, client))
        return sim, client

    async def close(self) -> None:
        for sim, client in self.opened:
            await client.close()
            await sim.close()


@pytest.fixture
async def make_sim() -> AsyncIterator[SimFactory]:
    """The flows' simulator (an OSNP agent, a partner SAS), cleaned up after the test."""
    rig = SimRig(flows_config, seed=7, talk_s=600.0)
    yield rig.open
    await rig.close()


async def waiting_call(sim: SimServer, client: AmiTestClient, patience_s: float = 300.0,
                       ) -> tuple[str, str, str]:
    """A caller announced and waiting: (its ``;2`` channel, its Uniqueid, its Linkedid)."""
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=patience_s)
    await client.wait_event("MusicOnHoldStart", Channel=call.channel)
    return call.channel, call.trunk.uniqueid, call.trunk.linkedid


async def overflow(client: AmiTestClient, channel: str, partner: str = "sas62", *,
                   dial: str | None = "PJSIP/sas62/15", ring: str = "20") -> None:
    """What the router does: Setvar the partner's dial string and ring time, Redirect."""
    if dial is not None:
        reply = await client.action("Setvar", ("Channel", channel),
                                    ("Variable", "ACD_PARTNER_DIAL"), ("Value", dial))
        assert reply[0]["Message"] == "Variable Set"
    reply = await client.action("Setvar", ("Channel", channel),
                                ("Variable", "ACD_PARTNER_RING"), ("Value", ring))
    assert reply[0]["Message"] == "Variable Set"
    reply = await client.action("Redirect", ("Channel", channel), ("Context", "acd-overflow"),
                                ("Exten", partner), ("Priority", "1"))
    assert reply[0]["Message"] == "Redirect successful"


def since(client: AmiTestClient, mark: int, name: str | None = None) -> list[AmiMessage]:
    return [m for m in client.messages[mark:] if "Event" in m
            and (name is None or m["Event"] == name)]


def user_events(client: AmiTestClient, mark: int, name: str) -> list[AmiMessage]:
    return [m for m in since(client, mark, "UserEvent") if m["UserEvent"] == name]


def caller_alive(sim: SimServer, channel: str) -> bool:
    call = sim.pbx.call_by_channel(channel)
    return call is not None and call.phase is not Phase.GONE \
        and {call.phone.name, call.trunk.name} <= set(sim.pbx.channels)
