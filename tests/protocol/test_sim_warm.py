"""The simulated PBX's warm transfers, driven over AMI as the router drives them:
``Originate`` of the target agent into ``[acd-warm]``, then ``Setvar ACD_WARM_PEER``
and ``Redirect`` of the caller to ``[acd-warm-bridge]``. The caller is never hung up
by any of it."""

from __future__ import annotations

import asyncio

import pytest

from acd.ami.frames import AmiMessage
from acd.sim.behaviour import FixedBehaviour, PerAgentBehaviour
from acd.sim.model import OfferKind, OfferOutcome, Phase
from acd.sim.options import PbxOptions
from acd.sim.server import SimServer
from tests.support.amiclient import AmiTestClient, connect_agent
from tests.support.simflows import (
    SimFactory,
    caller_alive,
    make_sim,
    since,
    user_events,
    waiting_call,
)

__all__ = ["make_sim"]  # the fixture, imported for the tests below


async def talking_with_arm01(sim: SimServer, client: AmiTestClient) -> tuple[str, str]:
    channel, uniqueid, _ = await waiting_call(sim, client)
    await connect_agent(client, channel, "arm01", "PJSIP/arm01")
    await client.wait_event("BridgeEnter", Channel=channel)
    return channel, uniqueid


async def ring_target(client: AmiTestClient, uniqueid: str, device: str = "PJSIP/osnp01",
                      agent: str = "osnp01", timeout_ms: str = "15000") -> list[AmiMessage]:
    return await client.action("Originate", ("Channel", device), ("Context", "acd-warm"),
                               ("Exten", agent), ("Priority", "1"),
                               ("CallerID", '"Jean Martin" <15>'),
                               ("Variable", f"ACD_WARM_CALL={uniqueid}"),
                               ("Timeout", timeout_ms), ("Async", "true"))


async def hand_over(client: AmiTestClient, channel: str, peer: str,
                    agent: str = "osnp01") -> None:
    reply = await client.action("Setvar", ("Channel", channel), ("Variable", "ACD_WARM_PEER"),
                                ("Value", peer))
    assert reply[0]["Message"] == "Variable Set"
    reply = await client.action("Redirect", ("Channel", channel),
                                ("Context", "acd-warm-bridge"), ("Exten", agent),
                                ("Priority", "1"))
    assert reply[0]["Message"] == "Redirect successful"


@pytest.mark.parametrize("full", [False, True], ids=["routing-events", "full-event-mix"])
async def test_the_target_answers_then_the_caller_is_bridged_with_it(
        make_sim: SimFactory, full: bool) -> None:
    sim, client = await make_sim(options=PbxOptions(full_event_mix=full))
    channel, uniqueid = await talking_with_arm01(sim, client)
    call = sim.pbx.call_by_channel(channel)
    assert call is not None and call.dial is not None
    first_legs = [leg.name for leg in call.dial.legs()]
    mark = len(client.messages)

    reply = await ring_target(client, uniqueid)
    assert reply[0]["Message"] == "Originate successfully queued"
    answered = await client.wait_event("UserEvent", UserEvent="AcdWarmAnswered", since=mark)
    assert (answered["Agent"], answered["Call"]) == ("osnp01", uniqueid)
    peer = answered["Channel"]
    assert peer.startswith("PJSIP/osnp01-")
    # an Originate's channel has its own Variable: only, none of the caller's (so a
    # resync never takes the agent's channel for a waiting caller)
    assert sim.pbx.get_var(peer, "ACD_WARM_CALL") == uniqueid
    assert sim.pbx.get_var(peer, "ACD_NUMBER") is None
    response = await client.wait_event("OriginateResponse", since=mark)
    assert (response["Response"], response["Reason"], response["Channel"]) == (
        "Success", "4", peer)
    begin = since(client, mark, "DialBegin")[-1]
    assert "Channel" not in begin and begin["DestChannel"] == peer  # only Dest* headers
    # the first agent still has the caller
    assert call.dial.agent_id == "arm01" and call.phase is Phase.TALKING
    assert since(client, mark, "Hangup") == []

    moved = len(client.messages)
    await hand_over(client, channel, peer)
    enter = await client.wait_event("BridgeEnter", Channel=channel, since=moved)
    assert enter["Context"] == "acd-warm-bridge"
    assert {h.channel: h.by for h in sim.pbx.hangups} == dict.fromkeys(first_legs, "pbx")
    assert caller_alive(sim, channel) and call.trunk.uniqueid == uniqueid
    assert call.dial is not None and call.dial.agent_id == "osnp01"

    ended = len(client.messages)
    assert sim.pbx.hang_up_agent("osnp01")
    dial_end = await client.wait_event("UserEvent", UserEvent="AcdDialEnd", since=ended)
    assert (dial_end["Agent"], dial_end["DialStatus"]) == ("osnp01", "ANSWER")
    await client.wait_event("Hangup", Channel=channel, since=ended)
    callers = sim.pbx.callers_hung_up_by("router-action")
    assert callers == []
    assert {h.by for h in sim.pbx.hangups if h.channel == channel} == {"pbx"}  # Hangup()


async def test_a_target_that_does_not_answer_leaves_the_caller_with_the_first_agent(
        make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    channel, uniqueid = await talking_with_arm01(sim, client)
    sim.pbx.behaviour = FixedBehaviour(OfferOutcome(kind="noanswer"))
    mark = len(client.messages)
    await ring_target(client, uniqueid, timeout_ms="4000")
    response = await client.wait_event("OriginateResponse", since=mark, timeout=5)
    assert (response["Response"], response["Reason"], response["Channel"]) == (
        "Failure", "3", "PJSIP/osnp01")
    assert user_events(client, mark, "AcdWarmAnswered") == []
    call = sim.pbx.call_by_channel(channel)
    assert call is not None and call.dial is not None and call.dial.agent_id == "arm01"
    assert caller_alive(sim, channel) and call.phase is Phase.TALKING
    assert {h.role for h in sim.pbx.hangups} <= {"agent", "agent-local"}


async def test_a_busy_target_fails_at_once(make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    channel, uniqueid = await talking_with_arm01(sim, client)
    mark = len(client.messages)
    await ring_target(client, uniqueid, device="PJSIP/arm01", agent="arm01")
    response = await client.wait_event("OriginateResponse", since=mark)
    assert (response["Response"], response["Reason"]) == ("Failure", "5")
    assert caller_alive(sim, channel)


async def test_a_bridge_to_a_gone_target_sends_the_caller_back_to_holding(
        make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    channel, _uniqueid = await talking_with_arm01(sim, client)
    mark = len(client.messages)
    await hand_over(client, channel, "PJSIP/osnp01-00000099")
    await client.wait_event("MusicOnHoldStart", Channel=channel, since=mark)
    dial_end = user_events(client, mark, "AcdDialEnd")
    assert [m["DialStatus"] for m in dial_end] == ["NONEXISTENT"]
    assert caller_alive(sim, channel)

    mark = len(client.messages)
    await hand_over(client, channel, "")  # no peer at all: INVALIDARGS, still waiting
    await client.wait_event("MusicOnHoldStart", Channel=channel, since=mark)
    assert [m["DialStatus"] for m in user_events(client, mark, "AcdDialEnd")] == [
        "INVALIDARGS"]
    assert caller_alive(sim, channel)


async def test_an_answered_target_whose_caller_never_comes_is_hung_up(
        make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    channel, uniqueid = await talking_with_arm01(sim, client)
    mark = len(client.messages)
    await ring_target(client, uniqueid)
    answered = await client.wait_event("UserEvent", UserEvent="AcdWarmAnswered", since=mark)
    await client.wait_event("Hangup", Channel=answered["Channel"], since=mark, timeout=5)
    (record,) = [h for h in sim.pbx.hangups if h.channel == answered["Channel"]]
    assert record.by == "pbx" and "never came" in record.reason
    assert caller_alive(sim, channel)
    assert sim.pbx.events.device_states["PJSIP/osnp01"] == "NOT_INUSE"


def _recorded(name: str, event: str, **headers: str) -> AmiMessage:
    from acd.ami.frames import parse_frame
    from tests.support.paths import LIVE

    for frame in (LIVE / name).read_bytes().split(b"\r\n\r\n"):
        if frame.startswith(f"Event: {event}\r\n".encode()):
            message = parse_frame(frame + b"\r\n\r\n")
            if all(message.get(k) == v for k, v in headers.items()):
                return message
    raise AssertionError(f"no {event} {headers} in {name}")


@pytest.mark.parametrize("recording", ["06e-warm-transfer-target-no-answer.events.ami",
                                       "06f-warm-transfer-target-busy.events.ami"])
async def test_the_first_dialplan_ran_the_failed_extension_as_recorded(
        make_sim: SimFactory, recording: str) -> None:
    """[acd-warm] without its own ``failed`` extension: the agent pattern runs on the
    dummy ``OutgoingSpoolFailed``, and the answer comes ACD_WARM_HOLD seconds late."""
    sim, client = await make_sim()
    sim.pbx.warm.failed_runs_pattern = True
    channel, uniqueid = await talking_with_arm01(sim, client)
    busy = "busy" in recording
    if not busy:
        sim.pbx.behaviour = FixedBehaviour(OfferOutcome(kind="noanswer"))
    mark = len(client.messages)
    await ring_target(client, uniqueid, device="PJSIP/arm01" if busy else "PJSIP/osnp01",
                      agent="arm01" if busy else "osnp01", timeout_ms="4000")
    response = await client.wait_event("OriginateResponse", since=mark, timeout=5)
    bogus = await client.wait_event("UserEvent", UserEvent="AcdWarmAnswered", since=mark)
    assert (bogus["Channel"], bogus["Agent"], bogus["Call"]) == (
        "OutgoingSpoolFailed", "failed", uniqueid)
    hold = float(response["Timestamp"]) - float(bogus["Timestamp"])
    assert hold == pytest.approx(10.0, abs=0.1)  # ACD_WARM_HOLD
    recorded = _recorded(recording, "OriginateResponse", Response="Failure")
    assert set(response) == set(recorded)
    assert (response["Reason"], response["Uniqueid"]) == (recorded["Reason"], "<unknown>")
    assert response["CallerIDNum"] == "15"  # the Originate's CallerID, as recorded
    recorded_bogus = _recorded(recording, "UserEvent", Channel="OutgoingSpoolFailed")
    assert set(bogus) - {"SystemName"} == set(recorded_bogus) - {"SystemName"}
    assert caller_alive(sim, channel)


async def test_the_shipped_failed_extension_answers_the_failure_at_once(
        make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    channel, uniqueid = await talking_with_arm01(sim, client)
    mark = len(client.messages)
    await ring_target(client, uniqueid, device="PJSIP/arm01", agent="arm01")
    response = await client.wait_event("OriginateResponse", since=mark)
    assert (response["Response"], response["Reason"], response["Exten"]) == (
        "Failure", "5", "arm01")
    dummy = await client.wait_event("Hangup", Channel="OutgoingSpoolFailed", since=mark)
    assert float(dummy["Timestamp"]) - float(response["Timestamp"]) < 0.1
    assert user_events(client, mark, "AcdWarmAnswered") == []
    assert caller_alive(sim, channel)


# ---------------------------------------------------------------- as live t3 recorded

def _t3_messages(run: str) -> list[AmiMessage]:
    """What Asterisk sent the live router in ``run`` (its first AMI session)."""
    from acd.ami.frames import FrameReader, parse_frame
    from tests.support.paths import LIVE_T3

    data = (LIVE_T3 / f"{run}.router-session.conn-1.s2c.ami").read_bytes()
    return [parse_frame(f) for f in FrameReader().feed(data.split(b"\r\n", 1)[1])]


def _answer_shape(messages: list[AmiMessage], device: str) -> list[tuple[str, str]]:
    """From a warm Originate's ``Response: Success`` on, what concerns its answer: the
    target's legs (``;1``, ``;2``, or ``leg`` for a SIP channel), its Dial, the
    OriginateResponse of that ActionID, the ``failed`` extension's dummy channel and
    the device's state (repeats folded), up to a second after the answer."""
    start = next(n for n, m in enumerate(messages)
                 if m.get("Message") == "Originate successfully queued")
    action_id = messages[start]["ActionID"]
    shape: list[tuple[str, str]] = []
    answered_at: float | None = None
    for m in messages[start + 1:]:
        stamp = float(m.get("Timestamp", "0") or 0)
        if answered_at is not None and stamp > answered_at + 1.0:
            break
        name, channel = m.get("Event", ""), m.get("Channel") or m.get("DestChannel", "")
        who = ("dummy" if channel == "OutgoingSpoolFailed" else
               (channel[-2:] if channel[-2:] in (";1", ";2") else "leg")
               if channel.startswith(device + "-") else None)
        if name == "OriginateResponse" and m.get("ActionID") == action_id:
            shape.append((name, f"{m['Response']} {m['Reason']}"))
            answered_at = stamp
        elif name == "DeviceStateChange" and m.get("Device") == device:
            if shape[-1:] != [(name, m["State"])]:
                shape.append((name, m["State"]))
        elif who is None:
            continue
        elif name in ("Newchannel", "DialBegin"):
            shape.append((name, who))
        elif name == "DialEnd":
            shape.append((name, m["DialStatus"]))
        elif name in ("HangupRequest", "Hangup"):
            shape.append((name, f"{who} {m['Cause']}"))
    return shape


@pytest.mark.parametrize(("run", "outcome"), [
    ("t3-06f-warm-transfer-target-busy", "busy"),
    ("t3-06e-warm-transfer-target-silent", "noanswer")])
async def test_a_failed_warm_originate_is_answered_as_recorded(
        make_sim: SimFactory, run: str, outcome: OfferKind) -> None:
    """Live t3-06f (``Busy()``) and t3-06e (rings for ever), Local agent devices: the
    OriginateResponse comes first (busy: DialBegin, ``DialEnd BUSY`` and ``Reason 5``
    within the millisecond; no answer: no DialEnd, ``Reason 3``), then the legs go,
    then the ``failed`` extension's dummy, then the device is free."""
    sim, client = await make_sim()
    channel, uniqueid = await talking_with_arm01(sim, client)
    sim.pbx.behaviour = PerAgentBehaviour(
        {"1002": FixedBehaviour(OfferOutcome(kind=outcome))},
        default=FixedBehaviour(OfferOutcome(answer_after_s=1.0, talk_s=600.0)))
    mark = len(client.messages)
    reply = await ring_target(client, uniqueid, device="Local/1002@agents", agent="1002",
                              timeout_ms="4000")
    response = await client.wait_event("OriginateResponse", since=mark, timeout=5)
    await client.wait_event("Hangup", Channel="OutgoingSpoolFailed", since=mark)
    await client.wait_for(lambda m: m.get("Device") == "Local/1002@agents"
                          and m.get("State") == "NOT_INUSE", since=mark)
    assert response["ActionID"] == reply[0]["ActionID"]
    recorded = _answer_shape(_t3_messages(run), "Local/1014@agents")
    assert _answer_shape(client.messages[mark:], "Local/1002@agents") == recorded
    if outcome == "busy":
        begin = since(client, mark, "DialBegin")[0]
        assert float(response["Timestamp"]) - float(begin["Timestamp"]) < 0.01
    assert caller_alive(sim, channel)


async def test_a_busy_sip_target_is_one_channel_refused_with_cause_17(
        make_sim: SimFactory) -> None:
    """A SIP phone's ``486 Busy Here`` (live t3-23, on a cold offer): its channel is
    asked to hang up with cause 17, the Dial ends BUSY, no device state changes."""
    sim, client = await make_sim()
    channel, uniqueid = await talking_with_arm01(sim, client)
    sim.pbx.behaviour = FixedBehaviour(OfferOutcome(kind="busy"))
    mark = len(client.messages)
    await ring_target(client, uniqueid)
    await client.wait_event("Hangup", Channel="OutgoingSpoolFailed", since=mark)
    assert _answer_shape(client.messages[mark:], "PJSIP/osnp01") == [
        ("Newchannel", "leg"), ("HangupRequest", "leg 17"), ("DialBegin", "leg"),
        ("DialEnd", "BUSY"), ("OriginateResponse", "Failure 5"), ("Hangup", "leg 17"),
        ("Newchannel", "dummy"), ("Hangup", "dummy 16")]
    assert caller_alive(sim, channel)


async def test_panoramisk_hands_the_busy_answer_to_the_originate(
        make_sim: SimFactory) -> None:
    """Through the router's own AMI connection: the OriginateResponse carries the
    Originate's ActionID and comes after its ``Response: Success``, so panoramisk
    appends it to the action's answer (live t3-06f: 3 ms after the Originate)."""
    from acd.ami import actions as act
    from acd.ami.client import AmiConnection
    from acd.ami.events import AmiEvent, StatusEntry
    from tests.support.amiclient import SECRET
    from tests.support.amipeer import ami_config

    class Sink:
        def on_event(self, event: AmiEvent) -> None: ...
        def on_link_up(self, channels: list[StatusEntry], taken_at: float) -> None: ...
        def on_link_down(self, reason: str) -> None: ...

    sim, client = await make_sim()
    channel, uniqueid = await talking_with_arm01(sim, client)
    connection = AmiConnection(ami_config(sim.port), SECRET, Sink())
    task = asyncio.create_task(connection.run())
    try:
        async with asyncio.timeout(5):
            while not connection.connected or connection.protocol is None \
                    or not connection.protocol.logged_in:
                await asyncio.sleep(0.01)
            answer = await connection.send(act.Originate(
                channel="PJSIP/arm01", context="acd-warm", exten="arm01",
                caller_id='"Jean Martin" <15>', timeout_ms=15000,
                variables=(f"ACD_WARM_CALL={uniqueid}",)))
    finally:
        await connection.stop()
        await task
    first, event = answer
    assert (first.response, first.message) == ("Success", "Originate successfully queued")
    assert (event.event, event.response, event.reason) == (
        "OriginateResponse", "Failure", "5")
    assert event.actionid == first.actionid
    assert caller_alive(sim, channel)
