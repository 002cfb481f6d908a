"""Callers Asterisk itself cut are ``lost``, not ``abandoned``: decided from what
Asterisk sent the live router. Recording 09 (``core restart now``: the router's own
sessions ``conn-4`` then ``conn-6``), the same session cut as a ``kill -9`` of
Asterisk would cut it, and live t3-23 (the router SIGKILLed, the same Asterisk at the
next login: nobody lost)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec

from acd.ami import events as ev
from acd.ami.frames import AmiMessage, FrameReader, parse_frame
from acd.ami.userevents import UserEventDecoder
from acd.config import Config, HttpConfig
from acd.config.load import load_config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.engine import Engine
from acd.core.records import CallRecord
from acd.testing import build_stack
from tests.support.paths import LIVE

RESTART_BEFORE = LIVE / "router-sessions" / "conn-4.s2c.ami"
RESTART_AFTER = LIVE / "router-sessions" / "conn-6.s2c.ami"
KILL_BEFORE = LIVE / "t3" / "t3-23-sip-endpoints.router-session.conn-1.s2c.ami"
KILL_AFTER = LIVE / "t3" / "t3-23-sip-endpoints.router-session.conn-2.s2c.ami"


def lab_config() -> Config:
    config = load_config(LIVE / "lab" / "acd-lab.toml")
    return msgspec.structs.replace(
        config, http=HttpConfig(port=0), redis=None,
        api=msgspec.structs.replace(config.api, tokens_file=None))


def live_records(name: str) -> dict[str, dict[str, object]]:
    path = next(LIVE.glob(f"{name}.router-records.json*"))
    return {str(r["uniqueid"]): r for r in (
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip())}


@dataclass
class Session:
    """What Asterisk sent the router on one AMI connection, as the router takes it:
    FullyBooted, the resync's list (asked for at its Ping's timestamp), then events."""

    booted: ev.FullyBooted
    entries: list[ev.StatusEntry]
    taken_at: float
    events: list[tuple[ev.AmiEvent, AmiMessage]]

    @classmethod
    def read(cls, path: Path) -> Session:
        frames = FrameReader().feed(path.read_bytes().split(b"\r\n", 1)[1])
        messages = [parse_frame(frame) for frame in frames]
        decoder = UserEventDecoder(lab_config().dialplan)
        decoded = [decoder.decode_frame(frame) for frame in frames]
        booted = next(e for e in decoded if isinstance(e, ev.FullyBooted))
        first = next(n for n, m in enumerate(messages) if m.get("Response") == "Success"
                     and m.get("Timestamp"))  # the resync's Ping
        end = next(n for n, m in enumerate(messages) if m.get("Event") == "StatusComplete")
        entries = [e for e in decoded[first:end] if isinstance(e, ev.StatusEntry)]
        events = [(e, m) for e, m in zip(decoded[end + 1:], messages[end + 1:], strict=True)
                  if e is not None and "ActionID" not in m]
        return cls(booted, entries, float(messages[first]["Timestamp"]), events)


def play(feed: Callable[[object, float], None], session: Session, *,
         until: Callable[[AmiMessage], bool] | None = None) -> float:
    """Feed one session; stop before the first event ``until`` matches (the link
    dropped there). The engine time reached."""
    now = session.taken_at
    feed(session.booted, now)
    feed(i.ChannelsSnapshot(session.entries, taken_at=now), now)
    for event, message in session.events:
        if until is not None and until(message):
            break
        now = event.timestamp or now
        feed(event, now)
    return now


def shutdown_flag(message: AmiMessage) -> bool:
    return message.get("Event") == "SoftHangupRequest" and message.get("Cause") == "4"


def records_of(*steps: tuple[Session, Callable[[AmiMessage], bool] | None]
               ) -> dict[str, CallRecord]:
    """The records the engine writes when fed these sessions in turn, the link lost
    between them."""
    engine = Engine(lab_config())
    records: dict[str, CallRecord] = {}

    def feed(item: object, now: float) -> None:
        for fact in engine.handle(item, now).facts:
            if isinstance(fact, f.CallEnded):
                records[fact.record.uniqueid] = fact.record

    for session, until in steps:
        now = play(feed, session, until=until)
        feed(i.LinkDown("connection lost"), now)
    return records


def test_callers_core_restart_hung_up_are_lost_not_abandoned() -> None:
    """The live router recorded the two callers waiting at ``core restart now`` as
    abandoned. Every caller then got Asterisk's shutdown flag before its Hangup: all
    five are lost (pbx-restart); those talking keep their agent and wait."""
    live = live_records("09-asterisk-core-restart")
    records = records_of((Session.read(RESTART_BEFORE), None),
                         (Session.read(RESTART_AFTER), None))
    cut = {uid: r for uid, r in records.items() if str(r.caller_name).startswith("Restart")}
    assert len(cut) == 5
    assert sorted(str(live[uid]["outcome"]) for uid in cut) == ["abandoned"] * 2 + \
        ["answered"] * 3
    assert {(r.outcome, r.lost_reason) for r in cut.values()} == {("lost", "pbx-restart")}
    for uid, record in cut.items():
        assert (record.agent, record.wait_s) == (live[uid]["agent"], live[uid]["wait_s"])
        assert not record.ended_unobserved  # their Hangups were seen
    after = [r for r in records.values() if r.caller_name.startswith("After restart")]
    assert [r.outcome for r in after] == ["answered", "answered"]
    assert all(r.lost_reason is None for r in after)


def test_asterisk_killed_is_told_by_its_new_start_time() -> None:
    """The same session cut where Asterisk began to stop, as a ``kill -9`` would: no
    SoftHangupRequest, no Hangup, no Shutdown. The next login's FullyBooted (Uptime 0)
    dates a new Asterisk: the five calls its resync finds gone are lost (pbx-crash)."""
    records = records_of((Session.read(RESTART_BEFORE), shutdown_flag),
                         (Session.read(RESTART_AFTER), None))
    cut = [r for r in records.values() if r.caller_name.startswith("Restart")]
    assert len(cut) == 5
    assert {(r.outcome, r.lost_reason, r.ended_unobserved) for r in cut} == {
        ("lost", "pbx-crash", True)}
    assert sum(r.agent is not None for r in cut) == 3  # picked up before the crash


def test_a_router_killed_and_back_on_the_same_asterisk_loses_nobody() -> None:
    """Live t3-23: the router SIGKILLed; at the next login Asterisk's uptime (948 s,
    then 973 s 25 s later) dates the same start. The calls the resync finds gone
    ended while nobody watched: answered or abandoned as before, none lost."""
    before, after = Session.read(KILL_BEFORE), Session.read(KILL_AFTER)
    assert abs((before.taken_at - before.booted.uptime)
               - (after.taken_at - after.booted.uptime)) < 1.0
    records = records_of((before, None), (after, None))
    unobserved = [r for r in records.values() if r.ended_unobserved]
    assert unobserved  # the path is taken: calls found gone at the resync
    assert all(r.outcome != "lost" and r.lost_reason is None for r in records.values())


async def test_lost_calls_have_their_own_counter_and_are_not_abandons() -> None:
    """``acd_calls_lost_total{queue,number,period,reason}``; the abandon counter does
    not move for them."""
    now = [0.0]
    stack = build_stack(lab_config(), clock=lambda: now[0], metrics=True, records=False)
    router, metrics = stack.router, stack.metrics
    assert metrics is not None

    def feed(item: object, at: float) -> None:
        now[0] = at
        router.submit(item)

    for session in (Session.read(RESTART_BEFORE), Session.read(RESTART_AFTER)):
        feed(i.LinkDown("connection lost"), play(feed, session))
    text = metrics.render().decode()
    assert 'acd_calls_lost_total{number="15",period="pdsa",queue="ARM_N1",' \
           'reason="pbx-restart"} 5.0' in text
    abandoned = [line for line in text.splitlines()
                 if line.startswith("acd_calls_abandoned_total{")]
    assert abandoned and all(line.endswith(" 0.0") for line in abandoned)
