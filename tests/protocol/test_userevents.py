"""The dialplan's UserEvents typed by the names ``[dialplan]`` gives them
(:mod:`acd.ami.userevents`): from the bytes Asterisk sent in recording 06b, and from
frames written here for what no recording holds."""

from __future__ import annotations

import msgspec
import pytest

from acd.ami import events as ev
from acd.ami import userevents as ue
from acd.config import DialplanNames
from tests.support.paths import LIVE

RECORDING = LIVE / "06b-transfer-dtmf-warm-amu.events.ami"


def recorded(name: str) -> bytes:
    """The first UserEvent ``name`` of recording 06b, as the framer gives it."""
    marker = f"\r\nUserEvent: {name}\r\n".encode()
    return next(frame for frame in RECORDING.read_bytes().split(b"\r\n\r\n")
                if marker in frame + b"\r\n")


def frame(name: str, *headers: str) -> bytes:
    """A UserEvent of a caller's channel (its own Priority and Uniqueid in the channel
    block), then the dialplan's ``headers``."""
    block = ["Event: UserEvent", "Channel: PJSIP/trunk-00000001", "Context: acd-announce",
             "Exten: s", "Priority: 3", "Uniqueid: 1.5", "Linkedid: 1.5",
             f"UserEvent: {name}", *headers]
    return "\r\n".join(block).encode()


def test_the_recorded_events_become_their_structs_with_the_headers_the_router_reads() -> None:
    decoder = ue.UserEventDecoder(DialplanNames())
    waiting = decoder.decode_frame(recorded("AcdCallWaiting"))
    assert isinstance(waiting, ue.CallWaiting)
    # the channel block's Priority (10) is the dialplan's step, not the call's
    assert (waiting.number, waiting.caller_name, waiting.call_id, waiting.priority) == (
        "15", "Xfer 06b", "1796165594.568", None)
    connecting = decoder.decode_frame(recorded("AcdConnecting"))
    assert isinstance(connecting, ue.Connecting) and connecting.agent == "1003"
    transfer = decoder.decode_frame(recorded("AcdTransfer"))
    assert isinstance(transfer, ue.TransferCode)
    assert (transfer.target, transfer.agent) == ("AMU_N2", "")
    answered = decoder.decode_frame(recorded("AcdWarmAnswered"))
    assert isinstance(answered, ue.WarmAnswered)
    assert (answered.call, answered.agent) == ("1796165594.568", "1014")
    end = decoder.decode_frame(recorded("AcdDialEnd"))
    assert isinstance(end, ue.DialplanDialEnd) and end.dial_status == "ANSWER"
    assert end.headers == {"Agent": "1014", "DialStatus": "ANSWER"}  # all still there
    assert end.channel == "Local/15@from-trunk-00000090;2"


@pytest.mark.parametrize(("name", "kind"), [
    ("call_waiting_event", ue.CallWaiting), ("arrival_event", ue.CallArrived),
    ("connecting_event", ue.Connecting), ("dial_end_event", ue.DialplanDialEnd),
    ("agent_login_event", ue.LoginCode), ("agent_logout_event", ue.LogoutCode),
    ("agent_pause_event", ue.PauseCode), ("agent_ready_event", ue.ReadyCode),
    ("warm_answered_event", ue.WarmAnswered), ("transfer_event", ue.TransferCode),
    ("overflow_end_event", ue.OverflowEnd), ("overflow_trying_event", ue.OverflowTrying),
])
def test_each_event_is_found_by_the_name_the_config_gives_it(
        name: str, kind: type[ue.DialplanEvent]) -> None:
    names = msgspec.structs.replace(DialplanNames(), **{name: "SiteEvent"})
    decoder = ue.UserEventDecoder(names)
    assert type(decoder.decode_frame(frame("SiteEvent"))) is kind
    default = getattr(DialplanNames(), name)
    assert type(decoder.decode_frame(frame(default))) is ev.UserEvent  # its old name


def test_without_names_every_user_event_stays_plain() -> None:
    event = ue.UserEventDecoder().decode_frame(recorded("AcdCallWaiting"))
    assert type(event) is ev.UserEvent and event.headers["Number"] == "15"


def test_two_events_given_one_name_are_the_first_in_the_engines_order() -> None:
    names = DialplanNames(agent_ready_event="AcdAgentPause", transfer_event="AcdCallWaiting")
    decoder = ue.UserEventDecoder(names)
    assert type(decoder.decode_frame(frame("AcdAgentPause"))) is ue.PauseCode
    assert type(decoder.decode_frame(frame("AcdCallWaiting"))) is ue.CallWaiting


def test_the_dialplans_own_priority_and_uniqueid_follow_the_channel_blocks() -> None:
    decoder = ue.UserEventDecoder(DialplanNames())
    event = decoder.decode_frame(frame("AcdCallWaiting", "Number: 116117",
                                       "Uniqueid: 1.4", "Priority: 2", "Queue: MG"))
    assert isinstance(event, ue.CallWaiting)
    assert (event.priority, event.dialplan_uniqueid, event.queue) == (2, "1.4", "MG")
    assert event.call_id == "1.5"  # the channel's own comes first


@pytest.mark.parametrize(("channel_uniqueid", "dialplan", "call_id"), [
    ("", ("Uniqueid: 1.4",), "1.4"),
    ("", (), "PJSIP/trunk-00000001"),
])
def test_without_the_channels_uniqueid_the_call_is_the_dialplans_or_the_channel(
        channel_uniqueid: str, dialplan: tuple[str, ...], call_id: str) -> None:
    plain = ev.UserEvent(channel="PJSIP/trunk-00000001", uniqueid=channel_uniqueid,
                         name="AcdCallArrived",
                         headers=dict(h.split(": ", 1) for h in dialplan))
    event = ue.UserEventDecoder(DialplanNames()).typed(plain)
    assert isinstance(event, ue.CallArrived) and event.call_id == call_id


@pytest.mark.parametrize(("text", "priority"), [
    ("0", 0), ("9", 9), ("09", 9), ("10", None), ("x", None), ("", None), ("-1", None),
    (" 3", None), ("3.0", None), ("\u00b2", None), (None, None),
    ("\u0663", 3),  # a decimal digit of another script reads as it always has
])
def test_a_priority_is_a_number_to_9_else_none(text: str | None, priority: int | None) -> None:
    assert ue.call_priority(text) == priority


def test_a_priority_that_is_no_digit_decodes_the_event_all_the_same() -> None:
    decoder = ue.UserEventDecoder(DialplanNames())
    event = decoder.decode_frame(frame("AcdCallWaiting", "Number: 15", "Priority: \u00b2",
                                       "Priority: urgent"))
    assert isinstance(event, ue.CallWaiting) and event.priority is None
    assert event.number == "15"


def test_a_user_event_that_does_not_fit_is_still_undecodable() -> None:
    """What the AMI link counts as dropped (``undecodable``) is as before."""
    decoder = ue.UserEventDecoder(DialplanNames())
    with pytest.raises(ev.UndecodableEvent, match="UserEvent"):
        decoder.decode_frame(frame("AcdCallWaiting", "Timestamp: nan"))
    with pytest.raises(ev.UndecodableEvent, match="UserEvent"):
        decoder.decode_frame(b"Event: UserEvent\r\nUserEvent: AcdCallWaiting\r\nNumber: 15")
