"""A member the router does not know, in a real Asterisk's fail-open queue (live t3-07c).

The router was killed, callers failed open into ``acd-front-office``, and ``PJSIP/2001``
(a member an earlier configuration left there, kept by ``persistentmembers``) took one
of them. What Asterisk sent the restarted router on its second AMI session goes to a
router under test through the fake AMI peer over real TCP (the answers to the live
router's own actions left out); the peer answers the router's ``QueueStatus`` with the
queue's members as that session's ``QueueMember*`` events show them, in the shape of
transcript 05. The live router never asked and left ``PJSIP/2001`` in the queue; the
router under test removes it, from its own fail-open queue only, and moves no caller.
"""

from __future__ import annotations

import asyncio

import msgspec

from acd.ami.frames import AmiMessage, FrameReader, parse_frame, serialize
from acd.config import Config, HttpConfig
from acd.config.load import load_config
from acd.testing import build_stack
from tests.support.amipeer import AmiPeer, PeerSession
from tests.support.paths import LIVE, LIVE_T3
from tests.support.wait import until

SECRET = "s3cret-for-tests"
RUN = "t3-07c-failopen-autofill-paused"
QUEUE = "acd-front-office"
#: the stale member, and the fail-open caller it was talking with
STALE = "PJSIP/2001"
ITS_CALLER = "Local/15@from-trunk-00000396;2"
#: QueueMember items of a QueueStatus list (transcript 05), from a member event
MEMBER_FIELDS = ("StateInterface", "Membership", "Penalty", "CallsTaken", "LastCall",
                 "LastPause", "LoginTime", "InCall", "Status", "Paused", "PausedReason",
                 "Wrapuptime")


class Session:
    """The live router's second session: its first Status list, then the events."""

    def __init__(self) -> None:
        data = (LIVE_T3 / f"{RUN}.router-session.conn-2.s2c.ami").read_bytes()
        frames = FrameReader().feed(data.split(b"\r\n", 1)[1])
        messages = [parse_frame(frame) for frame in frames]
        end = next(n for n, m in enumerate(messages) if m.get("Event") == "StatusComplete")
        listed = messages[end]["ActionID"]
        self.items = [_peer_item(m) for m in messages[:end]
                      if m.get("Event") == "Status" and m.get("ActionID") == listed]
        events = [(f, m) for f, m in zip(frames[end + 1:], messages[end + 1:], strict=True)
                  if "Event" in m and "ActionID" not in m]
        self.stream = b"".join(f + b"\r\n\r\n" for f, _ in events)
        #: the fail-open queue's members, the last event of each
        self.members: dict[str, AmiMessage] = {}
        for message in messages:
            if message.get("Event", "").startswith("QueueMember") \
                    and message.get("Queue") == QUEUE:
                self.members[message["Interface"]] = message


class QueuePeer(AmiPeer):
    """The fake peer, answering the fail-open queue's actions as app_queue does."""

    def __init__(self, members: dict[str, AmiMessage], **settings: object) -> None:
        super().__init__(**settings)  # type: ignore[arg-type]
        self.members = members

    async def _answer(self, session: PeerSession, action: dict[str, str]) -> None:
        name, aid = action.get("Action", ""), action.get("ActionID", "")
        if name not in ("QueueStatus", "QueueAdd", "QueueRemove", "QueuePause"):
            await super()._answer(session, action)
            return
        write = session.writer.write
        if name != "QueueStatus":
            write(serialize([("Response", "Success"), ("ActionID", aid),
                             ("Message", f"{name} done")]))
        else:
            write(serialize([("Response", "Success"), ("ActionID", aid),
                             ("EventList", "start"), ("Message", "Queue status will follow")]))
            items = list(self.members.values()) if action.get("Queue") == QUEUE else []
            for member in items:
                write(serialize([("Event", "QueueMember"), ("Queue", QUEUE),
                                 ("Name", member["MemberName"]),
                                 ("Location", member["Interface"]),
                                 *((k, member.get(k, "")) for k in MEMBER_FIELDS),
                                 ("ActionID", aid)]))
            write(serialize([("Event", "QueueStatusComplete"), ("ActionID", aid),
                             ("EventList", "Complete"), ("ListItems", str(len(items)))]))
        await session.writer.drain()


def _peer_item(message: AmiMessage) -> dict[str, str]:
    headers = {k: v for k, v in message.items()
               if k not in ("Event", "Privilege", "ActionID", "Variable")}
    headers["Variables"] = "|".join(message.get_all("Variable"))
    return headers


def lab_config(port: int) -> Config:
    config = load_config(LIVE / "lab" / "acd-lab.toml")
    return msgspec.structs.replace(
        config, ami=msgspec.structs.replace(config.ami, port=port, reconnect_initial_s=0.05),
        http=HttpConfig(port=0), redis=None,
        api=msgspec.structs.replace(config.api, tokens_file=None))


def test_the_live_router_left_the_stale_member_in_the_queue() -> None:
    session = Session()
    assert session.members[STALE]["Membership"] == "dynamic"
    actions = (LIVE_T3 / f"{RUN}.router-actions.txt").read_text(encoding="utf-8")
    assert "QueueStatus" not in actions
    assert f"Interface: {STALE}" not in actions


async def test_the_router_removes_the_member_it_does_not_know_and_nothing_else() -> None:
    session = Session()
    peer = await QueuePeer(session.members, secret=SECRET, status_channels=session.items,
                           stream=session.stream, stream_after_status=True).start()
    config = lab_config(peer.port)
    stack = build_stack(config, ami=config.ami, secret=SECRET, records=False, failopen=True)
    task = asyncio.create_task(stack.ami.run())

    def removed() -> list[str]:
        return [a["Interface"] for a in peer.all_actions() if a["Action"] == "QueueRemove"]

    try:
        await until(lambda: STALE in removed() and peer.streamed.is_set())
        await asyncio.sleep(0.1)  # anything else it would send
    finally:
        await stack.ami.stop()
        await task
        await peer.close()
    actions = peer.all_actions()
    queued = [a for a in actions if a["Action"].startswith("Queue")]
    assert {a["Queue"] for a in queued} == {QUEUE}  # never another queue
    assert [a["Action"] for a in queued].count("QueueStatus") >= 1
    # the stale member, and the logged-out front office (1098, 1099) as before
    assert sorted(set(removed())) == ["Local/1098@agents", "Local/1099@agents", STALE]
    # the caller talking with the stale member is left alone, as every channel the
    # resync found (callers in Queue() or talking, agents' legs, the stale phone's)
    listed = {item["Channel"] for item in session.items}
    assert ITS_CALLER in listed
    assert not [a for a in actions if a.get("Channel") in listed]
    assert not [a for a in actions if a["Action"] == "Hangup"]
