"""The AMI connection over real TCP, against a peer replaying recorded AMI bytes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from structlog.testing import capture_logs

from acd.ami import events as ev
from acd.ami.client import AmiConnection
from tests.support.amipeer import AmiPeer, ami_config, recorded_events
from tests.support.wait import until

SECRET = "s3cret"


class Sink:
    def __init__(self) -> None:
        self.events: list[ev.AmiEvent] = []
        self.ups: list[list[ev.StatusEntry]] = []
        self.downs: list[str] = []
        self.changed = asyncio.Event()
        self.resync_variables = ("ACD_NUMBER", "ACD_ARRIVED", "ACD_PRIORITY")

    def on_event(self, event: ev.AmiEvent) -> None:
        self.events.append(event)
        self.changed.set()

    def on_link_up(self, channels: list[ev.StatusEntry], taken_at: float) -> None:
        self.ups.append(channels)
        self.changed.set()

    def on_link_down(self, reason: str) -> None:
        self.downs.append(reason)
        self.changed.set()


@pytest.fixture
async def running() -> AsyncIterator[list[tuple[AmiConnection, asyncio.Task[None]]]]:
    started: list[tuple[AmiConnection, asyncio.Task[None]]] = []
    yield started
    for connection, task in started:
        await connection.stop()
        async with asyncio.timeout(2):
            await task


def start(running: list, peer: AmiPeer, sink: Sink, secret: str = SECRET,  # type: ignore[type-arg]
          **overrides: float) -> AmiConnection:
    connection = AmiConnection(ami_config(peer.port, **overrides), secret, sink)
    running.append((connection, asyncio.create_task(connection.run())))
    return connection


async def test_login_resync_and_utf8_events_split_anywhere(running) -> None:  # type: ignore[no-untyped-def]
    peer = await AmiPeer(stream=recorded_events("07-non-ascii-callerid.events.ami"),
                         chunks=7, status_channels=[{
                             "Channel": "Local/15@incoming-1;2", "Uniqueid": "9.1",
                             "Variables": "ACD_NUMBER=15|ACD_ARRIVED=100.5"}]).start()
    sink = Sink()
    start(running, peer, sink)
    await until(lambda: sink.ups and any(
        isinstance(e, ev.UserEvent) and e.name == "AcdCallWaiting" for e in sink.events))
    login = peer.all_actions()[0]
    assert login["Action"] == "Login" and login["Events"] == "on"
    status = next(a for a in peer.all_actions() if a["Action"] == "Status")
    assert status["Variables"] == "ACD_NUMBER,ACD_ARRIVED,ACD_PRIORITY"
    (channel,) = sink.ups[0]
    assert channel.variables == {"ACD_NUMBER": "15", "ACD_ARRIVED": "100.5"}
    waiting = next(e for e in sink.events
                   if isinstance(e, ev.UserEvent) and e.name == "AcdCallWaiting")
    assert waiting.headers["CallerName"] == "Hélène Dupré"
    await peer.close()


async def test_events_before_login_are_dropped_not_routed(running) -> None:  # type: ignore[no-untyped-def]
    early = (b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/x-1\r\n"
             b"Uniqueid: 1.1\r\n\r\nEvent: Hangup\r\nChannel: PJSIP/x-1\r\n\r\n")
    peer = await AmiPeer(early=early).start()
    sink = Sink()
    start(running, peer, sink)
    await until(lambda: len(sink.ups) == 1)
    # Asterisk sends no event before the Login is answered: these are not routed
    assert not [e for e in sink.events if isinstance(e, ev.Newchannel | ev.Hangup)]
    assert running[0][0].drops.counts["before_login"] == 2
    await peer.close()


async def test_wrong_secret_is_retried_with_backoff_and_never_logged(running) -> None:  # type: ignore[no-untyped-def]
    peer = await AmiPeer(fail_login_delay=0.01).start()
    sink = Sink()
    with capture_logs() as logs:
        start(running, peer, sink, secret="wrong-secret-value")
        async with asyncio.timeout(5):
            while peer.failed_logins < 3:
                await asyncio.sleep(0.02)
    failures = [e for e in logs if e["event"] == "ami_session_failed"]
    assert failures and "login refused for user 'acd'" in failures[0]["error"]
    delays = [e["in_s"] for e in logs if e["event"] == "ami_reconnecting"]
    assert len(delays) >= 2 and all(0 < d <= 0.2 + 0.5 for d in delays)
    assert "wrong-secret-value" not in repr(logs)
    assert sink.ups == []
    await peer.close()


async def test_disconnect_mid_frame_reconnects_and_resyncs(running) -> None:  # type: ignore[no-untyped-def]
    stream = recorded_events("02-call-answered-via-redirect.events.ami")
    cut = stream.index(b"UserEvent: AcdCallWaiting") + 10  # inside the announcement
    peer = await AmiPeer(stream=stream, cut_after=cut).start()
    sink = Sink()
    connection = start(running, peer, sink)
    await until(lambda: len(sink.ups) >= 1 and sink.downs and any(
        isinstance(e, ev.Hangup) for e in sink.events))
    # the cut frame was never delivered half-parsed; the replayed stream after reconnect was
    announced = [e for e in sink.events if isinstance(e, ev.UserEvent)
                 and e.name == "AcdCallWaiting"]
    assert len(announced) == 1 and announced[0].headers["Number"] == "15"
    assert peer.logins >= 2 and connection.reconnects >= 1
    # the new session resynchronised before anything else
    assert [a["Action"] for a in peer.sessions[-1].actions][:3] == ["Login", "Ping", "Status"]
    await peer.close()


async def test_keepalive_detects_a_silent_peer(running) -> None:  # type: ignore[no-untyped-def]
    peer = await AmiPeer().start()
    peer.answer_pings = False
    sink = Sink()
    with capture_logs() as logs:
        start(running, peer, sink, keepalive_s=0.1, keepalive_timeout_s=0.1)
        await until(lambda: peer.logins >= 2)
    assert any(e["event"] == "ami_keepalive_timeout" for e in logs)
    assert sink.downs
    await peer.close()


async def test_refused_action_is_a_typed_failure(running) -> None:  # type: ignore[no-untyped-def]
    from acd.ami import actions as act
    from acd.errors import AmiActionFailed

    peer = await AmiPeer().start()
    peer.refuse.add("Redirect")
    sink = Sink()
    connection = start(running, peer, sink)
    await until(lambda: bool(sink.ups))
    with pytest.raises(AmiActionFailed, match="Refused by test"):
        await connection.request(act.Redirect(channel="X", context="holding", exten="s"))
    response = await connection.request(act.Setvar(channel="X", variable="A", value="1"))
    assert response.message == "Variable Set"
    await peer.close()


async def test_garbage_runaway_header_and_bad_events_do_not_stop_routing(running) -> None:  # type: ignore[no-untyped-def]
    rubbish = (bytes(range(256)) * 40).replace(b"\r\n\r\n", b"") + b"\r\n\r\n"
    runaway = b"Event: UserEvent\r\nJunk: " + b"x" * (1024 * 1024) + b"\r\n\r\n"
    broken = b"Event: Hangup\r\nCause: 16\r\n\r\n"  # a wanted event without its Channel
    unknown = b"Event: BrandNewEvent2030\r\nFoo: bar\r\n\r\n"
    peer = await AmiPeer(stream=rubbish + runaway + broken + unknown + recorded_events(
        "03-call-abandoned-while-waiting.events.ami")).start()
    sink = Sink()
    connection = start(running, peer, sink)
    with capture_logs() as logs:
        await until(lambda: any(isinstance(e, ev.Hangup) for e in sink.events))
    waiting = [e for e in sink.events if isinstance(e, ev.UserEvent)]
    assert waiting[0].headers["Number"] == "116117"
    # every drop counted by reason, and logged (once per episode, without content)
    dropped = {e["reason"] for e in logs if e["event"] == "ami_frames_dropped"}
    assert dropped == {"garbage", "oversized", "undecodable"}
    assert connection.drops.counts["garbage"] == 1
    assert connection.drops.counts["oversized"] == 1
    assert connection.drops.counts["undecodable"] == 1
    assert connection.protocol is not None and connection.protocol.framer.dropped_frames == 1
    assert peer.logins == 1  # no reconnect was needed
    await peer.close()


def _originate_response(action_id: str | None, reason: str = "5") -> bytes:
    """Asterisk's answer to a warm Originate whose target is busy (live t3-06f)."""
    head = f"ActionID: {action_id}\r\n" if action_id is not None else ""
    return (f"Event: OriginateResponse\r\nPrivilege: call,all\r\n"
            f"Timestamp: 1796585911.728794\r\n{head}Response: Failure\r\n"
            f"Channel: Local/1014@agents\r\nContext: acd-warm\r\nExten: 1014\r\n"
            f"Reason: {reason}\r\nUniqueid: <unknown>\r\nCallerIDNum: 0606000005\r\n"
            f"CallerIDName: Warm busy\r\n\r\n").encode()


async def test_the_answer_to_our_async_originate_reaches_the_sink(running) -> None:  # type: ignore[no-untyped-def]
    """Live t3-06f: the OriginateResponse carries our Originate's ActionID, so panoramisk
    appends it to that action's answer; the sink gets it too, once, as an event
    (a list's items, which also carry an ActionID, are not events)."""
    from acd.ami import actions as act

    peer = await AmiPeer(on_originate=_originate_response, status_channels=[{
        "Channel": "Local/15@incoming-1;2", "Uniqueid": "9.1",
        "Variables": "ACD_NUMBER=15"}]).start()
    sink = Sink()
    connection = start(running, peer, sink)
    await until(lambda: sink.ups)
    answer = await connection.send(act.Originate(
        channel="Local/1014@agents", context="acd-warm", exten="1014", timeout_ms=15000))
    first, appended = answer  # how panoramisk completes an Async Originate
    assert first.message == "Originate successfully queued"
    assert appended.event == "OriginateResponse"
    responses = [e for e in sink.events if isinstance(e, ev.OriginateResponse)]
    assert len(responses) == 1
    (response,) = responses
    assert (response.action_id, response.response, response.reason) == (
        first.actionid, "Failure", "5")
    assert (response.channel, response.context, response.exten) == (
        "Local/1014@agents", "acd-warm", "1014")
    assert not any(isinstance(e, ev.StatusEntry | ev.ListComplete) for e in sink.events)
    await peer.close()


@pytest.mark.parametrize("action_id", ["lab-4", None])
async def test_an_originate_response_of_no_action_of_ours_is_a_plain_event(
        running: list[tuple[AmiConnection, asyncio.Task[None]]],
        action_id: str | None) -> None:
    """Someone else's Originate (the lab's ``lab-4``), or one sent on an earlier session:
    the event reaches the sink once."""
    peer = await AmiPeer(stream=_originate_response(action_id, "3")).start()
    sink = Sink()
    start(running, peer, sink)
    await until(lambda: any(isinstance(e, ev.OriginateResponse) for e in sink.events))
    await asyncio.sleep(0.05)
    responses = [e for e in sink.events if isinstance(e, ev.OriginateResponse)]
    assert [(r.action_id, r.reason) for r in responses] == [(action_id or "", "3")]
    await peer.close()
