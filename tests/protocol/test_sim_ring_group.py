"""``Dial(PJSIP/a&PJSIP/b)`` in the simulator, as ``apps/app_dial.c`` does it: every
phone gets a ``DialBegin``; the first to answer takes the caller and the others get
``DialEnd`` CANCEL (``publish_dial_end_event`` before the answer is published) and are
hung up with cause 26 (``hanguptree``, ``AST_CAUSE_ANSWERED_ELSEWHERE``); a busy phone
ends alone; at the ring time-out every phone still ringing gets ``DialEnd`` NOANSWER."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from acd.sim.behaviour import FixedBehaviour, PerAgentBehaviour
from acd.sim.model import OfferOutcome, Phase
from tests.support.amiclient import AmiTestClient, connect_agent, sim_config
from tests.support.simflows import SimFactory, SimRig

NOANSWER = FixedBehaviour(OfferOutcome(kind="noanswer"))


@pytest.fixture
async def make_sim() -> AsyncIterator[SimFactory]:
    rig = SimRig(sim_config, seed=11, talk_s=3.0)
    yield rig.open
    await rig.close()


def dial_ends(client: AmiTestClient, channel: str) -> list[tuple[str, str]]:
    return [(m["DestChannel"], m["DialStatus"]) for m in client.events("DialEnd")
            if m.get("Channel") == channel]


async def test_the_first_phone_to_answer_takes_the_caller_the_others_are_cancelled(
        make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    sim.pbx.behaviour = PerAgentBehaviour(
        {"1001": FixedBehaviour(OfferOutcome(answer_after_s=3.0, talk_s=2.0)),
         "1002": FixedBehaviour(OfferOutcome(answer_after_s=1.0, talk_s=2.0, ender="agent")),
         "arm01": NOANSWER})
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=120)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    await connect_agent(client, call.channel, "1001",
                        "Local/1001@agents&Local/1002@agents&PJSIP/arm01")
    await client.wait_event("BridgeEnter", Channel=call.channel)
    begins = [m["DestChannel"] for m in client.events("DialBegin")
              if m.get("Channel") == call.channel]
    assert begins == ["Local/1001@agents-00000001;1", "Local/1002@agents-00000002;1",
                      "PJSIP/arm01-00000000"]
    assert dial_ends(client, call.channel) == [
        ("Local/1001@agents-00000001;1", "CANCEL"), ("PJSIP/arm01-00000000", "CANCEL"),
        ("Local/1002@agents-00000002;1", "ANSWER")]
    gone = {m["Channel"]: m["Cause"] for m in client.events("Hangup")}
    assert gone == {"Local/1001@agents-00000001;1": "26", "Local/1001@agents-00000001;2": "26",
                    "PJSIP/arm01-00000000": "26"}
    assert call.dial is not None and call.dial.agent_id == "1002"
    await client.wait_event("UserEvent", UserEvent="AcdDialEnd", Channel=call.channel)
    states = {m["Device"]: m["State"] for m in client.events("DeviceStateChange")}
    assert states == {"Local/1001@agents": "NOT_INUSE", "Local/1002@agents": "NOT_INUSE",
                      "PJSIP/arm01": "NOT_INUSE"}


async def test_a_busy_phone_ends_alone_and_the_others_ring_on(make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    sim.pbx.behaviour = PerAgentBehaviour(
        {"1001": FixedBehaviour(OfferOutcome(kind="busy")),
         "1002": FixedBehaviour(OfferOutcome(answer_after_s=1.0, talk_s=2.0))})
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=120)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    await connect_agent(client, call.channel, "1001", "Local/1001@agents&Local/1002@agents")
    await client.wait_event("BridgeEnter", Channel=call.channel)
    assert dial_ends(client, call.channel) == [
        ("Local/1001@agents-00000001;1", "BUSY"), ("Local/1002@agents-00000002;1", "ANSWER")]


async def test_every_phone_busy_returns_busy(make_sim: SimFactory) -> None:
    sim, client = await make_sim(OfferOutcome(kind="busy"))
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=120)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    await connect_agent(client, call.channel, "1001", "Local/1001@agents&Local/1002@agents")
    end = await client.wait_event("UserEvent", UserEvent="AcdDialEnd", Channel=call.channel)
    assert end["DialStatus"] == "BUSY"
    assert [status for _, status in dial_ends(client, call.channel)] == ["BUSY", "BUSY"]
    await client.wait_event("MusicOnHoldStart", Channel=call.channel)
    assert call.phase is Phase.WAITING


async def test_nobody_answers_every_phone_ends_noanswer_at_the_time_out(
        make_sim: SimFactory) -> None:
    sim, client = await make_sim(OfferOutcome(kind="noanswer"))
    await client.action("Setvar", ("Variable", "ACD_RING"), ("Value", "2"))
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=120)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    await connect_agent(client, call.channel, "1001", "Local/1001@agents&PJSIP/arm01")
    end = await client.wait_event("UserEvent", UserEvent="AcdDialEnd", Channel=call.channel)
    assert end["DialStatus"] == "NOANSWER"
    assert dial_ends(client, call.channel) == [
        ("Local/1001@agents-00000001;1", "NOANSWER"), ("PJSIP/arm01-00000000", "NOANSWER")]
    await client.wait_event("MusicOnHoldStart", Channel=call.channel)
    assert set(sim.pbx.channels) == {call.phone.name, call.channel}


async def test_the_caller_hangs_up_every_phone_is_cancelled(make_sim: SimFactory) -> None:
    sim, client = await make_sim(OfferOutcome(kind="noanswer"))
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=120)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    await connect_agent(client, call.channel, "1001", "Local/1001@agents&PJSIP/arm01")
    await client.wait_event("DialState", Channel=call.channel, DestChannel="PJSIP/arm01-00000000")
    sim.pbx.hang_up_caller(call)
    await client.wait_event("Hangup", Channel=call.channel)
    assert [status for _, status in dial_ends(client, call.channel)] == ["CANCEL", "CANCEL"]
    assert sim.pbx.channels == {}
    assert sim.pbx.events.device_states["PJSIP/arm01"] == "NOT_INUSE"


async def test_one_phone_hung_up_while_ringing_leaves_the_other_ringing(
        make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    sim.pbx.behaviour = PerAgentBehaviour(
        {"1001": NOANSWER, "arm01": FixedBehaviour(OfferOutcome(answer_after_s=2.0,
                                                                talk_s=2.0))})
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=120)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    await connect_agent(client, call.channel, "1001", "Local/1001@agents&PJSIP/arm01")
    await client.wait_event("DialState", Channel=call.channel, DestChannel="PJSIP/arm01-00000000")
    sim.pbx.hangup("Local/1001@agents-00000001;1", by="agent", reason="rejected")
    await client.wait_event("BridgeEnter", Channel=call.channel)
    assert dial_ends(client, call.channel) == [
        ("Local/1001@agents-00000001;1", "NOANSWER"), ("PJSIP/arm01-00000000", "ANSWER")]
