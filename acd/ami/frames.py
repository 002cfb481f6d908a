"""Sans-IO AMI framing: bytes in, header blocks out (and back).

Theory of operation
-------------------
Asterisk's manager protocol is a stream of messages. Each message is a block of
``Key: Value`` lines ended by CRLF, and a blank line (``\\r\\n\\r\\n``) ends the
block. The very first thing the server sends is a single banner line
(``Asterisk Call Manager/11.0.0``) with no blank line after it.

:class:`FrameReader` knows nothing of sockets: feed it whatever bytes arrived and it
returns the complete frames, keeping the incomplete tail for the next call. So the
result is the same whether a stream is fed whole, line by line, one byte at a time,
or split anywhere. A frame that grows past ``max_frame_bytes`` without ending (binary
garbage, a runaway header) is dropped up to the next blank line and counted, so
one bad frame never stalls the stream or eats memory. The banner is bounded too: a
banner line longer than ``MAX_BANNER_BYTES`` is dropped the same way (counted in
:attr:`FrameReader.banner_overflows`), so a peer that never ends its first line costs
three bytes of memory and linear time, not a growing buffer scanned again at each read.

:func:`parse_frame` turns one frame into an :class:`AmiMessage`: a ``dict`` of the
headers, decoded as UTF-8 (invalid bytes become U+FFFD, never an exception).
Real traffic repeats keys (a UserEvent carries two ``Uniqueid:``; ``Status`` with
``Variables:`` repeats ``Variable:``): the mapping keeps the first value of each key,
and :attr:`AmiMessage.multi` keeps every value of the repeated ones, in order.

The event path does not even parse what it does not need: :func:`frame_event_name`
reads the event name from the first line so a caller can skip ``VarSet`` and
``Newexten`` (more than half the traffic) without building a mapping.
"""

from __future__ import annotations

from collections.abc import Iterable

TERMINATOR = b"\r\n\r\n"
EOL = b"\r\n"
BANNER_PREFIX = b"Asterisk Call Manager/"
EVENT_PREFIX = b"Event: "
RESPONSE_PREFIX = b"Response: "

#: Frames larger than this are dropped (Asterisk's own limit for one header line is
#: far smaller; a Status list item with variables is a few kB).
DEFAULT_MAX_FRAME_BYTES = 256 * 1024
#: Asterisk's banner is one short line ("Asterisk Call Manager/11.0.0")
MAX_BANNER_BYTES = 256


class AmiMessage(dict[str, str]):
    """The headers of one AMI message; first value wins for repeated keys.

    No ``__init__`` of its own: a message is built by ``dict``'s, in C (one per event
    on the hot path), and :attr:`multi` reads the class's ``None`` until set."""

    #: every value of each key that appeared more than once, in order
    multi: dict[str, list[str]] | None = None

    def get_all(self, key: str) -> list[str]:
        """Every value of ``key`` in wire order (empty list when absent)."""
        if self.multi is not None and key in self.multi:
            return list(self.multi[key])
        value = self.get(key)
        return [] if value is None else [value]


class FrameReader:
    """Incremental splitter of an AMI byte stream into frames (sans-IO)."""

    __slots__ = ("_buffer", "_discarding", "_expect_banner", "banner", "banner_overflows",
                 "dropped_frames", "max_frame_bytes")

    def __init__(self, *, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
                 expect_banner: bool = True) -> None:
        self._buffer = b""
        self._expect_banner = expect_banner
        self._discarding = False
        self.max_frame_bytes = max_frame_bytes
        #: the server's banner line (``Asterisk Call Manager/11.0.0``) once seen
        self.banner: str | None = None
        #: frames dropped because they were too large (garbage, runaway header)
        self.dropped_frames = 0
        #: banner lines dropped because they were too long (counted in dropped_frames)
        self.banner_overflows = 0

    @property
    def pending_bytes(self) -> int:
        """Bytes held back waiting for the end of a frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the frames they complete (without terminator)."""
        buffer = self._buffer + data if self._buffer else data
        if self._expect_banner:
            buffer = self._take_banner(buffer)
            if self._expect_banner:
                self._buffer = buffer
                return []
        if self._discarding:
            end = buffer.find(TERMINATOR)
            if end < 0:
                # keep the last 3 bytes: a terminator may straddle two reads
                self._buffer = buffer[-3:]
                return []
            buffer = buffer[end + 4:]
            self._discarding = False
        parts = buffer.split(TERMINATOR)
        tail = parts.pop()
        if len(tail) > self.max_frame_bytes:
            self.dropped_frames += 1
            self._discarding = True
            tail = tail[-3:]
        self._buffer = tail
        if not parts:
            return parts
        if b"" in parts:
            parts = [p for p in parts if p]
        if len(buffer) > self.max_frame_bytes:
            parts = self._drop_oversized(parts)
        return parts

    def _drop_oversized(self, frames: list[bytes]) -> list[bytes]:
        kept = []
        for frame in frames:
            if len(frame) > self.max_frame_bytes:
                self.dropped_frames += 1
            else:
                kept.append(frame)
        return kept

    def _take_banner(self, buffer: bytes) -> bytes:
        if buffer.startswith(BANNER_PREFIX):
            end = buffer.find(EOL, 0, MAX_BANNER_BYTES + 2)
            if end < 0:
                if len(buffer) <= MAX_BANNER_BYTES:
                    return buffer
                # not a banner Asterisk would send: drop it up to the next blank line
                self.banner_overflows += 1
                self.dropped_frames += 1
                self._expect_banner = False
                self._discarding = True
                return buffer
            self.banner = buffer[:end].decode("utf-8", "replace")
            self._expect_banner = False
            return buffer[end + 2:]
        if len(buffer) < len(BANNER_PREFIX) and BANNER_PREFIX.startswith(buffer):
            return buffer  # could still be the banner: wait for more bytes
        self._expect_banner = False  # no banner (e.g. a transcript of responses only)
        return buffer


def frame_event_name(frame: bytes) -> bytes | None:
    """The event name of a frame whose first line is ``Event: X``, else ``None``."""
    if not frame.startswith(EVENT_PREFIX):
        return None
    end = frame.find(EOL)
    return frame[7:] if end < 0 else frame[7:end]


def parse_frame(frame: bytes) -> AmiMessage:
    """Decode one frame into its headers (UTF-8, repeated keys kept in ``multi``).

    Lines without ``:`` are skipped: they are never valid AMI and must not hide the
    rest of the message.
    """
    lines = frame.decode("utf-8", "replace").split("\r\n")
    try:
        message = AmiMessage([line.split(": ", 1) for line in lines])
    except ValueError:
        return _parse_lenient(lines)
    if len(message) != len(lines):
        return _parse_lenient(lines)
    return message


def _parse_lenient(lines: list[str]) -> AmiMessage:
    """Slow path: repeated keys, ``Key:value`` without a space, junk lines."""
    message = AmiMessage()
    multi: dict[str, list[str]] = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if not sep or not key:
            continue
        if value.startswith(" "):
            value = value[1:]
        if key in message:
            multi.setdefault(key, [message[key]]).append(value)
        else:
            message[key] = value
    if multi:
        message.multi = multi
    return message


def serialize(headers: Iterable[tuple[str, str]]) -> bytes:
    """One AMI message on the wire: ``Key: Value`` lines, CRLF, blank line.

    Values with CR or LF would split the message: they are refused, since a
    header injection on the manager socket could run any action; so is NUL, which
    Asterisk would read as the end of the value.
    """
    out = []
    for key, value in headers:
        if not sendable(value) or not sendable(key):
            raise UnsendableValue(f"AMI header {key!r} contains a line break or NUL")
        out.append(f"{key}: {value}\r\n")
    out.append("\r\n")
    return "".join(out).encode("utf-8")


class UnsendableValue(ValueError):
    """A header key or value that must not go on the manager socket (CR, LF, NUL)."""


def sendable(value: str) -> bool:
    """Whether ``value`` may be written as an AMI header value (no CR, LF or NUL)."""
    return "\r" not in value and "\n" not in value and "\0" not in value
