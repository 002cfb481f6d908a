"""Busy and silent targets, as a real Asterisk 22.10.1 answered the live router (runs
t3-06e, t3-06f, t3-06g, t3-23 of ``tests/fixtures/ami/live/t3/``): what Asterisk sent
the router goes to a router under test through the fake AMI peer over real TCP, the
answer to its own warm Originate carrying its own ActionID (appended by panoramisk to
that Originate's answer), and what the router does is checked.

Live, the router never saw the answer to its Originate: a busy target (``Reason: 5``,
3 ms after the Originate) was kept "ringing" 17 s, counted a missed offer and, after
two transfers, paused "no answer" (t3-06f, t3-06g); a silent one was freed by the
router's own timer 2 s after Asterisk said so (t3-06e). A SIP phone answering ``486
Busy Here`` was offered the same caller again 2 ms later and paused (t3-23)."""

from __future__ import annotations

import asyncio

import msgspec

from acd.config import Config, HttpConfig
from acd.config.load import parse_config
from acd.core import facts as f
from acd.core import inputs as i
from acd.testing import build_stack
from tests.support.livesession import RouterSession, router_session
from tests.support.paths import LIVE
from tests.support.sites import agent, site_toml

SECRET = "s3cret-for-tests"
#: the live router's agents who were paused through the API in runs t3-06e/f/g (the
#: recorded QueuePause actions): only 1003 took the caller
PAUSED = ("1001", "1002", "1004", "1005", "1006", "1007", "1008")
#: what the third round's router config changed from the lab's (Originate Timeout
#: 15000 ms), and a second AMU N2 regulator for the transfer to go on to
T3_CHANGES = b"""
[[agents]]
id = "1015"
device = "Local/1015@agents"
name = "AMU N2 1015"
skills = { AMU_N2 = 1 }
logged_in = true
"""


def t3_lab_config() -> Config:
    text = (LIVE / "lab" / "acd-lab.toml").read_bytes()
    text = text.replace(b"ring_timeout_s = 10.0", b"ring_timeout_s = 15.0") + T3_CHANGES
    return _local(parse_config(text, "acd-lab-t3.toml"))


def sip_config() -> Config:
    """Run t3-23: five SIP phones 2001–2005 in the front office."""
    return _local(parse_config(site_toml(
        "Lab SIP", sections={"routing": {"ring_timeout_s": 15, "max_missed_offers": 2}},
        skills={"ARM_N1": {"wrap_up_s": 2.0, "expansion_s": [10.0, 30.0]}},
        numbers={"15": "ARM_N1", "116117": "ARM_N1"},
        agents=[agent(f"200{n}", ARM_N1=1, logged_in=True) for n in range(1, 6)]),
        "lab-sip.toml"))


def _local(config: Config) -> Config:
    return msgspec.structs.replace(
        config, ami=msgspec.structs.replace(config.ami, reconnect_initial_s=0.05),
        http=HttpConfig(port=0), redis=None,
        api=msgspec.structs.replace(config.api, tokens_file=None))


class Replay:
    """A router under test fed ``session`` through the fake peer."""

    def __init__(self, session: RouterSession, config: Config) -> None:
        self.session = session
        self.config = config
        self.facts: list[f.Fact] = []
        self.actions: list[dict[str, str]] = []

    async def run(self, paused: tuple[str, ...] = (), transfer_to: str | None = None,
                  ) -> Replay:
        """Replay the session to a router on the replay's clock, ``paused`` agents paused
        first; ``transfer_to``: the lab asked for a warm transfer of the talking caller
        through the API just before each Originate of the live router (not in the
        AMI stream), at that time."""
        session = self.session
        peer = session.peer(SECRET)
        await peer.start()
        config = msgspec.structs.replace(
            self.config, ami=msgspec.structs.replace(self.config.ami, port=peer.port))
        stack = build_stack(config, ami=config.ami, secret=SECRET, records=False,
                            clock=lambda: peer.stream_time)
        router = stack.router
        router.add_fact_listener(self.facts.append)
        for agent_id in paused:
            router.submit(i.AgentPause(agent_id, "lab", by="test"))

        def asked(recorded: str) -> None:
            if transfer_to is not None:
                peer.stream_time = session.sent_at[recorded]
                router.submit(i.TransferRequest(transfer_to, agent="1003", by="lab"))

        peer.on_wait = asked
        task = asyncio.create_task(stack.ami.run())
        try:
            async with asyncio.timeout(20):
                await peer.streamed.wait()
                await asyncio.sleep(0.3)  # the last frames read and handled
        finally:
            await stack.ami.stop()
            await task
            await peer.close()
        assert peer.unmatched == []  # every recorded answer went to an action of ours
        self.actions = peer.all_actions()
        self.engine = router.engine
        return self

    def states(self, agent_id: str) -> list[tuple[float, str, str | None]]:
        return [(x.at, x.new, x.reason) for x in self.facts
                if isinstance(x, f.AgentStateChanged) and x.agent == agent_id]

    def originates(self) -> list[str]:
        return [a["Channel"] for a in self.actions if a["Action"] == "Originate"]

    def busy(self) -> list[f.OfferBusy]:
        return [x for x in self.facts if isinstance(x, f.OfferBusy)]


def freed_after(replay: Replay, agent_id: str, rung_at: float) -> float:
    """When ``agent_id``, rung at ``rung_at``, was free again."""
    return next(at for at, new, _ in replay.states(agent_id)
                if at >= rung_at and new == "available")


async def test_a_busy_warm_target_is_freed_at_once_and_the_next_one_rung() -> None:
    """t3-06f: ``Reason: 5`` 3 ms after the Originate. The router acts on it within
    100 ms: 1014 is free again, no missed offer, and 1015 is rung at once."""
    session = router_session("t3-06f-warm-transfer-target-busy")
    replay = await Replay(session, t3_lab_config()).run(PAUSED, "AMU_N2")
    answer = session.event("OriginateResponse", Response="Failure", Reason="5")
    answered_at = float(answer["Timestamp"])
    rung_at = next(at for at, new, _ in replay.states("1014") if new == "ringing")
    assert 0 <= freed_after(replay, "1014", rung_at) - answered_at < 0.1
    assert replay.originates()[:2] == ["Local/1014@agents", "Local/1015@agents"]
    ringing_1015 = next(at for at, new, _ in replay.states("1015") if new == "ringing")
    assert ringing_1015 - answered_at < 0.1
    assert "paused" not in [new for _, new, _ in replay.states("1014")]
    assert replay.engine.agents["1014"].missed_offers == 0
    assert [(b.agent, b.kind) for b in replay.busy()] == [("1014", "warm")]
    assert not any(a["Action"] == "Hangup" for a in replay.actions)


async def test_two_transfers_to_a_busy_target_pause_nobody() -> None:
    """t3-06g: the live router paused 1014 "no answer" after the second transfer."""
    session = router_session("t3-06g-warm-transfer-busy-twice")
    replay = await Replay(session, t3_lab_config()).run(PAUSED, "AMU_N2")
    assert replay.originates().count("Local/1014@agents") == 2
    assert [(b.agent, b.kind) for b in replay.busy()] == [("1014", "warm")] * 2
    answers = [float(m["Timestamp"]) for m in session.messages
               if m.get("Event") == "OriginateResponse" and m.get("Reason") == "5"]
    rings = [at for at, new, _ in replay.states("1014") if new == "ringing"]
    assert len(rings) == 2
    for rung_at, answered_at in zip(rings, answers, strict=True):
        assert 0 <= freed_after(replay, "1014", rung_at) - answered_at < 0.1
    assert "paused" not in [new for _, new, _ in replay.states("1014")]
    assert replay.engine.agents["1014"].missed_offers == 0
    assert not any(a["Action"] == "Hangup" for a in replay.actions)


async def test_a_silent_warm_target_is_freed_when_asterisk_says_so() -> None:
    """t3-06e: ``Reason: 3`` when the Originate's 15 s are over. The live router freed
    1014 2 s later on its own timer; now within 100 ms, a missed offer, and 1015 is
    rung at once."""
    session = router_session("t3-06e-warm-transfer-target-silent")
    replay = await Replay(session, t3_lab_config()).run(PAUSED, "AMU_N2")
    answer = session.event("OriginateResponse", Response="Failure", Reason="3")
    answered_at = float(answer["Timestamp"])
    rung_at = next(at for at, new, _ in replay.states("1014") if new == "ringing")
    freed_at = freed_after(replay, "1014", rung_at)
    assert 0 <= freed_at - answered_at < 0.1
    assert replay.originates()[:2] == ["Local/1014@agents", "Local/1015@agents"]
    assert replay.engine.agents["1014"].missed_offers == 1
    assert replay.busy() == []


async def test_a_sip_phone_answering_486_is_neither_paused_nor_rung_again_at_once() -> None:
    """t3-23: 2004 answers every offer ``486 Busy Here`` (``DialEnd BUSY``, Hangup
    cause 17, no device state). The live router offered the caller to 2004 again 2 ms
    later, and paused it "no answer"; the caller went on waiting for 2001."""
    session = router_session("t3-23-sip-endpoints")
    replay = await Replay(session, sip_config()).run()
    caller = "PJSIP/trunk-0000001c"
    to_2004 = [a for a in replay.actions if a["Action"] == "Redirect"
               and a["Channel"] == caller and a["Exten"] == "2004"]
    assert len(to_2004) == 1  # not again while its phone is held as busy
    assert "paused" not in [new for _, new, _ in replay.states("2004")]
    assert replay.engine.agents["2004"].missed_offers == 0
    assert {(b.agent, b.kind) for b in replay.busy()} == {("2004", "offer")}
    # the caller went to someone else: it was answered by 2001 within the session
    assert replay.engine.calls[next(c.id for c in replay.engine.calls.values()
                                    if c.channel == caller)].answered_by == "2001"
