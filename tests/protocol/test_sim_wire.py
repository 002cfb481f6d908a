"""The simulator's AMI server side: banner, login, responses, event fan-out, faults."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import AsyncIterator

import pytest

from acd.ami.frames import FrameReader, parse_frame
from acd.sim.behaviour import FixedBehaviour
from acd.sim.model import OfferOutcome
from acd.sim.server import SimServer, start_sim
from tests.support.amiclient import SECRET, AmiTestClient, sim_config

START = 1795329353.0


_CLIENTS: list[AmiTestClient] = []


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    server = await start_sim(sim_config(), seed=7, speed=20.0, secret=SECRET,
                             start_epoch=START, auth_failure_delay_s=0.2,
                             behaviour=FixedBehaviour(OfferOutcome(answer_after_s=1.0,
                                                                   talk_s=4.0)))
    yield server
    while _CLIENTS:
        await _CLIENTS.pop().close()
    await server.close()


async def connect(sim: SimServer) -> AmiTestClient:
    client = await AmiTestClient.connect(sim.port)
    _CLIENTS.append(client)
    return client


async def raw_exchange(port: int, payload: bytes, *, until: bytes,
                       timeout: float = 2.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    data = b""
    try:
        while until not in data:
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                break
            data += chunk
    finally:
        writer.close()
    return data


def header_names(message: dict[str, str]) -> list[str]:
    return list(message)


# ------------------------------------------------------------------ banner and login


async def test_banner_then_login_accepted_and_fully_booted_exact_bytes(sim: SimServer) -> None:
    login = (b"Action: Login\r\nActionID: rec-001\r\nUsername: acd\r\n"
             b"Secret: s3cret\r\nEvents: on\r\n\r\n")
    data = await raw_exchange(sim.port, login, until=b"Fully Booted\r\n\r\n")
    banner, rest = data.split(b"\r\n", 1)
    assert banner == b"Asterisk Call Manager/11.0.0"
    assert rest.startswith(b"Response: Success\r\nActionID: rec-001\r\n"
                           b"Message: Authentication accepted\r\n\r\n"
                           b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: ")
    booted = parse_frame(rest.split(b"\r\n\r\n")[1])
    assert header_names(booted) == ["Event", "Privilege", "Uptime", "LastReload", "Status"]
    assert booted["Status"] == "Fully Booted"
    assert booted["Uptime"] == booted["LastReload"]


async def test_login_with_events_off_gets_no_fully_booted_and_no_events(sim: SimServer) -> None:
    quiet, loud = await connect(sim), await connect(sim)
    reply = await quiet.login(events="off")
    await loud.login()
    assert reply["Message"] == "Authentication accepted"
    sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=60)
    await loud.wait_event("Newchannel")
    await asyncio.sleep(0.05)
    assert loud.events("FullyBooted")
    assert quiet.events() == []


@pytest.mark.parametrize(("username", "secret"), [("acd", "wrong"), ("nosuchuser", SECRET)])
async def test_failed_login_answers_late_then_closes(sim: SimServer, username: str,
                                                     secret: str) -> None:
    client = await connect(sim)
    started = time.monotonic()
    reply = await client.login(secret, username=username)
    elapsed = time.monotonic() - started
    assert [(k, v) for k, v in reply.items()] == [
        ("Response", "Error"), ("ActionID", "t-001"), ("Message", "Authentication failed")]
    assert elapsed >= 0.19
    await client.wait_closed()
    assert client.closed


async def test_md5_challenge_login(sim: SimServer) -> None:
    client = await connect(sim)
    challenge = (await client.action("Challenge", ("AuthType", "MD5")))[0]
    assert challenge["Response"] == "Success"
    key = hashlib.md5((challenge["Challenge"] + SECRET).encode(),
                      usedforsecurity=False).hexdigest()
    reply = (await client.action("Login", ("AuthType", "MD5"), ("Username", "acd"),
                                 ("Key", key), ("Events", "off")))[0]
    assert reply["Message"] == "Authentication accepted"


async def test_actions_before_login_are_denied_and_logoff_says_goodbye(sim: SimServer) -> None:
    client = await connect(sim)
    for action in ("CoreShowChannels", "Ping"):
        reply = (await client.action(action))[0]
        assert list(reply.items()) == [("Response", "Error"), ("ActionID", reply["ActionID"]),
                                       ("Message", "Permission denied")]
    bye = (await client.action("Logoff"))[0]
    assert bye["Response"] == "Goodbye"
    assert bye["Message"] == "Thanks for all the fish."
    await client.wait_closed()


# ------------------------------------------------------------------ responses


async def test_ping_answers_pong_with_simulated_timestamp(sim: SimServer) -> None:
    client = await connect(sim)
    await client.login(events="off")
    reply = (await client.action("Ping"))[0]
    assert header_names(reply) == ["Response", "ActionID", "Ping", "Timestamp"]
    assert reply["Ping"] == "Pong"
    assert re.fullmatch(r"\d+\.\d{6}", reply["Timestamp"])
    assert START <= float(reply["Timestamp"]) < START + 60


async def test_unknown_action_wording_of_asterisk(sim: SimServer) -> None:
    client = await connect(sim)
    await client.login(events="off")
    reply = (await client.action("NoSuchAction"))[0]
    assert reply["Response"] == "Error"
    assert reply["Message"] == ("Invalid/unknown command: NoSuchAction. "
                                "Use Action: ListCommands to show available commands.")


async def test_response_starts_with_response_then_action_id(sim: SimServer) -> None:
    client = await connect(sim)
    await client.login(events="off")
    client.send(("Action", "Ping"), ("X-Extra", "1"), ("ActionID", "last-in-action"))
    reply = await client.wait_for(lambda m: m.get("ActionID") == "last-in-action")
    assert header_names(reply)[:2] == ["Response", "ActionID"]
    client.send(("Action", "Ping"))
    bare = await client.wait_for(lambda m: "Ping" in m and "ActionID" not in m)
    assert header_names(bare) == ["Response", "Ping", "Timestamp"]


async def test_events_action_turns_events_off_and_on(sim: SimServer) -> None:
    client = await connect(sim)
    await client.login()
    off = (await client.action("Events", ("EventMask", "off")))[0]
    assert off["Events"] == "Off"
    sim.pbx.place_call("15", "A", "0600000001", patience_s=60)
    await asyncio.sleep(0.05)
    assert client.events("Newchannel") == []
    on = (await client.action("Events", ("EventMask", "on")))[0]
    assert on["Events"] == "On"
    sim.pbx.place_call("15", "B", "0600000002", patience_s=60)
    await client.wait_event("Newchannel")


async def test_every_event_reaches_every_session_with_timestamp_third(sim: SimServer) -> None:
    one, two = await connect(sim), await connect(sim)
    await one.login()
    await two.login()
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=60)
    first = await one.wait_event("Newchannel", Channel=call.phone.name)
    second = await two.wait_event("Newchannel", Channel=call.phone.name)
    assert first == second
    assert header_names(first)[:3] == ["Event", "Privilege", "Timestamp"]
    assert first["Privilege"] == "call,all"
    assert re.fullmatch(r"\d+\.\d{6}", first["Timestamp"])
    assert float(first["Timestamp"]) >= START


# ------------------------------------------------------------------ misbehaviour


async def test_refuse_next_action_once(sim: SimServer) -> None:
    client = await connect(sim)
    await client.login(events="off")
    sim.wire.refuse_next("Ping", message="Failed")
    refused = (await client.action("Ping"))[0]
    assert (refused["Response"], refused["Message"]) == ("Error", "Failed")
    assert (await client.action("Ping"))[0]["Ping"] == "Pong"


async def test_delayed_responses(sim: SimServer) -> None:
    client = await connect(sim)
    await client.login(events="off")
    sim.wire.delay_responses(0.3)
    started = time.monotonic()
    await client.action("Ping")
    assert time.monotonic() - started >= 0.29
    sim.wire.delay_responses(0)
    started = time.monotonic()
    await client.action("Ping")
    assert time.monotonic() - started < 0.2


async def test_drop_mid_frame_leaves_a_partial_frame_then_accepts_again(sim: SimServer) -> None:
    client = await connect(sim)
    await client.login()
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=60)
    await client.wait_event("Newchannel")
    assert sim.wire.drop_connections_mid_frame() == 1
    await client.wait_closed()
    assert client.frames.pending_bytes > 0  # half a frame that never ended
    again = await connect(sim)
    assert (await again.login())["Message"] == "Authentication accepted"
    assert call.trunk.name in sim.pbx.channels  # calls survive a dropped connection


async def test_garbage_does_not_stop_the_stream(sim: SimServer) -> None:
    client = await connect(sim)
    await client.login()
    sim.wire.send_garbage(300)
    sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=60)
    event = await client.wait_event("Newchannel")
    assert event["Channel"].startswith("Local/15@incoming-")
    assert b"\x00" in client.raw or any(b > 127 for b in client.raw)
    reply = (await client.action("Ping"))[0]
    assert reply["Ping"] == "Pong"


async def test_reorder_sends_hangup_before_bridge_leave(sim: SimServer) -> None:
    client = await connect(sim)
    await client.login()
    call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=60)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    await client.action("Setvar", ("Channel", call.channel), ("Variable", "ACD_DIAL"),
                        ("Value", "Local/1001@agents"))
    await client.action("Redirect", ("Channel", call.channel), ("Context", "acd-connect"),
                        ("Exten", "1001"), ("Priority", "1"))
    await client.wait_event("BridgeEnter", Channel=call.channel)
    sim.wire.reorder_next("BridgeLeave", "Hangup")
    sim.pbx.hang_up_caller(call)
    await client.wait_event("Hangup", Channel=call.channel)
    names = [m["Event"] for m in client.events()
             if m["Event"] in ("BridgeLeave", "Hangup")]
    assert names.index("Hangup") < names.index("BridgeLeave")
    assert names.count("BridgeLeave") == 2


async def test_restart_sends_shutdown_closes_and_boots_again(sim: SimServer) -> None:
    client = await connect(sim)
    await client.login()
    sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=60)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    restart = asyncio.create_task(sim.restart(down_s=0.3))
    shutdown = await client.wait_event("Shutdown")
    assert header_names(shutdown) == ["Event", "Privilege", "Timestamp", "Shutdown", "Restart"]
    assert (shutdown["Privilege"], shutdown["Shutdown"], shutdown["Restart"]) == (
        "system,all", "Cleanly", "True")
    await client.wait_closed()
    assert len(client.events("Hangup")) == 2  # the caller's pair was hung up first
    await asyncio.sleep(0.05)
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", sim.port)
    await restart
    again = await connect(sim)
    await again.login()
    booted = await again.wait_event("FullyBooted")
    assert int(booted["Uptime"]) <= 1
    assert sim.pbx.channels == {}
    assert {h.reason for h in sim.pbx.hangups} == {"restart"}


async def test_restart_can_keep_calls(sim: SimServer) -> None:
    kept = sim.pbx.place_call("15", "Kept", "0600000001", patience_s=60)
    dropped = sim.pbx.place_call("15", "Dropped", "0600000002", patience_s=60)
    await sim.restart(down_s=0.0, hangup=[kept.channel])
    assert kept.trunk.name in sim.pbx.channels
    assert dropped.trunk.name not in sim.pbx.channels


async def test_frames_read_back_with_our_reader(sim: SimServer) -> None:
    client = await connect(sim)
    await client.login()
    sim.pbx.place_call("15", "Hélène Dupré", "0612340201", patience_s=60)
    await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
    reader = FrameReader()
    frames = reader.feed(bytes(client.raw))
    assert reader.banner == "Asterisk Call Manager/11.0.0"
    assert reader.pending_bytes == 0
    waiting = next(parse_frame(f) for f in frames if b"AcdCallWaiting" in f)
    assert waiting["CallerName"] == "Hélène Dupré"
    assert b"H\xc3\xa9l\xc3\xa8ne Dupr\xc3\xa9" in client.raw  # raw UTF-8 on the wire


async def test_read_classes_filter_events_like_manager_conf() -> None:
    from acd.sim.options import PbxOptions

    server = await start_sim(sim_config(), seed=1, speed=50.0, secret=SECRET,
                             options=PbxOptions(full_event_mix=True),
                             read=["system", "call", "user", "agent"])
    router = await AmiTestClient.connect(server.port)
    calls_only = await AmiTestClient.connect(server.port)
    try:
        await router.login()
        await calls_only.login(events="call")
        call = server.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=60)
        await router.wait_event("MusicOnHoldStart", Channel=call.channel)
        await calls_only.wait_event("MusicOnHoldStart", Channel=call.channel)
        seen = {m["Event"] for m in router.events()}
        assert {"FullyBooted", "Newchannel", "UserEvent", "DialBegin"} <= seen
        assert not seen & {"VarSet", "Newexten", "SuccessfulAuth"}
        only = {m["Event"] for m in calls_only.events()}
        assert "Newchannel" in only
        assert not only & {"FullyBooted", "UserEvent", "VarSet", "Newexten"}
    finally:
        await router.close()
        await calls_only.close()
        await server.close()
