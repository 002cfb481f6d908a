"""The simulated PBX: calls, the ACD dialplan, lists, hangup bookkeeping, time."""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import AsyncIterator, Callable

import pytest

from acd.ami.frames import parse_frame
from acd.sim.behaviour import FixedBehaviour, PerAgentBehaviour, RandomBehaviour
from acd.sim.clock import SimClock
from acd.sim.model import Call, ChannelNotFound, Headers, OfferOutcome, Phase
from acd.sim.options import PbxOptions
from acd.sim.pbx import Pbx
from tests.support.amiclient import (
    AmiTestClient,
    connect_agent,
    headers_by_key,
    recorded_frames,
    sim_config,
)
from tests.support.simflows import START, EventRecorder, SimFactory, SimRig


@pytest.fixture
async def make_sim() -> AsyncIterator[SimFactory]:
    """A simulator on the small sim site, a client logged in (events on); closed after."""
    rig = SimRig(sim_config, seed=11, talk_s=3.0)
    yield rig.open
    await rig.close()


def names_for(client: AmiTestClient, channel: str) -> list[str]:
    return [m["Event"] for m in client.events() if m.get("Channel") == channel]


# ------------------------------------------------------------------ a whole call


async def test_call_announced_redirected_answered_and_hung_up(make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=120, priority=2)
    waiting = await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    assert waiting["Channel"] == call.channel == "Local/15@incoming-00000000;2"
    assert waiting.get_all("Uniqueid") == [call.trunk.uniqueid, call.trunk.uniqueid]
    assert waiting["Linkedid"] == call.phone.uniqueid
    assert waiting["Number"] == "15"
    assert waiting.get_all("Priority")[-1] == "2"
    assert waiting["CallerName"] == "Jean Martin"
    assert waiting["CallerIDNum"] == "0612340201"
    assert list(waiting)[-1] == "CallerName"
    await client.wait_event("MusicOnHoldStart", Channel=call.channel)

    await connect_agent(client, call.channel, "1001", "Local/1001@agents")
    connecting = await client.wait_event("UserEvent", UserEvent="AcdConnecting")
    assert connecting["Agent"] == "1001"
    begin = await client.wait_event("DialBegin", Channel=call.channel)
    assert begin["DestChannel"] == "Local/1001@agents-00000001;1"
    assert begin["DestLinkedid"] == call.phone.uniqueid
    assert begin["DialString"] == "1001@agents"
    ringing = await client.wait_event("DialState", Channel=call.channel)
    assert ringing["DialStatus"] == "RINGING"
    answer = await client.wait_event("DialEnd", Channel=call.channel)
    assert answer["DialStatus"] == "ANSWER"
    enter = await client.wait_event("BridgeEnter", Channel=call.channel)
    assert enter["BridgeNumChannels"] == "2"
    await client.wait_event("Hangup", Channel="Local/1001@agents-00000001;2")

    assert names_for(client, call.channel) == [
        "Newchannel", "VarSet", "VarSet", "UserEvent", "Newstate", "UserEvent", "VarSet",
        "MusicOnHoldStart", "VarSet", "MusicOnHoldStop", "VarSet", "UserEvent", "DialBegin",
        "DialState", "DialEnd", "BridgeEnter", "HangupRequest", "BridgeLeave",
        "SoftHangupRequest", "Hangup"]
    states = [(m["Device"], m["State"]) for m in client.events("DeviceStateChange")]
    assert states == [("Local/1001@agents", "INUSE"), ("Local/1001@agents", "NOT_INUSE")]
    assert sim.pbx.channels == {}
    assert call.phase is Phase.GONE
    assert sim.pbx.callers_hung_up_by("router-action") == []
    assert {h.by for h in sim.pbx.hangups} == {"caller"}


@pytest.mark.parametrize("priority", [None, 2])
async def test_acd_arrived_is_when_the_caller_joins_the_queue_to_the_millisecond(
        make_sim: SimFactory, priority: int | None) -> None:
    """As the dialplan: ``__ACD_ARRIVED`` is set after Answer() and the announcement,
    ``${STRFTIME(,,%s.%3q)}`` (Asterisk's microseconds cut to milliseconds), not
    ``${EPOCH}``'s whole seconds before Answer()."""
    sim, client = await make_sim()
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=120,
                              priority=priority)
    waiting = await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    arrived = await client.wait_event("VarSet", Channel=call.channel,
                                      Variable="__ACD_ARRIVED")
    assert arrived["Timestamp"] == waiting["Timestamp"]
    assert arrived["Value"] == waiting["Timestamp"][:-3]  # 6 decimals cut to 3
    trunk = [m for m in client.events() if m.get("Channel") == call.channel]
    assert trunk.index(arrived) > trunk.index(waiting)
    replies = await client.action("Status", ("Channel", call.channel),
                                  ("Variables", "ACD_ARRIVED"))
    assert replies[1].get_all("Variable") == [f"ACD_ARRIVED={arrived['Value']}"]


async def test_the_arrival_is_told_before_answer_and_the_announcement(
        make_sim: SimFactory) -> None:
    """As the dialplan: ``[acd-announce]`` sends the arrival UserEvent (``Number``,
    ``Uniqueid``) before ``Answer()``, whose half second is the announcement, then
    ``AcdCallWaiting`` when the caller joins the queue."""
    sim, client = await make_sim()
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=120, priority=2)
    waiting = await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    arrived = await client.wait_event("UserEvent", UserEvent="AcdCallArrived")
    trunk = [m for m in client.events() if m.get("Channel") == call.channel]
    answered = next(m for m in trunk if m["Event"] == "Newstate")
    assert trunk.index(arrived) < trunk.index(answered) < trunk.index(waiting)
    assert arrived["ChannelStateDesc"] == "Ring"
    assert arrived.get_all("Uniqueid") == [call.trunk.uniqueid, call.trunk.uniqueid]
    assert arrived["Number"] == "15"
    assert (arrived["Context"], arrived.get_all("Priority")) == ("acd-announce", ["3"])
    assert float(waiting["Timestamp"]) - float(arrived["Timestamp"]) == pytest.approx(
        0.5, abs=0.05)


async def test_a_caller_hangs_up_during_the_announcement(make_sim: SimFactory) -> None:
    """A patience shorter than the announcement: the arrival is told, the caller hangs
    up during ``Answer()``'s half second, ``AcdCallWaiting`` never comes."""
    sim, client = await make_sim()
    call = sim.pbx.place_call("15", "Pressé", "0612340299", patience_s=0.2)
    hangup = await client.wait_event("Hangup", Channel=call.channel)
    told = [m["UserEvent"] for m in client.events("UserEvent")
            if m.get("Channel") == call.channel]
    assert told == ["AcdCallArrived"]
    arrived = client.events("UserEvent")[0]
    # patience runs from the call (its dialplan's first steps may come late on a busy
    # machine): the hangup falls within Answer()'s half second after the arrival
    assert 0 <= float(hangup["Timestamp"]) - float(arrived["Timestamp"]) < 0.5
    assert not call.announced
    assert {h.by for h in sim.pbx.hangups} == {"caller"}


async def test_an_older_dialplan_tells_no_arrival(make_sim: SimFactory) -> None:
    sim, client = await make_sim(options=PbxOptions(arrival_event=False))
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=120)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    assert [m["UserEvent"] for m in client.events("UserEvent")
            if m.get("Channel") == call.channel] == ["AcdCallWaiting"]


async def test_pjsip_agent_rings_then_talks(make_sim: SimFactory) -> None:
    sim, client = await make_sim(OfferOutcome(answer_after_s=2.0, talk_s=2.0, ender="agent"))
    call = sim.pbx.place_call("116117", "Paul Petit", "0612340301", patience_s=120)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    await connect_agent(client, call.channel, "arm01", "PJSIP/arm01")
    begin = await client.wait_event("DialBegin", Channel=call.channel)
    assert begin["DestChannel"] == "PJSIP/arm01-00000000"
    assert begin["DialString"] == "arm01"
    await client.wait_event("Hangup", Channel=call.phone.name)
    states = [m["State"] for m in client.events("DeviceStateChange")
              if m["Device"] == "PJSIP/arm01"]
    assert states == ["RINGING", "INUSE", "NOT_INUSE"]
    dial_end = await client.wait_event("UserEvent", UserEvent="AcdDialEnd")
    assert (dial_end["Agent"], dial_end["DialStatus"]) == ("arm01", "ANSWER")
    by_channel = {h.channel: h.by for h in sim.pbx.hangups}
    assert by_channel == {"PJSIP/arm01-00000000": "agent", call.channel: "pbx",
                          call.phone.name: "pbx"}


async def test_agent_hangs_up_first_and_the_dialplan_ends_the_call(
        make_sim: SimFactory) -> None:
    sim, client = await make_sim(OfferOutcome(answer_after_s=1.0, talk_s=2.0, ender="agent"))
    call = sim.pbx.place_call("15", "Emile Zola", "0612340601", patience_s=120)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    await connect_agent(client, call.channel, "1001", "Local/1001@agents")
    await client.wait_event("Hangup", Channel=call.phone.name)
    order = [(m["Event"], m.get("Channel", m.get("UserEvent", ""))) for m in client.events()
             if m["Event"] in ("SoftHangupRequest", "HangupRequest", "Hangup", "BridgeLeave",
                               "BridgeDestroy", "UserEvent")][-13:]
    assert order == [
        ("SoftHangupRequest", "Local/1001@agents-00000001;2"),
        ("HangupRequest", "Local/1001@agents-00000001;1"),
        ("Hangup", "Local/1001@agents-00000001;2"),
        ("BridgeLeave", "Local/1001@agents-00000001;1"),
        ("BridgeLeave", call.channel),
        ("UserEvent", call.channel),
        ("SoftHangupRequest", call.channel),
        ("HangupRequest", call.phone.name),
        ("Hangup", call.channel),
        ("BridgeDestroy", ""),
        ("Hangup", "Local/1001@agents-00000001;1"),
        ("SoftHangupRequest", call.phone.name),
        ("Hangup", call.phone.name),
    ]
    assert sim.pbx.callers_hung_up_by("pbx")
    assert sim.pbx.callers_hung_up_by("router-action") == []


# ------------------------------------------------------------------ dial results


async def test_no_answer_sends_the_caller_back_to_holding(make_sim: SimFactory) -> None:
    sim, client = await make_sim(OfferOutcome(kind="noanswer"))
    global_set = (await client.action("Setvar", ("Variable", "ACD_RING"), ("Value", "2")))[0]
    assert global_set["Message"] == "Variable Set"
    assert (await client.action("Getvar", ("Variable", "ACD_RING")))[0]["Value"] == "2"
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=120)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    mark = len(client.messages)
    await connect_agent(client, call.channel, "1002", "Local/1002@agents")
    end = await client.wait_event("DialEnd", Channel=call.channel, since=mark)
    assert end["DialStatus"] == "NOANSWER"
    dial_end = await client.wait_event("UserEvent", UserEvent="AcdDialEnd", since=mark)
    assert (dial_end["Agent"], dial_end["DialStatus"]) == ("1002", "NOANSWER")
    await client.wait_event("MusicOnHoldStart", Channel=call.channel, since=mark)
    begin = await client.wait_event("DialBegin", Channel=call.channel)
    assert float(end["Timestamp"]) - float(begin["Timestamp"]) == pytest.approx(2.0, abs=0.2)
    assert call.phase is Phase.WAITING
    assert set(sim.pbx.channels) == {call.phone.name, call.channel}
    assert {h.by for h in sim.pbx.hangups} == {"pbx"}


async def test_busy_device_and_missing_dial_string(make_sim: SimFactory) -> None:
    sim, client = await make_sim(OfferOutcome(answer_after_s=0.5, talk_s=60.0))
    first = sim.pbx.place_call("15", "First", "0600000001", patience_s=120)
    second = sim.pbx.place_call("15", "Second", "0600000002", patience_s=120)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting", Channel=second.channel)
    await connect_agent(client, first.channel, "1001", "Local/1001@agents")
    await client.wait_event("BridgeEnter", Channel=first.channel)
    await connect_agent(client, second.channel, "1001", "Local/1001@agents")
    busy = await client.wait_event("UserEvent", UserEvent="AcdDialEnd",
                                   Channel=second.channel)
    assert busy["DialStatus"] == "BUSY"
    mark = len(client.messages)
    await client.action("Setvar", ("Channel", second.channel), ("Variable", "ACD_DIAL"),
                        ("Value", ""))
    await client.action("Redirect", ("Channel", second.channel), ("Context", "acd-connect"),
                        ("Exten", "1002"), ("Priority", "1"))
    invalid = await client.wait_event("UserEvent", UserEvent="AcdDialEnd",
                                      Channel=second.channel, since=mark)
    assert invalid["DialStatus"] == "INVALIDARGS"
    await client.wait_event("MusicOnHoldStart", Channel=second.channel, since=mark)
    assert first.phase is Phase.TALKING
    assert second.phase is Phase.WAITING


# ------------------------------------------------------------------ callers leave


async def test_caller_abandons_while_waiting(make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    call = sim.pbx.place_call("15", "Paul Petit", "0612340301", patience_s=3.0)
    hangup = await client.wait_event("Hangup", Channel=call.channel)
    sequence = [(m["Event"], m["Channel"]) for m in client.events()
                if m["Event"] in ("SoftHangupRequest", "HangupRequest", "Hangup",
                                  "MusicOnHoldStop")]
    assert sequence == [("SoftHangupRequest", call.phone.name),
                        ("HangupRequest", call.channel),
                        ("Hangup", call.phone.name),
                        ("MusicOnHoldStop", call.channel),
                        ("SoftHangupRequest", call.channel),
                        ("Hangup", call.channel)]
    assert hangup["Cause"] == "16"
    assert hangup["Cause-txt"] == "Normal Clearing"
    waited = float(hangup["Timestamp"]) - float(client.events("Newchannel")[0]["Timestamp"])
    assert waited == pytest.approx(3.0, abs=0.2)
    assert [h.by for h in sim.pbx.hangups] == ["caller", "caller"]
    assert sim.pbx.hangups[0].reason == "patience ran out"


async def test_caller_hangs_up_while_the_agent_rings(make_sim: SimFactory) -> None:
    sim, client = await make_sim(OfferOutcome(kind="noanswer"))
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=120)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    await connect_agent(client, call.channel, "1001", "Local/1001@agents")
    await client.wait_event("DialState", Channel=call.channel)
    sim.pbx.hang_up_caller(call)
    end = await client.wait_event("DialEnd", Channel=call.channel)
    assert end["DialStatus"] == "CANCEL"
    await client.wait_event("Hangup", Channel=call.channel)
    assert not [m for m in client.events("UserEvent") if m["UserEvent"] == "AcdDialEnd"]
    assert sim.pbx.channels == {}
    assert sim.pbx.events.device_states["Local/1001@agents"] == "NOT_INUSE"


async def test_router_hangup_of_a_caller_is_recorded(make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=120)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    reply = (await client.action("Hangup", ("Channel", call.channel), ("Cause", "16")))[0]
    assert reply["Message"] == "Channel Hungup"
    await client.wait_event("Hangup", Channel=call.phone.name)
    offenders = sim.pbx.callers_hung_up_by("router-action")
    assert {h.channel for h in offenders} == {call.channel, call.phone.name}
    missing = (await client.action("Hangup", ("Channel", call.channel)))[0]
    assert missing["Message"] == "No such channel"


# ------------------------------------------------------------------ redirect


async def test_redirect_errors_use_asterisk_wording(make_sim: SimFactory) -> None:
    _, client = await make_sim()
    unknown = (await client.action("Redirect", ("Channel", "Local/nonexistent@incoming-ffffffff;2"),
                                   ("Context", "holding"), ("Exten", "s"),
                                   ("Priority", "1")))[0]
    assert unknown["Response"] == "Error"
    assert unknown["Message"] == "Channel does not exist: Local/nonexistent@incoming-ffffffff;2"
    no_channel = (await client.action("Redirect", ("Context", "incoming")))[0]
    assert no_channel["Message"] == "Channel not specified"
    no_var = (await client.action("Getvar", ("Channel", "Local/x@y-0;1"),
                                  ("Variable", "X")))[0]
    assert no_var["Message"] == "No such channel"


async def test_redirect_out_of_the_bridge_back_to_holding(make_sim: SimFactory) -> None:
    sim, client = await make_sim(OfferOutcome(answer_after_s=1.0, talk_s=600.0))
    call = sim.pbx.place_call("15", "Marie Curie", "0612340401", patience_s=120)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    await connect_agent(client, call.channel, "1001", "Local/1001@agents")
    await client.wait_event("BridgeEnter", Channel=call.channel)
    mark = len(client.messages)
    await client.action("Redirect", ("Channel", call.channel), ("Context", "holding"),
                        ("Exten", "s"), ("Priority", "1"))
    await client.wait_event("MusicOnHoldStart", Channel=call.channel, since=mark)
    after = [(m["Event"], m.get("Channel", "")) for m in client.messages[mark:] if "Event" in m]
    assert after[:6] == [("BridgeLeave", call.channel),
                         ("BridgeLeave", "Local/1001@agents-00000001;1"),
                         ("HangupRequest", "Local/1001@agents-00000001;2"),
                         ("Hangup", "Local/1001@agents-00000001;1"),
                         ("BridgeDestroy", ""),
                         ("SoftHangupRequest", "Local/1001@agents-00000001;2")]
    assert set(sim.pbx.channels) == {call.phone.name, call.channel}
    assert sim.pbx.callers_hung_up_by("router-action") == []
    status = await client.action("Status", ("Channel", call.channel))
    assert status[1]["Context"] == "holding"
    assert status[1]["Linkedid"] == call.phone.uniqueid


async def test_redirect_to_a_missing_extension_hangs_up_and_blames_the_action(
        make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=120)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    await client.action("Redirect", ("Channel", call.channel), ("Context", "nowhere"),
                        ("Exten", "s"), ("Priority", "1"))
    await client.wait_event("Hangup", Channel=call.phone.name)
    assert {h.by for h in sim.pbx.callers_hung_up_by("router-action")} == {"router-action"}


# ------------------------------------------------------------------ lists



async def test_status_list_framing_and_variables(make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    first = sim.pbx.place_call("15", "Caller One", "0612340801", patience_s=120, priority=3)
    sim.pbx.place_call("116117", "Caller Two", "0612340802", patience_s=120)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting", Channel=first.channel)
    replies = await client.action("Status", ("Variables", "ACD_NUMBER,ACD_PRIORITY"))
    head, items, tail = replies[0], replies[1:-1], replies[-1]
    assert list(head.items()) == [("Response", "Success"), ("ActionID", head["ActionID"]),
                                  ("EventList", "start"),
                                  ("Message", "Channel status will follow")]
    assert len(items) == 4
    assert all(i["Event"] == "Status" and i["Privilege"] == "Call" for i in items)
    assert all(list(i)[-1] == "ActionID" and "Timestamp" not in i for i in items)
    trunk = next(i for i in items if i["Channel"] == first.channel)
    assert trunk.get_all("Variable") == ["ACD_NUMBER=15", "ACD_PRIORITY=3"]
    assert list(tail.items()) == [("Event", "StatusComplete"), ("ActionID", head["ActionID"]),
                                  ("EventList", "Complete"), ("ListItems", "4"),
                                  ("Items", "4")]
    recorded = [m for m in (
        parse_frame(f)
        for f in recorded_frames("08-status-and-coreshowchannels-lists.responses.ami"))
        if m.get("Event") == "Status"]
    assert frozenset(trunk) == frozenset(recorded[0]) | {"Variable"}
    one = await client.action("Status", ("Channel", first.channel))
    assert [m.get("Event") for m in one] == [None, "Status", "StatusComplete"]
    assert one[-1]["ListItems"] == "1"
    missing = (await client.action("Status", ("Channel", "Local/nonexistent@incoming-0;2")))
    assert missing[0]["Message"] == "No such channel"


async def test_core_show_channels_list_framing(make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    call = sim.pbx.place_call("15", "Caller One", "0612340801", patience_s=120)
    await client.wait_event("MusicOnHoldStart", Channel=call.channel)
    replies = await client.action("CoreShowChannels")
    head, items, tail = replies[0], replies[1:-1], replies[-1]
    assert list(head.items()) == [("Response", "Success"), ("ActionID", head["ActionID"]),
                                  ("EventList", "start"), ("Message", "Channels will follow")]
    assert [list(i)[:2] for i in items] == [["Event", "ActionID"]] * 2
    trunk = next(i for i in items if i["Channel"] == call.channel)
    assert (trunk["Application"], trunk["ApplicationData"]) == ("MusicOnHold", "default,5")
    assert trunk["Duration"].count(":") == 2
    recorded = headers_by_key([("CoreShowChannel", frozenset(m)) for m in (
        parse_frame(f)
        for f in recorded_frames("08-status-and-coreshowchannels-lists.responses.ami"))
        if m.get("Event") == "CoreShowChannel"])
    assert frozenset(trunk) == recorded["CoreShowChannel"]
    assert list(tail.items()) == [("Event", "CoreShowChannelsComplete"),
                                  ("ActionID", head["ActionID"]), ("EventList", "Complete"),
                                  ("ListItems", "2")]


async def test_originate_creates_a_caller_and_reports_it(make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    reply = await client.action(
        "Originate", ("Channel", "Local/15@incoming"), ("Context", "caller"), ("Exten", "s"),
        ("Priority", "1"), ("CallerID", '"Jean Martin" <0612340201>'),
        ("Variable", "CALLER_PATIENCE=3"), ("Async", "true"))
    assert reply[0]["Message"] == "Originate successfully queued"
    action_id = reply[0]["ActionID"]
    response = await client.wait_event("OriginateResponse")
    assert list(response)[:5] == ["Event", "Privilege", "Timestamp", "ActionID", "Response"]
    assert (response["ActionID"], response["Response"], response["Reason"]) == (
        action_id, "Success", "4")
    assert response["Channel"] == "Local/15@incoming-00000000;1"
    assert (response["CallerIDNum"], response["CallerIDName"]) == ("0612340201", "Jean Martin")
    call = sim.pbx.calls[0]
    assert call.patience_s == 3.0
    value = (await client.action("Getvar", ("Channel", call.channel),
                                 ("Variable", "CALLER_PATIENCE")))[0]
    assert value["Value"] == "3"


# ------------------------------------------------------------------ without TCP


def test_random_behaviour_is_reproducible_per_agent_offer() -> None:
    behaviour = RandomBehaviour()
    first = [behaviour.decide("1001", random.Random(f"5:1001:{n}")) for n in range(5)]
    again = [behaviour.decide("1001", random.Random(f"5:1001:{n}")) for n in range(5)]
    assert first == again
    assert len({o.talk_s for o in first}) == 5
    per_agent = PerAgentBehaviour({"1001": FixedBehaviour(OfferOutcome(kind="busy"))})
    assert per_agent.decide("1001", random.Random(0)).kind == "busy"


def test_a_busy_rate_turns_that_share_of_answers_busy_and_keeps_the_other_draws() -> None:
    """``busy_rate`` (a phone answering 486) takes its share from the answered offers
    with the no-answer draw itself: a rate of 0 changes nothing of a seeded run."""
    plain = RandomBehaviour(no_answer_rate=0.1, transfers={"OSNP": 0.3})
    busy = RandomBehaviour(no_answer_rate=0.1, busy_rate=0.2, transfers={"OSNP": 0.3})
    none = RandomBehaviour(no_answer_rate=0.1, busy_rate=0.0, transfers={"OSNP": 0.3})
    pairs = [(plain.decide("1001", random.Random(f"5:call{n}:0")),
              busy.decide("1001", random.Random(f"5:call{n}:0"))) for n in range(3000)]
    assert [none.decide("1001", random.Random(n)) for n in range(50)] == [
        plain.decide("1001", random.Random(n)) for n in range(50)]
    share = sum(b.kind == "busy" for _, b in pairs) / len(pairs)
    assert abs(share - 0.2) < 0.03
    assert all(b.kind == "busy" or b == p for p, b in pairs)
    assert all(p.kind == "answer" for p, b in pairs if b.kind == "busy")
    with pytest.raises(ValueError, match="busy"):
        RandomBehaviour(no_answer_rate=0.9, busy_rate=0.2)


async def test_pbx_alone_timestamps_carry_simulated_time() -> None:
    clock = SimClock(speed=100.0, start_epoch=START)
    pbx = Pbx(sim_config().agents, clock=clock, seed=1,
              behaviour=FixedBehaviour(OfferOutcome(answer_after_s=2.0, talk_s=5.0)))
    recorder = EventRecorder()
    pbx.subscribe(recorder)
    call = pbx.place_call("15", "A", "0600000001", patience_s=30)
    with pytest.raises(ChannelNotFound):
        pbx.redirect("Local/none@incoming-0;2", "holding", "s", 1)
    await clock.sleep(1.0)
    pbx.set_var(call.channel, "ACD_DIAL", "Local/1001@agents")
    pbx.redirect(call.channel, "acd-connect", "1001", 1)
    await clock.sleep(20.0)
    stamps = {name: stamp for name, _, stamp in recorder.events}
    enter = next(s for n, _, s in recorder.events if n == "BridgeEnter")
    hangup = next(s for n, h, s in recorder.events if n == "Hangup")
    assert hangup - enter == pytest.approx(5.0, abs=1e-6)
    waiting = next(s for n, h, s in recorder.events
                   if n == "UserEvent" and ("UserEvent", "AcdCallWaiting") in h)
    arrived = recorder.events[0][2]
    assert waiting - arrived == pytest.approx(0.5, abs=0.05)
    assert all(stamp >= START for stamp in stamps.values())
    assert [s for _, _, s in recorder.events] == sorted(s for _, _, s in recorder.events)
    assert call.phase is Phase.GONE


async def test_agent_feature_codes_come_from_the_agent_phone(make_sim: SimFactory) -> None:
    sim, client = await make_sim()
    sim.pbx.agent_feature("arm01", "*71")
    sim.pbx.agent_feature("arm01", "*7342")
    sim.pbx.agent_feature("1001", "*73")
    login = await client.wait_event("UserEvent", UserEvent="AcdAgentLogin")
    assert login["Channel"] == "PJSIP/arm01-00000000"
    pause = await client.wait_event("UserEvent", UserEvent="AcdAgentPause",
                                    Channel="PJSIP/arm01-00000001")
    assert pause["Reason"] == "42"
    local = await client.wait_event("UserEvent", UserEvent="AcdAgentPause",
                                    Channel="Local/1001@agents-00000000;1")
    assert local["Reason"] == "break"
    with pytest.raises(ValueError, match="feature code"):
        sim.pbx.agent_feature("arm01", "*99")
    assert sim.pbx.channels == {}
    assert {h.by for h in sim.pbx.hangups} == {"agent"}
    states = [m["State"] for m in client.events("DeviceStateChange")
              if m["Device"] == "PJSIP/arm01"]
    assert states == ["INUSE", "NOT_INUSE", "INUSE", "NOT_INUSE"]


async def test_router_decoder_reads_every_simulated_event(make_sim: SimFactory) -> None:
    from acd.ami import events as typed

    sim, client = await make_sim(OfferOutcome(answer_after_s=1.0, talk_s=1.0, ender="agent"),
                                 options=PbxOptions(full_event_mix=True))
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=120, priority=0)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    await connect_agent(client, call.channel, "arm01", "PJSIP/arm01")
    await client.wait_event("Hangup", Channel=call.phone.name)
    decoded = [typed.decode_frame(f) for f in client.raw_frames]
    waiting = next(e for e in decoded if isinstance(e, typed.UserEvent)
                   and e.name == "AcdCallWaiting")
    assert waiting.headers["Uniqueid"] == call.trunk.uniqueid
    assert waiting.headers["Priority"] == "0"
    assert waiting.headers["CallerName"] == "Jean Martin"
    assert waiting.timestamp is not None and waiting.timestamp >= START
    ends = [e.dial_status for e in decoded if isinstance(e, typed.DialEnd) and e.channel]
    assert ends == ["ANSWER"]


async def test_close_stops_the_pbx_timers(make_sim: SimFactory) -> None:
    sim, _ = await make_sim()
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=1.0)
    await sim.close()
    await sim.clock.sleep(2.0)
    assert call.phase is Phase.ARRIVING
    assert sim.pbx.hangups == []


def _seeded_run(seed: int) -> list[tuple[str, float]]:
    """Three calls routed at once, on a virtual clock: the PBX's own timing only (a
    real-time clock adds the event loop's jitter to every stamp)."""
    clock = SimClock(start_epoch=START, virtual=True)
    pbx = Pbx(sim_config().agents, clock=clock, seed=seed,
              behaviour=RandomBehaviour(answer_after_s=(1.0, 5.0), talk_s=(5.0, 20.0),
                                        no_answer_rate=0.3))
    recorder = EventRecorder()
    pbx.subscribe(recorder)
    calls: list[Call] = []

    def arrive() -> None:
        calls.extend(pbx.place_call("15", f"C{i}", f"06{i:08d}", patience_s=60)
                     for i in range(3))

    def route() -> None:
        for call, agent in zip(calls, ("1001", "1002", "arm01"), strict=True):
            pbx.set_var(call.channel, "ACD_DIAL", pbx.agents[agent].device)
            pbx.redirect(call.channel, "acd-connect", agent, 1)

    clock.call_at(START + 1.0, arrive)
    clock.call_at(START + 2.0, route)
    while clock.run_next(START + 46.0):  # every event due before 46 s
        pass
    pbx.stop()
    return [(name, round(stamp - START, 6)) for name, _, stamp in recorder.events]


def _routed_run(subscribe: Callable[[Pbx], None]) -> Pbx:
    """Three calls routed to three agents on a virtual clock, the events sent to the
    subscribers ``subscribe`` sets up."""
    clock = SimClock(start_epoch=START, virtual=True)
    pbx = Pbx(sim_config().agents, clock=clock, seed=3,
              behaviour=RandomBehaviour(answer_after_s=(1.0, 5.0), talk_s=(5.0, 20.0)))
    subscribe(pbx)
    calls = [pbx.place_call("15", f"C{i}", f"06{i:08d}", patience_s=60) for i in range(3)]
    for call, agent in zip(calls, ("1001", "1002", "arm01"), strict=True):
        pbx.set_var(call.channel, "ACD_DIAL", pbx.agents[agent].device)
        pbx.redirect(call.channel, "acd-connect", agent, 1)
    while clock.run_next(START + 60.0):
        pass
    return pbx


def test_a_subscriber_that_names_its_events_gets_those_alone_and_the_same() -> None:
    """A subscriber that says which events it reads gets exactly those, the same
    headers at the same instants as a subscriber of every event sees them; alone, the
    events nobody reads are not built, yet counted as sent."""
    names = {"Newchannel", "DialEnd", "BridgeEnter", "Hangup"}
    every, some, alone = EventRecorder(), EventRecorder(), EventRecorder()

    def both(pbx: Pbx) -> None:
        pbx.subscribe(every)
        pbx.subscribe(some, names)

    sent = _routed_run(both).events.count
    unread = _routed_run(lambda pbx: pbx.subscribe(alone, names)).events.count
    assert {"VarSet", "DialState", "BridgeCreate"} <= {n for n, _, _ in every.events}
    assert some.events == [e for e in every.events if e[0] in names]
    assert alone.events == some.events and {n for n, _, _ in some.events} == names
    assert unread == sent == len(every.events)


def test_same_seed_same_events_and_times() -> None:
    first, again, other = _seeded_run(3), _seeded_run(3), _seeded_run(4)
    assert first == again
    assert first != other
    assert any(name == "BridgeEnter" for name, _ in first)


def _host_clock_run(step: float = 0.0, jitter_s: float = 0.0,
                    ) -> tuple[Pbx, list[tuple[str, Headers, float]], list[float]]:
    """Three calls 10 simulated seconds apart on a virtual clock, the host's clock
    broken as asked; the events, and the simulated time each was sent at."""
    clock = SimClock(start_epoch=START, virtual=True)
    pbx = Pbx(sim_config().agents, clock=clock, seed=5,
              options=PbxOptions(full_event_mix=True))
    pbx.host.jitter_s = jitter_s
    if step:
        pbx.host.step(step, at=START + 15.0)
    recorder = EventRecorder()
    pbx.subscribe(recorder)
    sent: list[float] = []
    pbx.subscribe(lambda *_: sent.append(clock.now()))

    def arrive(n: int) -> None:
        pbx.place_call("15", f"C{n}", f"06{n:08d}", patience_s=60)

    for n in range(3):
        clock.call_at(START + 10.0 * n, functools.partial(arrive, n))
    while clock.run_next(START + 40.0):
        pass
    pbx.stop()
    return pbx, recorder.events, sent


def test_a_stepped_host_clock_moves_what_asterisk_writes_not_simulated_time() -> None:
    """An NTP step of the PBX host, an hour ahead at +15 s: every Timestamp, ACD_ARRIVED
    (STRFTIME) and ${EPOCH} from then on reads an hour more; the patience, the Answer()
    delay and every other duration stay on simulated time."""
    pbx, events, sent = _host_clock_run(step=3600.0)
    for (_name, _headers, stamp), at in zip(events, sent, strict=True):
        assert stamp == at + (3600.0 if at >= START + 15.0 else 0.0)
    arrived = [float(v) for name, headers, _ in events if name == "VarSet"
               for k, v in headers if k == "Value" and ("Variable", "__ACD_ARRIVED") in headers]
    announced = [c.announced_at for c in pbx.calls]
    assert arrived == pytest.approx([a + (3600.0 if a >= START + 15.0 else 0.0)
                                     for a in announced if a is not None], abs=1e-3)
    assert [c.announced_at - c.arrived for c in pbx.calls
            if c.announced_at is not None] == pytest.approx([0.5] * 3)
    assert pbx.kernel.builtin(pbx.calls[-1].trunk, "EPOCH") == str(int(START + 40 + 3600))


def test_host_timestamps_arrive_a_few_milliseconds_out_of_order() -> None:
    """Asterisk's threads stamp an event when they build it and queue it for the AMI
    in turn: each Timestamp up to 5 ms before it was sent, some before the previous
    event's."""
    _pbx, events, sent = _host_clock_run(jitter_s=0.005)
    stamps = [stamp for _, _, stamp in events]
    assert all(at - 0.005 <= stamp <= at for stamp, at in zip(stamps, sent, strict=True))
    assert any(later < earlier for earlier, later in itertools.pairwise(stamps))
    assert _host_clock_run(jitter_s=0.005)[1] == events  # seeded
