"""The simulator against the recordings of a real Asterisk 22.

For scenario 02 (one call answered via Redirect, then hung up by the driver) and 03
(a caller abandons while waiting), the simulator is driven the way the recording's
driver drove Asterisk, over TCP, and the event stream a passive ``Events: on``
connection receives is compared with ``NN-*.events.ami``: same sequence of event
names (VarSet, Newexten, DeviceStateChange and SuccessfulAuth left out), and for each
event the same header names.

The dialplan of the recordings differs from ``dialplans/`` in four documented ways,
which the comparison configures or allows for: its trunk context renames the caller
(``Appelant 15``: ``incoming_caller_names``), 116117 waits in a ``Wait(1)`` loop
instead of music on hold (``hold_style``), ``AcdCallWaiting`` gained the
``CallerName`` header (recorded in scenario 07), and it sends no ``AcdCallArrived``
before ``Answer()`` (``arrival_event``): a UserEvent of the same channel, whose header
names are those of the recorded ``AcdCallWaiting`` without ``CallerName``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from acd.sim.behaviour import FixedBehaviour
from acd.sim.model import OfferOutcome
from acd.sim.options import PbxOptions
from acd.sim.server import SimServer, start_sim
from tests.support.amiclient import (
    SECRET,
    AmiTestClient,
    event_shapes,
    headers_by_key,
    recorded_frames,
    sim_config,
)

#: header names the current dialplan adds to an event of the recordings
DIALPLAN_ADDITIONS = {"UserEvent/AcdCallWaiting": frozenset({"CallerName"})}
#: the current dialplan's UserEvent the recordings' older one did not send → the
#: recorded event whose header names it has, less the ones it does not carry
DIALPLAN_NEW_EVENTS = {"UserEvent/AcdCallArrived": ("UserEvent/AcdCallWaiting",
                                                    frozenset({"CallerName"}))}

ORIGINATE = (("Context", "caller"), ("Exten", "s"), ("Priority", "1"), ("Async", "true"))


@pytest.fixture
async def recording_like() -> AsyncIterator[SimServer]:
    options = PbxOptions(full_event_mix=True,
                         incoming_caller_names={"15": "Appelant 15",
                                                "116117": "Appelant 116117"},
                         hold_style={"116117": "wait"}, arrival_event=False)
    sim = await start_sim(sim_config(), seed=2, speed=20.0, secret=SECRET,
                          start_epoch=1795329358.0, options=options,
                          behaviour=FixedBehaviour(OfferOutcome(answer_after_s=1.0,
                                                                talk_s=300.0)))
    yield sim
    await sim.close()


async def recorder_and_driver(sim: SimServer) -> tuple[AmiTestClient, AmiTestClient]:
    recorder = await AmiTestClient.connect(sim.port)
    await recorder.login()
    driver = await AmiTestClient.connect(sim.port)
    await driver.login(events="off")
    return recorder, driver


def assert_same_shapes(frames: list[bytes], recording: str) -> None:
    mine = event_shapes(frames)
    theirs = event_shapes(recorded_frames(recording))
    assert [key for key, _ in mine] == [key for key, _ in theirs]
    expected = headers_by_key(theirs)
    for key, extra in DIALPLAN_ADDITIONS.items():
        if key in expected:
            expected[key] = expected[key] | extra
    assert headers_by_key(mine) == expected


async def test_scenario_02_call_answered_via_redirect(recording_like: SimServer) -> None:
    sim = recording_like
    recorder, driver = await recorder_and_driver(sim)
    await driver.action("Originate", ("Channel", "Local/15@incoming"),
                        ("CallerID", '"Jean Martin" <0612340201>'),
                        ("Variable", "CALLER_PATIENCE=600"), *ORIGINATE)
    waiting = await recorder.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    caller = waiting["Channel"]
    await driver.action("Setvar", ("Channel", caller), ("Variable", "ACD_DIAL"),
                        ("Value", "Local/1001@agents"))
    await driver.action("Redirect", ("Channel", caller), ("Context", "acd-connect"),
                        ("Exten", "1001"), ("Priority", "1"))
    await recorder.wait_event("BridgeEnter", Channel=caller)
    await driver.action("Hangup", ("Channel", caller.replace(";2", ";1")))
    await recorder.wait_event("Hangup", Channel="Local/1001@agents-00000001;2")
    await recorder.wait_event("DeviceStateChange", State="NOT_INUSE",
                              Device="Local/1001@agents")
    assert_same_shapes(recorder.raw_frames, "02-call-answered-via-redirect.events.ami")
    assert [h.by for h in sim.pbx.hangups if h.role.startswith("caller")] == [
        "router-action", "router-action"]  # the driver's Hangup, as in the recording
    await recorder.close()
    await driver.close()


async def test_scenario_03_call_abandoned_while_waiting(recording_like: SimServer) -> None:
    sim = recording_like
    recorder, driver = await recorder_and_driver(sim)
    await driver.action("Originate", ("Channel", "Local/116117@incoming"),
                        ("CallerID", '"Paul Petit" <0612340301>'),
                        ("Variable", "CALLER_PATIENCE=6"), *ORIGINATE)
    status = await driver.action("Status", ("Channel", "Local/116117@incoming-00000000;2"))
    assert status[1]["Context"] in ("incoming", "acd-announce", "holding-wait")
    await recorder.wait_event("Hangup", Channel="Local/116117@incoming-00000000;2")
    assert_same_shapes(recorder.raw_frames, "03-call-abandoned-while-waiting.events.ami")
    assert {h.by for h in sim.pbx.hangups} == {"caller"}
    await recorder.close()
    await driver.close()


async def test_reduced_mix_events_have_the_recorded_header_names() -> None:
    """Every event kind the default (reduced) mix sends, over answered, unanswered,
    busy, abandoned and redirected calls, has the header names Asterisk sends."""
    sim = await start_sim(sim_config(), seed=5, speed=50.0, secret=SECRET,
                          behaviour=FixedBehaviour(OfferOutcome(answer_after_s=1.0,
                                                                talk_s=2.0)))
    client = await AmiTestClient.connect(sim.port)
    await client.login()
    first = sim.pbx.place_call("15", "One", "0600000001", patience_s=60)
    second = sim.pbx.place_call("15", "Two", "0600000002", patience_s=60)
    sim.pbx.place_call("116117", "Three", "0600000003", patience_s=1.0)
    await client.wait_event("MusicOnHoldStart", Channel=second.channel)
    for call in (first, second):  # the second finds 1001 busy
        await client.action("Setvar", ("Channel", call.channel), ("Variable", "ACD_DIAL"),
                            ("Value", "Local/1001@agents"))
        await client.action("Redirect", ("Channel", call.channel),
                            ("Context", "acd-connect"), ("Exten", "1001"), ("Priority", "1"))
    await client.wait_event("UserEvent", UserEvent="AcdDialEnd", Channel=second.channel)
    await client.wait_event("Hangup", Channel=first.phone.name)
    mine = headers_by_key(event_shapes(client.raw_frames, skip=frozenset()))
    recorded = headers_by_key([shape for name in (
        "02-call-answered-via-redirect.events.ami", "03-call-abandoned-while-waiting.events.ami",
        "06-overflow-dial-failure.events.ami", "10-burst-50-calls.events.ami")
        for shape in event_shapes(recorded_frames(name), skip=frozenset())])
    for key, extra in DIALPLAN_ADDITIONS.items():
        recorded[key] = recorded[key] | extra
    for key, (like, less) in DIALPLAN_NEW_EVENTS.items():
        recorded[key] = recorded[like] - less
    assert "UserEvent/AcdCallArrived" in mine
    assert "DialEnd/chan" in mine and "UserEvent/AcdDialEnd" in mine
    for key, names in mine.items():
        assert names == recorded[key], key
    await client.close()
    await sim.close()
