"""The simulator's SAS call flows beyond one agent: transfer between filières
(``[acd-transfer]``) and overflow to a partner SAS (``[acd-overflow]``).

A raw AMI client over real TCP plays the router's part: it reads the UserEvents and
answers with Setvar + Redirect, as ``dialplans/README.md`` describes.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from acd.sim.behaviour import PartnerBehaviour, PartnerKind, RandomBehaviour
from acd.sim.clock import SimClock
from acd.sim.model import OfferOutcome, Phase
from acd.sim.options import PbxOptions
from acd.sim.pbx import Pbx
from acd.sim.transfer import AGENT_FEATURES
from tests.support.amiclient import connect_agent
from tests.support.dialplan import EXTENSIONS, FEATURES_CONF, parse_dialplan
from tests.support.simflows import (
    START,
    EventRecorder,
    SimFactory,
    caller_alive,
    flows_config,
    make_sim,
    overflow,
    since,
    user_events,
    waiting_call,
)

__all__ = ["make_sim"]  # the fixture, imported for the tests below


# ------------------------------------------------------------------ transfer


@pytest.mark.parametrize(("agent", "device", "leg_prefix"), [
    ("1001", "Local/1001@agents", "Local/1001@agents-"),
    ("arm01", "PJSIP/arm01", "PJSIP/arm01-"),
])
async def test_transfer_code_then_the_router_moves_the_caller(
        make_sim: SimFactory, agent: str, device: str, leg_prefix: str) -> None:
    sim, client = await make_sim()
    channel, uniqueid, linkedid = await waiting_call(sim, client)
    await connect_agent(client, channel, agent, device)
    await client.wait_event("BridgeEnter", Channel=channel)
    call = sim.pbx.call_by_channel(channel)
    assert call is not None and call.dial is not None
    first_legs = [leg.name for leg in call.dial.legs()]
    mark = len(client.messages)

    assert sim.pbx.agent_transfer(agent, "OSNP")
    xfer = await client.wait_event("UserEvent", UserEvent="AcdTransfer", since=mark)
    assert xfer["Target"] == "OSNP"
    assert xfer["Channel"] == first_legs[0] and xfer["Channel"].startswith(leg_prefix)
    assert xfer["Linkedid"] == linkedid
    # the dialplan only signals: still bridged, nothing hung up, no Dial ended
    assert call.phase is Phase.TALKING and call.dial.bridge is not None
    assert since(client, mark, "Hangup") == [] and since(client, mark, "BridgeLeave") == []

    # the router: an OSNP agent is free, Redirect the caller straight to it
    moved = len(client.messages)
    await connect_agent(client, channel, "osnp01", "PJSIP/osnp01")
    begin = await client.wait_event("DialBegin", Channel=channel, since=moved)
    assert begin["DestChannel"].startswith("PJSIP/osnp01-")
    assert (begin["Uniqueid"], begin["Linkedid"]) == (uniqueid, linkedid)
    assert begin["DestLinkedid"] == linkedid
    await client.wait_event("BridgeEnter", Channel=channel, since=moved)
    hung = {m["Channel"]: m["Cause"] for m in since(client, mark, "Hangup")}
    assert hung == dict.fromkeys(first_legs, "16")
    assert {h.channel: h.by for h in sim.pbx.hangups} == dict.fromkeys(first_legs, "pbx")
    assert caller_alive(sim, channel) and call.trunk.uniqueid == uniqueid
    # the Redirect skipped the rest of acd-connect: no AcdDialEnd for the first agent
    assert user_events(client, mark, "AcdDialEnd") == []
    assert sim.pbx.events.device_states[device] == "NOT_INUSE"


async def test_transfer_steps_are_the_dialplans(make_sim: SimFactory) -> None:
    """Full event mix: the Newexten steps of the Gosub are [acd-transfer]'s, and the
    agent's leg is back where it was (in the bridge) after Return()."""
    sim, client = await make_sim(options=PbxOptions(full_event_mix=True))
    channel, _, _ = await waiting_call(sim, client)
    await connect_agent(client, channel, "arm01", "PJSIP/arm01")
    await client.wait_event("BridgeEnter", Channel=channel)
    call = sim.pbx.call_by_channel(channel)
    assert call is not None and call.dial is not None
    leg = call.dial.outer
    before = (leg.context, leg.exten, leg.priority, leg.application)
    mark = len(client.messages)
    assert sim.pbx.agent_transfer("arm01", "PSY")
    await client.wait_event("UserEvent", UserEvent="AcdTransfer", since=mark)
    steps = [(m["Context"], m["Exten"], m["Priority"], m["Application"])
             for m in since(client, mark, "Newexten") if m["Channel"] == leg.name]
    plan = parse_dialplan(EXTENSIONS.read_text(encoding="utf-8"))
    (pattern_steps,) = plan["acd-transfer"].values()
    assert steps == [("acd-transfer", "PSY", str(s.prio), s.app) for s in pattern_steps]
    assert (leg.context, leg.exten, leg.priority, leg.application) == before
    assert leg.bridge_id and call.phase is Phase.TALKING
    # acd-connect gave the agent's leg the transfer codes (inherited DYNAMIC_FEATURES)
    assert leg.variables["DYNAMIC_FEATURES"] == AGENT_FEATURES
    assert AGENT_FEATURES in FEATURES_CONF.read_text(encoding="utf-8")
    assert f"Set(__DYNAMIC_FEATURES={AGENT_FEATURES})" in EXTENSIONS.read_text(
        encoding="utf-8")


async def test_a_behaviour_transfer_the_router_ignores_ends_after_30_s(
        make_sim: SimFactory) -> None:
    sim, client = await make_sim(OfferOutcome(answer_after_s=1.0, talk_s=2.0,
                                              transfer_to="MG", ender="caller"))
    channel, _, _ = await waiting_call(sim, client)
    await connect_agent(client, channel, "arm01", "PJSIP/arm01")
    xfer = await client.wait_event("UserEvent", UserEvent="AcdTransfer")
    assert xfer["Target"] == "MG"
    end = await client.wait_event("UserEvent", UserEvent="AcdDialEnd", timeout=3.0)
    assert end["DialStatus"] == "ANSWER"  # the agent hung up: the usual end of a call
    assert float(end["Timestamp"]) - float(xfer["Timestamp"]) == pytest.approx(30.0, abs=0.5)
    await client.wait_event("Hangup", Channel=channel)
    by = {h.channel: h.by for h in sim.pbx.hangups}
    assert by[xfer["Channel"]] == "agent"
    assert sim.pbx.callers_hung_up_by("router-action") == []


async def test_a_behaviour_transfer_taken_up_is_not_given_up(make_sim: SimFactory) -> None:
    sim, client = await make_sim(OfferOutcome(answer_after_s=1.0, talk_s=2.0,
                                              transfer_to="OSNP"))
    channel, _, _ = await waiting_call(sim, client)
    await connect_agent(client, channel, "1001", "Local/1001@agents")
    await client.wait_event("UserEvent", UserEvent="AcdTransfer")
    mark = len(client.messages)
    # the router: no OSNP agent free, the caller waits in the target queue
    await client.action("Redirect", ("Channel", channel), ("Context", "holding"),
                        ("Exten", "s"), ("Priority", "1"))
    await client.wait_event("MusicOnHoldStart", Channel=channel, since=mark)
    await sim.clock.sleep(40.0)  # past the agent's 30 s of patience
    assert caller_alive(sim, channel)
    assert user_events(client, mark, "AcdDialEnd") == []
    assert {h.by for h in sim.pbx.hangups} == {"pbx"}


async def test_agent_transfer_needs_a_conversation_and_a_queue_name(
        make_sim: SimFactory) -> None:
    sim, client = await make_sim(OfferOutcome(kind="noanswer"))
    assert not sim.pbx.agent_transfer("1001", "OSNP")  # no call at all
    channel, _, _ = await waiting_call(sim, client)
    await connect_agent(client, channel, "1001", "Local/1001@agents")
    await client.wait_event("DialState", Channel=channel)
    assert not sim.pbx.agent_transfer("1001", "OSNP")  # ringing, not talking
    for bad in ("osnp", "S", "15", ""):
        with pytest.raises(ValueError, match="acd-transfer"):
            sim.pbx.agent_transfer("1001", bad)
    assert user_events(client, 0, "AcdTransfer") == []


def test_random_behaviour_transfers_per_answered_offer() -> None:
    behaviour = RandomBehaviour(no_answer_rate=0.2, transfers={"OSNP": 0.5, "MG": 0.25})
    outcomes = [behaviour.decide("1001", random.Random(f"3:1001:{n}")) for n in range(2000)]
    assert outcomes == [behaviour.decide("1001", random.Random(f"3:1001:{n}"))
                        for n in range(2000)]
    answered = [o for o in outcomes if o.kind == "answer"]
    assert all(o.transfer_to is None for o in outcomes if o.kind != "answer")
    share = {t: sum(o.transfer_to == t for o in answered) / len(answered)
             for t in ("OSNP", "MG", None)}
    assert share == pytest.approx({"OSNP": 0.5, "MG": 0.25, None: 0.25}, abs=0.04)
    # without transfers, the draws (and so seeded runs) are those of before
    plain = RandomBehaviour(no_answer_rate=0.2)
    first = plain.decide("1001", random.Random("3:1001:0"))
    assert first.transfer_to is None
    assert (first.talk_s, first.kind) == (outcomes[0].talk_s, outcomes[0].kind)
    with pytest.raises(ValueError, match="queue names"):
        RandomBehaviour(transfers={"osnp": 0.1})
    with pytest.raises(ValueError, match="sum to at most 1"):
        RandomBehaviour(transfers={"OSNP": 0.7, "MG": 0.4})


# ------------------------------------------------------------------ overflow


@pytest.mark.parametrize(("dial", "dest", "dial_string"), [
    ("PJSIP/sas62/15", "PJSIP/sas62-", "sas62/15"),
    ("Local/15@partner-sas62", "Local/15@partner-sas62-", "15@partner-sas62"),
])
async def test_overflow_answered_by_the_partner(make_sim: SimFactory, dial: str, dest: str,
                                                dial_string: str) -> None:
    sim, client = await make_sim()
    sim.pbx.set_partner("sas62", PartnerBehaviour(answer_after_s=2.0, talk_s=20.0))
    channel, uniqueid, linkedid = await waiting_call(sim, client, patience_s=10.0)
    mark = len(client.messages)
    await overflow(client, channel, dial=dial)
    trying = await client.wait_event("UserEvent", UserEvent="AcdOverflowTrying", since=mark)
    assert (trying["Channel"], trying["Partner"]) == (channel, "sas62")
    begin = await client.wait_event("DialBegin", Channel=channel, since=mark)
    assert begin["DestChannel"].startswith(dest)
    assert begin["DialString"] == dial_string
    assert (begin["Uniqueid"], begin["DestLinkedid"]) == (uniqueid, linkedid)
    ringing = await client.wait_event("DialState", Channel=channel, since=mark)
    assert ringing["DialStatus"] == "RINGING"
    answer = await client.wait_event("DialEnd", Channel=channel, since=mark)
    assert answer["DialStatus"] == "ANSWER"
    assert answer["DestChannel"] == begin["DestChannel"]
    assert float(answer["Timestamp"]) - float(begin["Timestamp"]) == pytest.approx(2.0, abs=0.2)
    await client.wait_event("BridgeEnter", Channel=channel, since=mark)
    call = sim.pbx.call_by_channel(channel)
    assert call is not None and call.phase is Phase.WITH_PARTNER
    # the talk (20 s) outlasts the caller's patience (10 s): it stopped at the answer
    hangup = await client.wait_event("Hangup", Channel=channel, since=mark)
    assert float(hangup["Timestamp"]) - float(answer["Timestamp"]) == pytest.approx(
        20.0, abs=0.3)
    by = {h.channel: h.by for h in sim.pbx.hangups}
    legs = [n for n in by if n.startswith(dest)]
    assert by == {call.phone.name: "caller", channel: "caller", **dict.fromkeys(legs, "pbx")}
    assert len(legs) == (2 if dial.startswith("Local/") else 1)
    # the caller hung up: Dial did not return, no AcdOverflowEnd
    assert user_events(client, mark, "AcdOverflowEnd") == []
    assert sim.pbx.channels == {}


async def test_the_partner_ends_the_call(make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    sim.pbx.set_partner("sas62", PartnerBehaviour(answer_after_s=1.0, talk_s=3.0,
                                                  ender="partner"))
    channel, _, _ = await waiting_call(sim, client)
    await overflow(client, channel)
    end = await client.wait_event("UserEvent", UserEvent="AcdOverflowEnd")
    assert (end["Partner"], end["DialStatus"]) == ("sas62", "ANSWER")
    await client.wait_event("Hangup", Channel=channel)
    by = {h.channel: h.by for h in sim.pbx.hangups}
    assert set(by.values()) == {"pbx"}  # the dialplan's Hangup() and the trunk's cleanup
    assert sim.pbx.channels == {}


@pytest.mark.parametrize(("behaviour", "status"), [
    ("busy", "BUSY"), ("noanswer", "NOANSWER"), ("unavailable", "CHANUNAVAIL"),
    ("congestion", "CONGESTION"),
])
async def test_a_failed_overflow_goes_back_to_holding(make_sim: SimFactory,
                                                      behaviour: PartnerKind,
                                                      status: str) -> None:
    sim, client = await make_sim()
    sim.pbx.set_partner("sas62", behaviour)
    channel, uniqueid, _ = await waiting_call(sim, client)
    mark = len(client.messages)
    await overflow(client, channel, ring="3")
    end = await client.wait_event("UserEvent", UserEvent="AcdOverflowEnd", since=mark)
    assert (end["Channel"], end["Partner"], end["DialStatus"]) == (channel, "sas62", status)
    back = client.messages.index(end)  # the hold loop may restart before the overflow
    await client.wait_event("MusicOnHoldStart", Channel=channel, since=back)
    begins = [m for m in since(client, mark, "DialBegin") if m.get("Channel") == channel]
    dial_ends = [m["DialStatus"] for m in since(client, mark, "DialEnd")
                 if m.get("Channel") == channel]
    if status == "CHANUNAVAIL":  # the trunk channel is never set up
        assert begins == [] and dial_ends == []
        assert since(client, mark, "Newchannel") == []
    else:
        assert len(begins) == 1 and dial_ends == [status]
        trying = user_events(client, mark, "AcdOverflowTrying")[0]
        if status == "NOANSWER":
            assert float(end["Timestamp"]) - float(trying["Timestamp"]) == pytest.approx(
                3.0, abs=0.2)
    call = sim.pbx.call_by_channel(channel)
    assert call is not None and call.phase is Phase.WAITING
    assert call.trunk.uniqueid == uniqueid
    assert set(sim.pbx.channels) == {call.phone.name, channel}
    assert not [h for h in sim.pbx.hangups if h.role in ("caller", "caller-phone")]
    assert {h.by for h in sim.pbx.hangups} <= {"pbx"}


async def test_an_unavailable_local_partner_is_created_then_hung_up(
        make_sim: SimFactory) -> None:
    """As recorded (06, a Local channel to a missing context): Newchannel ;1 and ;2,
    both hung up, no DialBegin/DialEnd, DIALSTATUS CHANUNAVAIL."""
    sim, client = await make_sim()
    sim.pbx.set_partner("sas62", "unavailable")
    channel, _, _ = await waiting_call(sim, client)
    mark = len(client.messages)
    await overflow(client, channel, dial="Local/15@partner-sas62")
    end = await client.wait_event("UserEvent", UserEvent="AcdOverflowEnd", since=mark)
    assert end["DialStatus"] == "CHANUNAVAIL"
    shape = [(m["Event"], m.get("Channel", "")) for m in since(client, mark)
             if m["Event"] in ("Newchannel", "Hangup", "DialBegin", "DialEnd")]
    pair = "Local/15@partner-sas62-00000001"
    assert shape == [("Newchannel", f"{pair};1"), ("Newchannel", f"{pair};2"),
                     ("Hangup", f"{pair};2"), ("Hangup", f"{pair};1")]
    assert {m["Cause"] for m in since(client, mark, "Hangup")} == {"0"}
    assert caller_alive(sim, channel)


@pytest.mark.parametrize("dial", [None, "", "sas62"])
async def test_an_overflow_without_a_dial_string_waits_again(make_sim: SimFactory,
                                                             dial: str | None) -> None:
    sim, client = await make_sim()
    channel, _, _ = await waiting_call(sim, client)
    mark = len(client.messages)
    await overflow(client, channel, dial=dial)
    end = await client.wait_event("UserEvent", UserEvent="AcdOverflowEnd", since=mark)
    assert end["DialStatus"] == "INVALIDARGS"
    await client.wait_event("MusicOnHoldStart", Channel=channel, since=mark)
    assert since(client, mark, "Newchannel") == []
    assert caller_alive(sim, channel)


async def test_a_partner_failing_mid_scenario(make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    assert sim.pbx.partner_behaviour("sas62") == PartnerBehaviour()  # default: answer
    sim.pbx.set_partner("sas62", PartnerBehaviour(answer_after_s=1.0, talk_s=300.0))
    first, _, _ = await waiting_call(sim, client)
    await overflow(client, first)
    await client.wait_event("BridgeEnter", Channel=first)
    sim.pbx.set_partner("sas62", "unavailable")  # the trunk goes down
    second, _, _ = await waiting_call(sim, client)
    await overflow(client, second)
    end = await client.wait_event("UserEvent", UserEvent="AcdOverflowEnd", Channel=second)
    assert end["DialStatus"] == "CHANUNAVAIL"
    call = sim.pbx.call_by_channel(first)
    assert call is not None and call.phase is Phase.WITH_PARTNER  # the first goes on
    with pytest.raises(ValueError, match="unknown partner behaviour"):
        sim.pbx.set_partner("sas62", "down")  # type: ignore[arg-type]


async def test_a_redirect_cancels_the_partner_dial(make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    sim.pbx.set_partner("sas62", "noanswer")
    channel, uniqueid, _ = await waiting_call(sim, client)
    mark = len(client.messages)
    await overflow(client, channel, ring="60")
    begin = await client.wait_event("DialBegin", Channel=channel, since=mark)
    await client.wait_event("DialState", Channel=channel, since=mark)
    # the router: an agent became free, take the caller back from the partner
    moved = len(client.messages)
    await connect_agent(client, channel, "1001", "Local/1001@agents")
    cancel = await client.wait_event("DialEnd", Channel=channel, since=moved)
    assert (cancel["DestChannel"], cancel["DialStatus"]) == (begin["DestChannel"], "CANCEL")
    agent = await client.wait_event("DialBegin", Channel=channel, since=moved)
    assert agent["DestChannel"].startswith("Local/1001@agents-")
    assert agent["Uniqueid"] == uniqueid
    hung = await client.wait_event("Hangup", Channel=begin["DestChannel"], since=moved)
    assert client.messages.index(hung) < client.messages.index(agent)
    assert {h.channel: h.by for h in sim.pbx.hangups} == {begin["DestChannel"]: "pbx"}
    assert user_events(client, mark, "AcdOverflowEnd") == []
    await client.wait_event("BridgeEnter", Channel=channel, since=moved)
    assert caller_alive(sim, channel)


async def test_a_caller_gives_up_while_the_partner_rings(make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    sim.pbx.set_partner("sas62", "noanswer")
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=8.0)
    await client.wait_event("MusicOnHoldStart", Channel=call.channel)
    await overflow(client, call.channel, ring="60")
    begin = await client.wait_event("DialBegin", Channel=call.channel)
    cancel = await client.wait_event("DialEnd", Channel=call.channel)
    assert cancel["DialStatus"] == "CANCEL"
    await client.wait_event("Hangup", Channel=call.channel)
    by = {h.channel: h.by for h in sim.pbx.hangups}
    assert by == {call.phone.name: "caller", call.channel: "caller",
                  begin["DestChannel"]: "pbx"}
    assert sim.pbx.hangups[0].reason == "patience ran out"
    assert user_events(client, 0, "AcdOverflowEnd") == []
    assert sim.pbx.channels == {}


async def test_overflow_steps_are_the_dialplans_and_the_router_reads_them(
        make_sim: SimFactory) -> None:
    """Full event mix: the caller's Newexten steps in acd-overflow follow the file, and
    the router's decoder reads every event of the flow."""
    from acd.ami import events as typed

    sim, client = await make_sim(options=PbxOptions(full_event_mix=True))
    sim.pbx.set_partner("sas62", "busy")
    channel, _, _ = await waiting_call(sim, client)
    mark = len(client.messages)
    await overflow(client, channel)
    await client.wait_event("MusicOnHoldStart", Channel=channel, since=mark)
    steps = [(m["Priority"], m["Application"]) for m in since(client, mark, "Newexten")
             if m["Channel"] == channel and m["Context"] == "acd-overflow"]
    plan = parse_dialplan(EXTENSIONS.read_text(encoding="utf-8"))
    (file_steps,) = plan["acd-overflow"].values()
    by_prio = {s.prio: s.app for s in file_steps}
    assert [int(p) for p, _ in steps] == [1, 2, 3, 4, 5, 6, 7]
    assert all(by_prio[int(p)] == app for p, app in steps)
    sets = [m["Value"] for m in since(client, mark, "VarSet")
            if m["Channel"] == channel and m["Variable"] == "__DYNAMIC_FEATURES"]
    assert sets == [""]
    decoded = [typed.decode_frame(f) for f in client.raw_frames]
    ends = [e for e in decoded if isinstance(e, typed.UserEvent)
            and e.name == "AcdOverflowEnd"]
    assert [(e.headers["Partner"], e.headers["DialStatus"]) for e in ends] == [
        ("sas62", "BUSY")]


async def test_hanging_up_the_partner_leg_ends_the_call(make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    sim.pbx.set_partner("sas62", PartnerBehaviour(answer_after_s=1.0, talk_s=300.0))
    channel, _, _ = await waiting_call(sim, client)
    await overflow(client, channel)
    answered = await client.wait_event("DialEnd", Channel=channel)
    assert answered["DialStatus"] == "ANSWER"
    reply = await client.action("Hangup", ("Channel", answered["DestChannel"]))
    assert reply[0]["Message"] == "Channel Hungup"
    end = await client.wait_event("UserEvent", UserEvent="AcdOverflowEnd")
    assert end["DialStatus"] == "ANSWER"
    await client.wait_event("Hangup", Channel=channel)
    assert sim.pbx.callers_hung_up_by("router-action") == []
    assert sim.pbx.channels == {}


# ------------------------------------------------------------------ without TCP


async def _partner_run(seed: int) -> list[tuple[str, float]]:
    """Hangup times of three overflowed calls, from their arrival on."""
    clock = SimClock(speed=4000.0, start_epoch=START)
    pbx = Pbx(flows_config().agents, clock=clock, seed=seed)
    recorder = EventRecorder()
    pbx.subscribe(recorder)
    done = asyncio.Event()
    sent: list[float] = []

    def finish() -> None:
        pbx.stop()
        done.set()

    def send() -> None:
        sent.append(clock.now())
        for i in range(3):
            call = pbx.place_call("15", f"C{i}", f"06{i:08d}", patience_s=600)
            pbx.set_var(call.channel, "ACD_PARTNER_DIAL", "PJSIP/sas62/15")
            pbx.redirect(call.channel, "acd-overflow", "sas62", 1)
        clock.call_later(400.0, finish)  # every call has ended by then

    clock.call_later(0.0, send)
    await asyncio.wait_for(done.wait(), 5.0)
    return [(name, round(stamp - sent[0], 6)) for name, _, stamp in recorder.events
            if name == "Hangup"]


async def test_partner_talk_times_are_seeded() -> None:
    first, again, other = await _partner_run(5), await _partner_run(5), await _partner_run(6)
    assert first == again
    assert first != other
    assert len(first) == 9  # three calls: caller ;1 and ;2, one trunk leg each
