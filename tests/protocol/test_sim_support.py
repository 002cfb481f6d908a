"""The helpers of the simulator tests, checked on the recorded transcripts."""

from __future__ import annotations

from tests.support.amiclient import NOISE, event_shapes, headers_by_key, recorded_frames


def test_event_shapes_of_recording_02_start_at_the_first_channel() -> None:
    shapes = event_shapes(recorded_frames("02-call-answered-via-redirect.events.ami"))
    assert shapes[0][0] == "Newchannel"
    keys = [key for key, _ in shapes]
    assert "UserEvent/AcdCallWaiting" in keys
    assert "DialBegin/nochan" in keys and "DialBegin/chan" in keys
    assert not set(keys) & NOISE


def test_headers_by_key_unions_the_header_names() -> None:
    shapes = [("Hangup", frozenset({"Event", "Cause"})),
              ("Hangup", frozenset({"Event", "Cause-txt"}))]
    assert headers_by_key(shapes) == {"Hangup": frozenset({"Event", "Cause", "Cause-txt"})}
