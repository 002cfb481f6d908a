"""``acd replay``: recorded AMI byte streams → framing → typed events → engine → records.

No network. Time comes from the events' ``Timestamp`` headers. The engine runs with
``decide=False``: in the recordings a test driver did the routing, so the records show
what the stream shows (a caller bridged with an agent was answered by that agent).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import msgspec

from acd import logs
from acd.ami.events import CoreShowChannel, ListComplete, StatusEntry, UndecodableEvent
from acd.ami.frames import FrameReader
from acd.ami.userevents import UserEventDecoder
from acd.config import Config, SiteConfig
from acd.config.load import load_config
from acd.core.engine import Engine
from acd.core.facts import CallEnded
from acd.core.records import CallRecord
from acd.logs import get_logger

log = get_logger("acd.replay")

#: answers to somebody's list action: not news about calls
_LIST_EVENTS = (CoreShowChannel, StatusEntry, ListComplete)
_READ_CHUNK = 64 * 1024


def default_replay_config() -> Config:
    """Replay needs no site: Paris time, the standard skills, the default names."""
    return Config(site=SiteConfig(name="replay", departement="75"))


def replay_bytes(chunks: Iterable[bytes], engine: Engine) -> Iterator[CallRecord]:
    """Feed a stream to the engine; yield each call's record as the call ends, then
    the records of calls still open at the end of the stream (outcome ``waiting``)."""
    reader = FrameReader()
    decoder = UserEventDecoder(engine.config.dialplan)
    now = 0.0
    for chunk in chunks:
        for frame in reader.feed(chunk):
            try:
                event = decoder.decode_frame(frame)
            except UndecodableEvent as exc:
                log.warning("ami_event_undecodable", error=str(exc))
                continue
            if event is None or isinstance(event, _LIST_EVENTS):
                continue
            if event.timestamp is not None:
                now = event.timestamp
            for fact in engine.handle(event, now).facts:
                if isinstance(fact, CallEnded):
                    yield fact.record
    if reader.pending_bytes:
        log.warning("ami_stream_truncated", pending_bytes=reader.pending_bytes)
    for call in sorted(engine.calls.values(), key=lambda c: c.arrived_at):
        yield engine.record(call)


def read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        while chunk := stream.read(_READ_CHUNK):
            yield chunk


def replay_files(paths: list[Path], config: Config | None = None) -> Iterator[CallRecord]:
    """Each file is its own stream (its own Asterisk session), replayed in order."""
    for path in paths:
        engine = Engine(config or default_replay_config(), decide=False)
        yield from replay_bytes(read_chunks(path), engine)


def replay_command(files: list[str], config_path: str | None) -> int:
    """Print one JSON call record per line on stdout; 1 if a file is missing."""
    logs.configure(sys.stderr)
    config = load_config(config_path) if config_path else None
    missing = [p for p in files if not Path(p).is_file()]
    if missing:
        for p in missing:
            print(f"{p}: no such file", file=sys.stderr)
        return 1
    encode = msgspec.json.Encoder().encode
    out = sys.stdout.buffer
    for record in replay_files([Path(p) for p in files], config):
        out.write(encode(record) + b"\n")
    out.flush()
    return 0
