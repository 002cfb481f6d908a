"""The simulator where the router's evidence comes from, checked against the live
recordings: ``(null)`` for unset variables in ``Status``, ``core restart`` hanging
callers up with Cause 0, foreign channels, a crash and a cut AMI link."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from acd.ami.frames import AmiMessage, FrameReader, parse_frame
from acd.sim.behaviour import FixedBehaviour
from acd.sim.model import OfferOutcome
from acd.sim.server import SimServer, start_sim
from tests.support.amiclient import SECRET, AmiTestClient, sim_config
from tests.support.paths import LIVE

START = 1796165851.0
VARIABLES = ("Variables", "ACD_NUMBER,ACD_ARRIVED,ACD_PRIORITY")


def live_messages(path: str) -> list[AmiMessage]:
    data = (LIVE / path).read_bytes()
    return [parse_frame(f) for f in FrameReader().feed(data.split(b"\r\n", 1)[1])]


def variables_shape(message: AmiMessage) -> dict[str, bool]:
    """Variable name → whether Asterisk says it is unset."""
    return {v.partition("=")[0]: v.partition("=")[2] == "(null)"
            for v in message.get_all("Variable")}


@pytest.fixture
async def sim() -> AsyncIterator[tuple[SimServer, AmiTestClient]]:
    server = await start_sim(sim_config(), seed=3, speed=50.0, secret=SECRET,
                             start_epoch=START,
                             behaviour=FixedBehaviour(OfferOutcome(answer_after_s=1.0,
                                                                   talk_s=30.0)))
    client = await AmiTestClient.connect(server.port)
    await client.login()
    yield server, client
    await client.close()
    await server.close()


async def test_status_answers_null_for_unset_variables_as_recorded(
        sim: tuple[SimServer, AmiTestClient]) -> None:
    server, client = sim
    call = server.pbx.place_call("15", "Order 0", "0680000000", patience_s=300)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    items = {m["Channel"]: m for m in (await client.action("Status", VARIABLES))[1:-1]}
    recorded = [m for m in live_messages("router-sessions/conn-3.s2c.ami")
                if m.get("Event") == "Status" and m.get("ActionID") == "acd-3"]
    one = next(m for m in recorded if m["Channel"].endswith(";1"))
    two = next(m for m in recorded if m["Channel"].endswith(";2"))
    assert variables_shape(items[call.phone.name]) == variables_shape(one) == {
        "ACD_NUMBER": True, "ACD_ARRIVED": True, "ACD_PRIORITY": True}
    assert variables_shape(items[call.channel]) == variables_shape(two) == {
        "ACD_NUMBER": False, "ACD_ARRIVED": False, "ACD_PRIORITY": True}


async def test_core_restart_hangs_waiting_callers_up_with_cause_0_before_shutdown(
        sim: tuple[SimServer, AmiTestClient]) -> None:
    """Recording 09: every Hangup comes before ``Shutdown``; a caller that was only
    waiting is hung up with Cause 0 (both halves)."""
    recorded = live_messages("09-asterisk-core-restart.events.ami")
    shutdown = next(n for n, m in enumerate(recorded) if m.get("Event") == "Shutdown")
    victims = {"Local/15@from-trunk-000000c1;2", "Local/15@from-trunk-000000c3;2"}
    causes = {m["Channel"]: m["Cause"] for m in recorded[:shutdown]
              if m.get("Event") == "Hangup" and m["Channel"] in victims}
    assert causes == dict.fromkeys(victims, "0")
    assert not any(m.get("Event") == "Hangup" for m in recorded[shutdown:shutdown + 2])

    server, client = sim
    call = server.pbx.place_call("15", "Waiting", "0680000001", patience_s=300)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    await server.restart(down_s=0.05)
    await client.wait_closed()
    events = [m["Event"] for m in client.events()]
    hangups = {m["Channel"]: m["Cause"] for m in client.events("Hangup")}
    assert hangups == {call.channel: "0", call.phone.name: "0"}
    assert events.index("Shutdown") > max(n for n, e in enumerate(events) if e == "Hangup")


def shutdown_flagged_first(messages: list[AmiMessage]) -> tuple[set[str], set[str]]:
    """(channels hung up, channels sent ``SoftHangupRequest Cause: 4`` before the first
    of those Hangups) from the first such request to the ``Shutdown`` event."""
    start = next(n for n, m in enumerate(messages)
                 if m.get("Event") == "SoftHangupRequest" and m["Cause"] == "4")
    flagged: set[str] = set()
    hung_up: set[str] = set()
    for message in messages[start:]:
        if message.get("Event") == "Shutdown":
            break
        if message.get("Event") == "SoftHangupRequest" and message["Cause"] == "4" \
                and not hung_up:
            flagged.add(message["Channel"])
        elif message.get("Event") == "Hangup":
            hung_up.add(message["Channel"])
    return hung_up, flagged


async def test_core_restart_flags_every_channel_shutdown_before_any_hangup(
        sim: tuple[SimServer, AmiTestClient]) -> None:
    """Recording 09: ``core restart now`` sends every channel (callers talking or
    waiting, both halves, the agents' legs) a ``SoftHangupRequest`` with Cause 4,
    Asterisk's shutdown flag, before the first Hangup: the router's evidence that
    Asterisk itself cut those callers."""
    recorded = live_messages("09-asterisk-core-restart.events.ami")
    hung_up, flagged = shutdown_flagged_first(recorded)
    assert len(hung_up) == 16 and hung_up == flagged
    assert "Local/15@from-trunk-000000c1;2" in flagged  # a caller only waiting

    server, client = sim
    server.pbx.foreign.place(2)
    calls = [server.pbx.place_call("15", f"Waiting {n}", f"068000000{n}", patience_s=300)
             for n in range(2)]
    for _ in calls:
        await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    await server.restart(down_s=0.05)
    await client.wait_closed()
    hung_up, flagged = shutdown_flagged_first(client.events())
    assert hung_up == flagged
    assert {c.channel for c in calls} | {c.phone.name for c in calls} <= flagged
    assert len(flagged) == 6  # two callers' halves, two foreign channels


async def test_foreign_channels_carry_no_acd_variable_and_are_scored(
        sim: tuple[SimServer, AmiTestClient]) -> None:
    server, client = sim
    server.pbx.foreign.place(5)
    items = (await client.action("Status", VARIABLES))[1:-1]
    assert len(items) == 5
    assert all(variables_shape(m) == dict.fromkeys(("ACD_NUMBER", "ACD_ARRIVED",
                                                    "ACD_PRIORITY"), True) for m in items)
    assert {m["Context"] for m in items} == {"lab-ivr", "from-internal"}
    assert any(m["BridgeID"] for m in items)  # a call between two phones
    ivr = next(m["Channel"] for m in items if m["Context"] == "lab-ivr")
    await client.action("Redirect", ("Channel", ivr), ("Context", "acd-connect"),
                        ("Exten", "1001"), ("Priority", "1"))
    assert server.pbx.foreign.touched == [("Redirect", ivr)]
    await server.restart(down_s=0.05)
    assert server.pbx.channels == {}


async def test_a_crash_says_nothing_and_comes_back_empty(
        sim: tuple[SimServer, AmiTestClient]) -> None:
    server, client = sim
    server.pbx.foreign.place(2)
    server.pbx.place_call("15", "Waiting", "0680000001", patience_s=300)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    seen = len(client.events())
    await server.crash(down_s=0.05)
    await client.wait_closed()
    assert [m["Event"] for m in client.events()[seen:]] == []
    assert server.pbx.channels == {}
    assert [h.reason for h in server.pbx.hangups if h.role == "caller"] == ["crash"]
    again = await AmiTestClient.connect(server.port)
    try:
        await again.login()
        assert (await again.action("Status", VARIABLES))[-1]["ListItems"] == "0"
    finally:
        await again.close()


async def test_an_ami_drop_keeps_asterisk_and_its_calls(
        sim: tuple[SimServer, AmiTestClient]) -> None:
    server, client = sim
    call = server.pbx.place_call("15", "Waiting", "0680000001", patience_s=300)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    await server.drop_ami(down_s=0.05)
    await client.wait_closed()
    assert client.events("Shutdown") == [] and client.events("Hangup") == []
    assert call.channel in server.pbx.channels
