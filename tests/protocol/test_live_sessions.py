"""The router's own AMI sessions with a real Asterisk 22.10.1, replayed: what Asterisk
sent the router at each resync (``router-sessions/conn-N.s2c.ami``) goes through a
fake AMI peer over real TCP, and what the router sends back is checked. In the live
run the router Redirected the ``;1`` halves of Local callers (``ACD_NUMBER=(null)``)
and callers in the fail-open queue to agents; it must send nothing to them now."""

from __future__ import annotations

import asyncio
import json

import msgspec
import pytest

from acd.ami import events as ev
from acd.ami.frames import AmiMessage, FrameReader, parse_frame
from acd.ami.userevents import UserEventDecoder
from acd.config import Config, HttpConfig
from acd.config.load import load_config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.engine import Engine
from acd.core.evidence import Place, is_acd_caller, place_of
from acd.core.records import CallRecord
from acd.core.state import EngineState, capture
from acd.testing import build_stack
from acd.tools.replay import replay_files
from tests.support.amipeer import AmiPeer
from tests.support.paths import LIVE

SECRET = "s3cret-for-tests"
SESSIONS = LIVE / "router-sessions"


def lab_config(port: int = 5038) -> Config:
    """The lab router's config, without Redis, on the peer's port."""
    config = load_config(LIVE / "lab" / "acd-lab.toml")
    return msgspec.structs.replace(
        config, ami=msgspec.structs.replace(config.ami, port=port, reconnect_initial_s=0.05),
        http=HttpConfig(port=0), redis=None,
        api=msgspec.structs.replace(config.api, tokens_file=None))


def frames_of(conn: str) -> list[bytes]:
    data = (SESSIONS / f"{conn}.s2c.ami").read_bytes()
    return FrameReader().feed(data.split(b"\r\n", 1)[1])


class Resync:
    """The first Status list of a session and the events Asterisk sent after it."""

    def __init__(self, conn: str) -> None:
        frames = frames_of(conn)
        messages = [parse_frame(f) for f in frames]
        first = next(n for n, m in enumerate(messages) if m.get("Event") == "Status")
        action_id = messages[first]["ActionID"]
        end = next(n for n, m in enumerate(messages) if m.get("Event") == "StatusComplete"
                   and m.get("ActionID") == action_id)
        self.items: list[AmiMessage] = [m for m in messages[first:end]
                                        if m.get("Event") == "Status"]
        self.entries = [e for e in (ev.decode_frame(f) for f in frames[first:end])
                        if isinstance(e, ev.StatusEntry)]
        after = [(f, m) for f, m in zip(frames[end + 1:], messages[end + 1:], strict=True)
                 if "Event" in m and "ActionID" not in m]
        self.stream = b"".join(f + b"\r\n\r\n" for f, _ in after)
        stamps = [m["Timestamp"] for _, m in after if m.get("Timestamp")]
        self.last = float(stamps[-1]) if stamps else 0.0
        self.taken_at = float(next(m["Timestamp"] for m in messages[:first]
                                   if m.get("Timestamp")))

    def peer_items(self) -> list[dict[str, str]]:
        out = []
        for item in self.items:
            headers = {k: v for k, v in item.items()
                       if k not in ("Event", "Privilege", "ActionID", "Variable")}
            headers["Variables"] = "|".join(item.get_all("Variable"))
            out.append(headers)
        return out

    def untouchable(self, config: Config) -> set[str]:
        """Channels no action may name: not ACD callers, or in the native queue or a
        bridge (followed, never moved)."""
        names = config.dialplan
        return {e.channel for e in self.entries if not is_acd_caller(e, names)
                or place_of(e, names) is not Place.HOLDING}

    def waiting(self, config: Config) -> set[str]:
        names = config.dialplan
        return {e.channel for e in self.entries if is_acd_caller(e, names)
                and place_of(e, names) is Place.HOLDING}


@pytest.mark.parametrize("conn", ["conn-2", "conn-3", "conn-4", "conn-10", "conn-12"])
async def test_resync_of_a_live_session_moves_only_callers_in_holding(conn: str) -> None:
    """07 (conn-2), 08/14 (conn-3, conn-4), 07b (conn-10), 06e/06f/18 (conn-12)."""
    resync = Resync(conn)
    peer = await AmiPeer(secret=SECRET, status_channels=resync.peer_items(),
                         stream=resync.stream, stream_after_status=True).start()
    config = lab_config(peer.port)
    stack = build_stack(config, ami=config.ami, secret=SECRET, records=False)
    router = stack.router
    task = asyncio.create_task(stack.ami.run())
    try:
        async with asyncio.timeout(10):
            await peer.streamed.wait()
            while router.pbx_time.latest != resync.last:  # every event handled
                await asyncio.sleep(0.02)
    finally:
        await stack.ami.stop()
        await task
        await peer.close()
    sent = {a["Channel"] for a in peer.all_actions()
            if a["Action"] in ("Redirect", "Setvar", "Hangup") and "Channel" in a}
    assert not sent & resync.untouchable(config)
    assert not any(channel.endswith(";1") for channel in sent)
    if resync.waiting(config):
        assert sent & resync.waiting(config)  # the callers in holding are served


def state_before_the_kill() -> EngineState:
    """Recording 07: what the router knew when it was killed, four callers waiting
    (the router's agents were paused: Asterisk's fail-open queue answered them)."""
    engine = Engine(lab_config(), decide=False)
    decoder = UserEventDecoder(engine.config.dialplan)
    data = (LIVE / "07-failopen-router-kill.events.ami").read_bytes()
    for frame in FrameReader().feed(data.split(b"\r\n", 1)[1]):
        if b"Event: QueueCallerJoin" in frame:
            break  # the router is dead: the dialplan fails open
        event = decoder.decode_frame(frame)
        if event is not None and not isinstance(event, (ev.StatusEntry, ev.ListComplete)):
            engine.handle(event, event.timestamp or engine.now)
    state = msgspec.json.decode(msgspec.json.encode(capture(engine.state)), type=EngineState)
    assert sum(len(ids) for ids in state.queues.values()) >= 4
    return state


def test_restored_callers_of_recording_07_are_not_pulled_out_of_the_native_queue() -> None:
    """conn-2: the restart with Redis. Restored as waiting, Asterisk shows every one in
    the fail-open Queue(), talking with an agent: followed, never Redirected."""
    resync = Resync("conn-2")
    engine = Engine(lab_config())
    engine.handle(i.StateRestored(state_before_the_kill()), resync.taken_at)
    out = engine.handle(i.ChannelsSnapshot(resync.entries, taken_at=resync.taken_at),
                        resync.taken_at)
    assert out.commands == []
    talking = [c for c in engine.calls.values() if c.answered_unobserved]
    assert len(talking) == 5 and all(c.answered_at is None for c in talking)
    assert all(c.channel.endswith(";2") for c in engine.calls.values())


def router_records(name: str) -> dict[str, dict[str, object]]:
    """The live router's records of a recording, by uniqueid."""
    path = next(LIVE.glob(f"{name}.router-records.json*"))
    text = path.read_text(encoding="utf-8")
    rows = json.loads(text) if path.suffix == ".json" else [
        json.loads(line) for line in text.splitlines() if line.strip()]
    return {str(r["uniqueid"]): r for r in rows}


def session_records(conn: str, state: EngineState | None = None) -> list[CallRecord]:
    """The records the engine writes now, given what Asterisk sent the live router in
    ``conn`` (its resync, then every event), after ``state`` restored from Redis."""
    resync = Resync(conn)
    engine = Engine(lab_config())
    records: list[CallRecord] = []

    def feed(item: object, now: float) -> None:
        out = engine.handle(item, now)
        records.extend(x.record for x in out.facts if isinstance(x, f.CallEnded))

    if state is not None:
        feed(i.StateRestored(state), resync.taken_at)
    feed(i.ChannelsSnapshot(resync.entries, taken_at=resync.taken_at), resync.taken_at)
    decoder = UserEventDecoder(engine.config.dialplan)
    for frame in FrameReader().feed(resync.stream):
        event = decoder.decode_frame(frame)
        if event is not None:
            feed(event, event.timestamp or engine.now)
    return records


@pytest.mark.parametrize(("recording", "conn"), [
    ("07-failopen-router-kill", "conn-2"), ("07b-failopen-router-kill-no-redis", "conn-10"),
    ("08-redis-restart-kill9", "conn-3"), ("14-repro-unknown-channel-adopted", "conn-4")])
def test_live_sessions_give_the_router_records_without_the_phantoms(recording: str,
                                                                    conn: str) -> None:
    """One record per real caller: the live router's records of the recording, less
    its phantom ``(null)`` records, and no wait invented from a resync's time."""
    state = state_before_the_kill() if conn == "conn-2" else None
    mine = {r.uniqueid: r for r in session_records(conn, state)}
    assert all(r.number != "(null)" and r.channel.endswith(";2") for r in mine.values())
    live = router_records(recording)
    real = {uid: r for uid, r in live.items() if r["number"] != "(null)"}
    assert len(real) < len(live)  # the live router did write phantoms
    for uid, record in real.items():
        if uid not in mine:
            assert record["ended_at"] is None or conn == "conn-4"  # ended in a later session
            continue
        assert mine[uid].outcome == record["outcome"]
        assert mine[uid].agent == record["agent"]
        if mine[uid].wait_s is not None:
            # a caller found at a resync (no Redis state here) arrives at ACD_ARRIVED,
            # ${EPOCH} in whole seconds set before Answer()'s half second: up to 1.5 s
            # before the AcdCallWaiting the live router counted from
            assert mine[uid].wait_s == pytest.approx(record["wait_s"], abs=1.5)


def test_calls_found_talking_at_a_resync_get_no_invented_wait() -> None:
    """07b: the live router gave the callers answered by the fail-open queue a wait
    measured to its resync (about 27.5 s; they waited 16–19 s). Asterisk's Status
    tells no answer time: answered, wait unknown."""
    live = router_records("07b-failopen-router-kill-no-redis")
    mine = {r.uniqueid: r for r in session_records("conn-10")}
    found = [uid for uid, r in live.items()
             if r["number"] == "15" and r["wait_s"] is not None
             and float(str(r["wait_s"])) > 26.0 and uid in mine]
    assert len(found) >= 4
    assert all(mine[uid].outcome == "answered" and mine[uid].wait_s is None
               and mine[uid].answered_at is None for uid in found)


@pytest.mark.parametrize("recording", [
    "07-failopen-router-kill", "07b-failopen-router-kill-no-redis", "08-redis-restart-kill9",
    "09-asterisk-core-restart", "14-repro-unknown-channel-adopted",
    "18-repro-non-acd-channel-hijacked"])
def test_replayed_recordings_give_the_router_records_less_the_phantoms(recording: str) -> None:
    """``acd replay`` of what Asterisk did gives one record per real caller: the live
    router's records without its ``(null)`` ones (the ``;1`` halves, recording 18's
    IVR), with the same outcome and agent, and the real wait where the live router
    measured one to its resync (07, 07b: about 27.5 s for waits of 16–19 s)."""
    live = router_records(recording)
    replayed = {r.uniqueid: r for r in replay_files(
        [LIVE / f"{recording}.events.ami"], lab_config())}
    assert set(replayed) == {uid for uid, r in live.items() if r["number"] != "(null)"}
    for uid, record in replayed.items():
        # 09: the callers ``core restart now`` hung up are lost, not abandoned (the live
        # router wrote abandoned, or answered for those talking): test_pbx_loss.py
        outcome = "lost" if record.lost_reason == "pbx-restart" else live[uid]["outcome"]
        assert record.lost_reason is None or recording == "09-asterisk-core-restart"
        assert (record.outcome, record.agent) == (outcome, live[uid]["agent"])
        if record.wait_s is not None:
            assert record.wait_s <= float(str(live[uid]["wait_s"])) + 0.01
