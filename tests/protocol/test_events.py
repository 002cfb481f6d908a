"""Typed decoding: wanted events become Structs; the rest is skipped unparsed."""

from __future__ import annotations

import pytest

from acd.ami import events as ev
from acd.ami.frames import AmiMessage, FrameReader, parse_frame
from tests.support.paths import transcript


def typed(name: str) -> list[ev.AmiEvent]:
    frames = FrameReader().feed(transcript(name))
    return [e for e in (ev.decode_frame(f) for f in frames) if e is not None]


def test_call_waiting_user_event_has_its_own_headers() -> None:
    event = next(e for e in typed("07-non-ascii-callerid.events.ami")
                 if isinstance(e, ev.UserEvent) and e.name == "AcdCallWaiting")
    assert event.channel == "Local/0144556677@incoming-00000015;2"
    assert event.headers == {"Number": "0144556677", "Uniqueid": "1795329452.43",
                             "CallerName": "Hélène Dupré"}
    assert event.caller_id_name == "Hélène Dupré"
    assert event.timestamp == pytest.approx(1795329452.897935)


def test_dial_end_from_originate_has_no_channel() -> None:
    dial_ends = [e for e in typed("02-call-answered-via-redirect.events.ami")
                 if isinstance(e, ev.DialEnd)]
    assert dial_ends[0].channel == ""
    assert dial_ends[1].channel == "Local/15@incoming-00000000;2"
    assert dial_ends[1].dest_channel == "Local/1001@agents-00000001;1"
    assert dial_ends[1].dial_status == "ANSWER"


def test_hangup_cause_and_full_booted_without_timestamp() -> None:
    events = typed("02-call-answered-via-redirect.events.ami")
    assert isinstance(events[0], ev.FullyBooted)
    assert events[0].timestamp is None
    hangups = [e for e in events if isinstance(e, ev.Hangup)]
    assert [h.cause for h in hangups] == [0, 16, 16, 16]


def test_status_list_item_with_variables() -> None:
    frames = FrameReader().feed(transcript("08-status-and-coreshowchannels-lists.responses.ami"))
    entries = [e for e in (ev.decode_frame(f) for f in frames) if isinstance(e, ev.StatusEntry)]
    with_vars = [e for e in entries if e.variables]
    assert with_vars[0].variables == {"FILIERE": "PDSA", "CALLER_PATIENCE": "600"}
    assert with_vars[0].action_id == "s08-014"
    assert all(e.channel for e in entries)


def test_unused_and_unknown_events_are_skipped() -> None:
    assert ev.decode_frame(b"Event: VarSet\r\nChannel: X\r\nVariable: A\r\nValue: 1") is None
    assert ev.decode_frame(b"Event: SomethingAsterisk42Adds\r\nFoo: bar") is None
    assert ev.decode_frame(b"Response: Success\r\nActionID: 1") is None


def test_wanted_event_missing_a_required_header_is_a_typed_error() -> None:
    with pytest.raises(ev.UndecodableEvent, match="Hangup"):
        ev.decode_frame(b"Event: Hangup\r\nCause: 16")


def test_a_channel_header_with_a_line_break_is_named_in_the_error() -> None:
    """Whichever header naming a channel holds CR, LF or NUL, the event is refused
    and the error says which; clean ones decode."""
    clean = {"Event": "DialBegin", "Channel": "Local/15@incoming-1;2",
             "DestChannel": "PJSIP/arm01-1", "Timestamp": "12.5"}
    assert isinstance(ev.decode_message(AmiMessage(clean)), ev.DialBegin)
    for bad in ("PJSIP/arm01\r\nAction: Hangup", "PJSIP/arm01\n", "PJSIP/arm01\0"):
        with pytest.raises(ev.UndecodableEvent, match="DialBegin: DestChannel holds"):
            ev.decode_message(AmiMessage(clean, DestChannel=bad))


def test_every_event_name_in_the_table_decodes_from_a_minimal_frame() -> None:
    for name, event_type in ev.EVENT_TYPES.items():
        message = parse_frame(f"Event: {name}\r\nChannel: PJSIP/a-1\r\nDevice: PJSIP/a\r\n"
                              f"UserEvent: X\r\nTimestamp: 12.5".encode())
        event = ev.decode_message(message)
        assert isinstance(event, event_type), name
        assert event.timestamp == 12.5
