"""The sans-IO framer: same frames however the bytes are split; bad input survives."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd.ami.frames import FrameReader, parse_frame, serialize
from tests.support.paths import all_event_transcripts, transcript

STREAM = transcript("02-call-answered-via-redirect.events.ami")


def frames_of(chunks: list[bytes]) -> list[bytes]:
    reader = FrameReader()
    out: list[bytes] = []
    for chunk in chunks:
        out.extend(reader.feed(chunk))
    return out


def test_banner_is_read_and_not_a_frame() -> None:
    reader = FrameReader()
    frames = reader.feed(STREAM)
    assert reader.banner == "Asterisk Call Manager/11.0.0"
    assert frames[0].startswith(b"Response: Success")
    assert all(not f.startswith(b"Asterisk Call Manager") for f in frames)


@pytest.mark.parametrize("path", all_event_transcripts(), ids=lambda p: p.name[:2])
def test_whole_line_by_line_and_byte_by_byte_agree(path) -> None:  # type: ignore[no-untyped-def]
    data = path.read_bytes()
    whole = frames_of([data])
    lines = frames_of(data.splitlines(keepends=True))
    assert lines == whole
    if len(data) < 200_000:
        assert frames_of([data[i:i + 1] for i in range(len(data))]) == whole
    expected_events = data.count(b"\r\n\r\n")
    assert len(whole) == expected_events


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(STREAM) - 1), max_size=40))
def test_random_split_points_give_the_same_frames(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    pieces = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)], strict=True)]
    assert frames_of(pieces) == frames_of([STREAM])


def test_banner_split_across_reads() -> None:
    reader = FrameReader()
    assert reader.feed(b"Asterisk Call") == []
    assert reader.feed(b" Manager/11.0.0\r\nResponse: Success\r\n") == []
    assert reader.feed(b"\r\n") == [b"Response: Success"]
    assert reader.banner == "Asterisk Call Manager/11.0.0"


def test_repeated_keys_keep_first_and_all_values() -> None:
    frames = frames_of([transcript("02-call-answered-via-redirect.events.ami")])
    user_event = next(parse_frame(f) for f in frames if b"UserEvent: AcdCallWaiting" in f)
    assert user_event["Uniqueid"] == "1795329358.1"
    assert user_event.get_all("Uniqueid") == ["1795329358.1", "1795329358.1"]
    status = parse_frame(b"Event: Status\r\nChannel: X\r\nVariable: A=1\r\nVariable: B=2")
    assert status.get_all("Variable") == ["A=1", "B=2"]
    assert status["Variable"] == "A=1"


def test_originate_response_is_an_event_with_a_response_header() -> None:
    frames = frames_of([transcript("02-call-answered-via-redirect.events.ami")])
    message = next(parse_frame(f) for f in frames if f.startswith(b"Event: OriginateResponse"))
    assert message["Event"] == "OriginateResponse"
    assert message["Response"] == "Success"


def test_non_ascii_is_utf8_and_survives_a_split_inside_a_character() -> None:
    data = transcript("07-non-ascii-callerid.events.ami")
    index = data.index("Hélène".encode()) + 2  # inside the two bytes of "é"
    frames = frames_of([data[:index], data[index:]])
    names = {parse_frame(f).get("CallerIDName") for f in frames}
    assert "Hélène Dupré" in names
    assert "Zoë Çelik-Öztürk" in names


def test_invalid_utf8_is_replaced_not_raised() -> None:
    message = parse_frame(b"Event: UserEvent\r\nCallerIDName: Jos\xe9 \xff\r\nChannel: X")
    assert message["CallerIDName"] == "Jos\ufffd \ufffd"
    assert message["Channel"] == "X"


def test_line_without_colon_is_skipped_and_the_rest_kept() -> None:
    message = parse_frame(b"Event: Hangup\r\nthis line has no colon\r\nChannel: PJSIP/a-1")
    assert message == {"Event": "Hangup", "Channel": "PJSIP/a-1"}


def test_key_without_space_after_colon() -> None:
    assert parse_frame(b"Event: Hangup\r\nChannel:PJSIP/a-1")["Channel"] == "PJSIP/a-1"


def test_one_megabyte_header_is_dropped_and_the_stream_goes_on() -> None:
    reader = FrameReader()
    huge = b"Event: UserEvent\r\nJunk: " + b"x" * (1024 * 1024)
    out = []
    for start in range(0, len(huge), 4096):
        out.extend(reader.feed(huge[start:start + 4096]))
    out.extend(reader.feed(b"\r\n\r\nEvent: Hangup\r\nChannel: PJSIP/a-1\r\n\r\n"))
    assert out == [b"Event: Hangup\r\nChannel: PJSIP/a-1"]
    assert reader.dropped_frames == 1
    assert reader.pending_bytes < 16


def test_binary_garbage_does_not_stop_the_stream() -> None:
    rng = random.Random(7)
    garbage = bytes(rng.randrange(256) for _ in range(5000)).replace(b"\r\n\r\n", b"")
    reader = FrameReader()
    frames = reader.feed(garbage + b"\r\n\r\nEvent: Hangup\r\nChannel: PJSIP/a-1\r\n\r\n")
    assert frames[-1] == b"Event: Hangup\r\nChannel: PJSIP/a-1"
    parse_frame(frames[0])  # whatever it holds, parsing it does not raise


def test_serialize_round_trip_and_refuses_header_injection() -> None:
    wire = serialize([("Action", "Redirect"), ("Channel", "Local/15@incoming-1;2")])
    assert wire == b"Action: Redirect\r\nChannel: Local/15@incoming-1;2\r\n\r\n"
    reader = FrameReader(expect_banner=False)
    assert parse_frame(reader.feed(wire)[0])["Channel"] == "Local/15@incoming-1;2"
    with pytest.raises(ValueError, match="line break"):
        serialize([("Channel", "x\r\nAction: Originate")])
