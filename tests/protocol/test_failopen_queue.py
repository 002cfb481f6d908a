"""A fail-open queue that works (finding 5 of issue 13).

Recording live 07: with app_queue's default ``autofill = no`` the fail-open queue
rang one caller at a time although other members were free; agents the router had
paused were rung (static members). The simulator behaves like app_queue in both
respects (checked against live 07 and transcript 05), the shipped queue has
``autofill = yes``, and the router keeps the queue's dynamic members in step with its
agents.

Live t3-25 and t3-07c: members an earlier configuration left in the queue (kept by
``persistentmembers``) rang while the router was silent. The simulator keeps them as
app_queue does and rings them as recorded; the router removes them.
"""

from __future__ import annotations

import asyncio

from acd.aiotasks import cancel_and_wait
from acd.ami.frames import AmiMessage, parse_frame
from acd.config import AmiConfig
from acd.config.load import parse_config
from acd.core import inputs as i
from acd.sim import FixedBehaviour, OfferOutcome, PbxOptions, start_sim
from acd.sim.clock import SimClock
from acd.sim.pbx import Pbx
from acd.sim.reload import core_reload, dialplan_reload
from acd.testing import build_stack
from tests.support.amiclient import SECRET, AmiTestClient
from tests.support.paths import LIVE, TRANSCRIPTS
from tests.support.sites import local_agents, site_toml
from tests.support.wait import until

START = 1796165700.0
#: live t3-25, the first caller that failed open: three rings of stale members
#: (PJSIP/2002, then PJSIP/2001 twice), then Local/1001 answers (an excerpt)
STALE_RECORDING = "t3/t3-25-failopen-ami-link-down.stale-members.events.ami"
SITE = site_toml("SAS fail-open queue", sections={"routing": {"heartbeat_s": 1}},
                 skills={"ARM_N1": {"wrap_up_s": 1}},
                 agents=[*local_agents("1001", "1002", "1003"),
                         *local_agents("1004", logged_in=False),
                         *local_agents("2001", level=2)])


def _events(path: str, names: set[str]) -> list[AmiMessage]:
    out = []
    for frame in (LIVE / path).read_bytes().split(b"\r\n\r\n"):
        if frame.startswith(b"Event: "):
            message = parse_frame(frame + b"\r\n\r\n")
            if message["Event"] in names:
                out.append(message)
    return out


def _one_at_a_time(events: list[tuple[str, str]]) -> bool:
    """(event, caller) in order: never two callers ringing members at once."""
    ringing: set[str] = set()
    for name, caller in events:
        if name == "AgentCalled":
            if ringing - {caller}:
                return False
            ringing.add(caller)
        elif name == "AgentConnect":
            ringing.discard(caller)
    return True


def test_the_recorded_queue_without_autofill_rang_one_caller_at_a_time() -> None:
    events = _events("07-failopen-router-kill.events.ami",
                     {"QueueCallerJoin", "AgentCalled", "AgentConnect"})
    joined = [e for e in events if e["Event"] == "QueueCallerJoin"]
    assert len(joined) >= 4
    assert _one_at_a_time([(e["Event"], e["Channel"]) for e in events])


async def _fail_open(autofill: bool, *, paused: str | None = None) -> list[tuple[str, str]]:
    """Four callers fail open at once (no router ever): who rings, in order."""
    config = parse_config(SITE)
    clock = SimClock(speed=200.0, start_epoch=START)
    pbx = Pbx(config.agents, clock=clock, seed=1,
              behaviour=FixedBehaviour(OfferOutcome(answer_after_s=1.0, talk_s=60.0)),
              options=PbxOptions(failopen_s=10.0))
    pbx.native.autofill = autofill
    if paused is not None:
        assert pbx.native.pause(paused, True, "acd") is None
    seen: list[tuple[str, str]] = []

    def sink(name: str, privilege: str, headers: list[tuple[str, str]], stamp: float) -> None:
        if name in ("AgentCalled", "AgentConnect"):
            values = dict(headers)
            seen.append((name, f"{values['Channel']}>{values['Interface']}"))

    pbx.subscribe(sink)
    for n in range(4):
        pbx.place_call("15", f"Panne {n}", f"0600000{n:03d}", patience_s=600)
    await clock.sleep(1.0)
    assert len(pbx.native.joined) == 4
    await clock.sleep(6.0)
    pbx.stop()
    return seen


async def test_the_simulated_queue_without_autofill_behaves_as_recorded() -> None:
    seen = await _fail_open(autofill=False)
    assert _one_at_a_time([(n, who.split(">")[0]) for n, who in seen])
    assert sum(n == "AgentConnect" for n, _ in seen) == 4  # in turn, 1 s each


async def test_with_autofill_every_caller_rings_a_free_member_at_once() -> None:
    seen = await _fail_open(autofill=True)
    called = [who for n, who in seen if n == "AgentCalled"]
    assert [n for n, _ in seen[:4]] == ["AgentCalled"] * 4
    assert len({c.split(">")[0] for c in called[:4]}) == 4  # four callers
    assert len({c.split(">")[1] for c in called[:4]}) == 4  # four phones


async def test_a_paused_member_is_never_rung() -> None:
    seen = await _fail_open(autofill=True, paused="Local/1002@agents")
    assert seen and all(not who.endswith(">Local/1002@agents") for _, who in seen)


def _recorded_event(name: str) -> AmiMessage:
    for frame in (TRANSCRIPTS / "05-native-app-queue.events.ami").read_bytes().split(
            b"\r\n\r\n"):
        if frame.startswith(f"Event: {name}\r\n".encode()):
            return parse_frame(frame + b"\r\n\r\n")
    raise AssertionError(name)


async def test_queue_member_actions_answer_as_asterisk() -> None:
    config = parse_config(SITE)
    sim = await start_sim(config, "127.0.0.1", 0, seed=1, speed=20.0, secret=SECRET)
    client = await AmiTestClient.connect(sim.port)
    queue = config.dialplan.failopen_queue
    try:
        await client.login()
        member = ("Interface", "Local/1001@agents")
        mark = len(client.messages)
        answers = [
            (await client.action("QueueAdd", ("Queue", queue), member,
                                 ("MemberName", "1001")))[0]["Message"],
            (await client.action("QueueRemove", ("Queue", queue), member))[0]["Message"],
            (await client.action("QueueRemove", ("Queue", queue), member))[0]["Message"],
            (await client.action("QueueAdd", ("Queue", queue), member, ("Paused", "true"),
                                 ("MemberName", "1001")))[0]["Message"],
            (await client.action("QueuePause", ("Queue", queue), member,
                                 ("Paused", "false")))[0]["Message"],
            (await client.action("QueuePause", ("Queue", queue), member, ("Paused", "true"),
                                 ("Reason", "acd")))[0]["Message"],
        ]
        assert answers == ["Unable to add interface: Already there",  # persisted member
                           "Removed interface from queue",
                           "Unable to remove interface: Not there",
                           "Added interface to queue",
                           "Interface unpaused successfully",
                           "Interface paused successfully"]
        for name in ("QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause"):
            sent = await client.wait_event(name, since=mark)
            recorded = _recorded_event(name)
            assert set(sent) == set(recorded), name
        status = await client.action("QueueStatus", ("Queue", queue))
        assert [m.get("Event") for m in status] == [
            None, "QueueParams", "QueueMember", "QueueMember", "QueueMember",
            "QueueMember", "QueueStatusComplete"]
        params = status[1]
        assert params["Strategy"] == "rrmemory"
        members = {m["Location"]: m for m in status[2:-1]}
        assert members["Local/1001@agents"]["Paused"] == "1"
        assert members["Local/1001@agents"]["PausedReason"] == "acd"
        recorded_member = next(
            parse_frame(f + b"\r\n\r\n") for f in (TRANSCRIPTS / "05-native-app-queue"
                                                   ".responses.ami").read_bytes()
            .split(b"\r\n\r\n") if f.startswith(b"Event: QueueMember\r\n"))
        assert set(status[2]) == set(recorded_member)
        unknown = await client.action("QueueStatus", ("Queue", "no_such_queue"))
        assert [m.get("Event") for m in unknown] == [None, "QueueStatusComplete"]
    finally:
        await client.close()
        await sim.close()


async def test_the_router_keeps_the_queue_members_in_step_with_its_agents() -> None:
    """At start: logged-in front-office agents are members, a logged-out one is not, a
    level-2 agent never is; then each pause, end of pause, logout and login."""
    config = parse_config(SITE)
    sim = await start_sim(config, "127.0.0.1", 0, seed=1, speed=20.0, secret=SECRET,
                          behaviour=FixedBehaviour(OfferOutcome(kind="noanswer")))
    native = sim.pbx.native
    stack = build_stack(config, ami=AmiConfig(port=sim.port, keepalive_s=5.0), secret=SECRET,
                        speed=20.0, records=False, failopen=True)
    router = stack.router
    task = asyncio.create_task(stack.ami.run())

    def members() -> dict[str, bool]:
        return {m.name if m.name != m.interface else m.interface: m.paused
                for m in native.member_list.values()}

    try:
        await until(router.link_ready.is_set)
        # 1004 was a persisted member (logged out in the router): removed
        await until(lambda: members() == {"1001": False, "1002": False, "1003": False})
        router.submit(i.AgentPause("1002", reason="break"))
        await until(lambda: members().get("1002") is True)
        router.submit(i.AgentReady("1002"))
        await until(lambda: members().get("1002") is False)
        router.submit(i.AgentLogout("1003"))
        await until(lambda: "1003" not in members())
        router.submit(i.AgentLogin("1004"))
        await until(lambda: members().get("1004") is False)
        assert "Local/2001@agents" not in native.member_list
        # a member Asterisk lost meanwhile: the pause adds it back, paused
        assert native.remove("Local/1001@agents") is None
        router.submit(i.AgentPause("1001", reason="break"))
        await until(lambda: members().get("1001") is True)
    finally:
        await stack.ami.stop()
        await cancel_and_wait(task)
        await sim.close()


def _stale_rings(events: list[tuple[str, float, str]]) -> list[tuple[float, float]]:
    """(ring time, pause before the next ring) of each AgentCalled → AgentRingNoAnswer."""
    called = [at for name, at, _ in events if name == "AgentCalled"]
    ended = [at for name, at, _ in events if name == "AgentRingNoAnswer"]
    return [(end - start, (called[n + 1] - end) if n + 1 < len(called) else 0.0)
            for n, (start, end) in enumerate(zip(called, ended, strict=False))]


def test_the_recorded_stale_members_rang_fifteen_seconds_unanswered() -> None:
    recorded = _events(STALE_RECORDING, {"AgentCalled", "AgentRingNoAnswer", "AgentConnect"})
    events = [(m["Event"], float(m["Timestamp"]), m["Interface"]) for m in recorded]
    assert [who for name, _, who in events if name == "AgentCalled"] == [
        "PJSIP/2002", "PJSIP/2001", "PJSIP/2001", "Local/1001@agents"]
    assert {m["RingTime"] for m in recorded if m["Event"] == "AgentRingNoAnswer"} == {"15000"}
    rings = _stale_rings(events)
    assert [round(ring) for ring, _ in rings] == [15, 15, 15]
    assert [round(pause) for _, pause in rings] == [2, 2, 2]


async def test_the_simulated_queue_rings_a_stale_member_as_recorded() -> None:
    """A member no agent answers (``persist``): 15 s rings, 2 s apart, as t3-25."""
    config = parse_config(SITE)
    clock = SimClock(speed=200.0, start_epoch=START)
    pbx = Pbx(config.agents, clock=clock, seed=1,
              behaviour=FixedBehaviour(OfferOutcome(answer_after_s=1.0, talk_s=60.0)),
              options=PbxOptions(failopen_s=10.0))
    pbx.native.persist(["PJSIP/9999"])
    for n in (1, 2, 3, 4):  # the site's own members are paused: only the stale one rings
        assert pbx.native.pause(f"Local/100{n}@agents", True, "acd") is None
    seen: list[tuple[str, float, str]] = []
    dials: list[tuple[str, str]] = []
    ring_times: set[str] = set()

    def sink(name: str, privilege: str, headers: list[tuple[str, str]], stamp: float) -> None:
        values = dict(headers)
        if name in ("AgentCalled", "AgentRingNoAnswer"):
            seen.append((name, stamp, values["Interface"]))
            assert values["MemberName"] == "9999"
            if name == "AgentRingNoAnswer":
                ring_times.add(values["RingTime"])
        elif name in ("DialBegin", "DialEnd") \
                and values.get("DestChannel", "").startswith("PJSIP/9999-"):
            dials.append((name, values.get("DialStatus", "")))

    pbx.subscribe(sink)
    pbx.place_call("15", "Panne", "0600000001", patience_s=600)
    await clock.sleep(40.0)
    pbx.stop()
    recorded = _events(STALE_RECORDING, {"AgentCalled", "AgentRingNoAnswer"})
    expected = _stale_rings([(m["Event"], float(m["Timestamp"]), m["Interface"])
                             for m in recorded])[0]
    rings = _stale_rings(seen)
    assert {who for _, _, who in seen} == {"PJSIP/9999"}
    assert len(rings) >= 2
    assert abs(rings[0][0] - expected[0]) < 0.1 and abs(rings[0][1] - expected[1]) < 0.1
    assert dials[:2] == [("DialBegin", ""), ("DialEnd", "NOANSWER")]
    assert ring_times == {m["RingTime"] for m in recorded if m["Event"] == "AgentRingNoAnswer"}
    assert pbx.native.callers_rung_stale() == 1


async def test_stale_members_outlive_a_restart_and_a_reload() -> None:
    """app_queue's persistentmembers: a restart or a reload keeps them (until a
    QueueRemove); QueueStatus lists them as the dynamic members they are."""
    config = parse_config(SITE)
    sim = await start_sim(config, "127.0.0.1", 0, seed=1, speed=20.0, secret=SECRET)
    sim.pbx.native.persist(["PJSIP/9999", "Local/1099@agents"])
    await sim.restart(down_s=0.05)
    dialplan_reload(sim.pbx)
    core_reload(sim.pbx)
    client = await AmiTestClient.connect(sim.port)
    try:
        await client.login()
        status = await client.action("QueueStatus", ("Queue", config.dialplan.failopen_queue))
        members = {m["Location"]: m for m in status if m.get("Event") == "QueueMember"}
        assert members["PJSIP/9999"]["Name"] == "9999"
        assert members["Local/1099@agents"]["Name"] == "1099"
        assert {members[k]["Membership"] for k in ("PJSIP/9999", "Local/1099@agents")} \
            == {"dynamic"}
    finally:
        await client.close()
        await sim.close()


async def test_the_router_removes_the_members_it_does_not_know_and_only_those() -> None:
    """At start: stale members of an earlier configuration and a level-2 agent's phone
    go, the logged-in front office stays; a member put back by hand goes at the next
    reconciler pass; a paused agent stays a member."""
    config = parse_config(SITE)
    sim = await start_sim(config, "127.0.0.1", 0, seed=1, speed=20.0, secret=SECRET,
                          behaviour=FixedBehaviour(OfferOutcome(kind="noanswer")))
    native = sim.pbx.native
    native.persist(["PJSIP/9999", "Local/1099@agents"])
    assert native.add("Local/2001@agents", "2001", False) is None
    removed: list[str] = []

    def sink(name: str, privilege: str, headers: list[tuple[str, str]], stamp: float) -> None:
        if name == "QueueMemberRemoved":
            removed.append(dict(headers)["Interface"])

    sim.pbx.subscribe(sink)
    stack = build_stack(config, ami=AmiConfig(port=sim.port, keepalive_s=5.0), secret=SECRET,
                        speed=20.0, records=False, failopen=True)
    router, members, reconciler = (stack.router, stack.service.parts.failopen,
                                   stack.service.parts.reconciler)
    assert members is not None and reconciler is not None
    task = asyncio.create_task(stack.ami.run())
    front = {"Local/1001@agents", "Local/1002@agents", "Local/1003@agents"}
    try:
        await until(router.link_ready.is_set)
        await until(lambda: set(native.member_list) == front)
        # 1004 is a front-office agent logged out in the router (removed as before)
        assert sorted(removed) == ["Local/1004@agents", "Local/1099@agents",
                                   "Local/2001@agents", "PJSIP/9999"]
        assert sorted(members.removed) == ["Local/1099@agents", "Local/2001@agents",
                                           "PJSIP/9999"]
        # put back by hand (or by another configuration) meanwhile
        assert native.add("PJSIP/9998", "9998", False) is None
        router.submit(i.AgentPause("1002", reason="break"))
        await until(lambda: native.member_list["Local/1002@agents"].paused)
        assert await reconciler.once()
        await until(lambda: "PJSIP/9998" not in native.member_list)
        assert set(native.member_list) == front
    finally:
        await stack.ami.stop()
        await cancel_and_wait(task)
        await sim.close()
