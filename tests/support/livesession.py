"""The live router's own AMI sessions (``tests/fixtures/ami/live/t3/``), replayed to a
router under test through the fake AMI peer: the first resync's ``Status`` list, then
everything Asterisk sent after it, the answers to the live router's own actions
included. The answer to an Async Originate (its OriginateResponse, carrying the live
router's ActionID) waits in the stream until the router under test has sent its own
Originate of the same device, and then carries that one's ActionID, as Asterisk would
have sent it. The router under test runs on the replay's clock: the recording's time
of the latest frame streamed (:attr:`AmiPeer.stream_time`)."""

from __future__ import annotations

from dataclasses import dataclass

from acd.ami.frames import AmiMessage, FrameReader, parse_frame
from tests.support.amipeer import AmiPeer
from tests.support.paths import LIVE_T3

#: the ActionIDs of the live router (``acd-N``)
ROUTER_PREFIX = "acd-"


@dataclass(frozen=True)
class RouterSession:
    #: the first resync's Status items, as :class:`AmiPeer`'s ``status_channels``
    items: list[dict[str, str]]
    #: every frame Asterisk sent after that list, responses and events alike
    stream: bytes
    #: the stream as messages, for the tests' own reading
    messages: list[AmiMessage]
    #: recorded ActionID of each Originate of the live router → ("Originate", Channel)
    originates: dict[str, tuple[str, str]]
    #: recorded ActionID of each Originate → when the live router sent it
    sent_at: dict[str, float]

    def peer(self, secret: str) -> AmiPeer:
        """A fake AMI peer replaying this session to the router under test."""
        peer = AmiPeer(secret=secret, status_channels=self.items, stream=self.stream,
                       stream_after_status=True)
        peer.recorded_prefix = ROUTER_PREFIX
        peer.recorded_actions = dict(self.originates)
        peer.stream_time = self.first_stamp
        return peer

    def event(self, name: str, **headers: str) -> AmiMessage:
        """The first event ``name`` of the stream with these headers."""
        return next(m for m in self.messages if m.get("Event") == name
                    and all(m.get(k) == v for k, v in headers.items()))

    @property
    def first_stamp(self) -> float:
        return min(float(m["Timestamp"]) for m in self.messages if m.get("Timestamp"))

    @property
    def last_stamp(self) -> float:
        return max(float(m["Timestamp"]) for m in self.messages if m.get("Timestamp"))


def router_session(run: str) -> RouterSession:
    """The live router's first AMI session of ``run`` (e.g. ``t3-06f-…``)."""
    data = (LIVE_T3 / f"{run}.router-session.conn-1.s2c.ami").read_bytes()
    frames = FrameReader().feed(data.split(b"\r\n", 1)[1])
    messages = [parse_frame(frame) for frame in frames]
    end = next(n for n, m in enumerate(messages) if m.get("Event") == "StatusComplete")
    status_id = messages[end]["ActionID"]
    items = [_peer_item(m) for m in messages[:end]
             if m.get("Event") == "Status" and m.get("ActionID") == status_id]
    after = messages[end + 1:]
    recorded = [m["ActionID"] for m in after
                if m.get("Message") == "Originate successfully queued"]
    sent = [(at, a) for at, a in _router_actions(run) if a["Action"] == "Originate"]
    assert len(recorded) == len(sent), "an Originate without its answer"
    return RouterSession(
        items=items, stream=b"".join(f + b"\r\n\r\n" for f in frames[end + 1:]),
        messages=after,
        originates={aid: ("Originate", a["Channel"]) for aid, (_, a) in zip(recorded, sent,
                                                                          strict=True)},
        sent_at={aid: at for aid, (at, _) in zip(recorded, sent, strict=True)})


def _peer_item(message: AmiMessage) -> dict[str, str]:
    headers = {k: v for k, v in message.items()
               if k not in ("Event", "Privilege", "ActionID", "Variable")}
    headers["Variables"] = "|".join(message.get_all("Variable"))
    return headers


def _router_actions(run: str) -> list[tuple[float, dict[str, str]]]:
    """The actions the live router sent on its first connection, in order, with when."""
    actions = []
    for line in (LIVE_T3 / f"{run}.router-actions.txt").read_text().splitlines():
        if line.startswith("#") or "/conn1 " not in line:
            continue
        _, at, text = line.split(" ", 2)
        actions.append((float(at), dict(f.split(": ", 1) for f in text.split(" | "))))
    return actions
