"""One action in flight per caller channel (finding 7 of issue 13).

Recording live 04: the router's ring time-out (10 s + 2 s grace) fired before the
dialplan's Dial gave up (``ACD_RING`` 15 s); it sent a Redirect to ``holding`` and at
once a Redirect to the next agent, and Asterisk refused the second (``Redirect failed,
channel not up.``) while the first one's goto was pending. The simulator refuses it
the same way; the router no longer sends it; ``acd check-config`` warns of a config
whose ring time-out races the dialplan's.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from acd.aiotasks import cancel_and_wait
from acd.config import AmiConfig
from acd.config.load import load_config, parse_config
from acd.config.warnings import DIALPLAN_RING_S, config_warnings
from acd.core import inputs as i
from acd.sim import FixedBehaviour, OfferOutcome, PbxOptions, PerAgentBehaviour, start_sim
from acd.sim.model import Phase
from acd.testing import build_stack
from tests.support.amiclient import SECRET, AmiTestClient, sim_config
from tests.support.paths import LIVE, REPO
from tests.support.sites import local_agents, site_toml
from tests.support.wait import until

SITE = site_toml("SAS ring race",
                 sections={"routing": {"ring_timeout_s": 10, "ring_grace_s": 2,
                                       "heartbeat_s": 1}},
                 skills={"ARM_N1": {"wrap_up_s": 1}},
                 agents=[*local_agents("1001"), *local_agents("1002", logged_in=False)])


def test_the_recorded_router_sent_back_to_back_redirects() -> None:
    """Live 04's router actions: Redirect to holding then to the next agent, at once."""
    lines = (LIVE / "04-ring-no-answer.router-actions.txt").read_text().splitlines()
    redirects = [line.split() for line in lines if "Action: Redirect" in line]
    same_instant = [(a, b) for a, b in itertools.pairwise(redirects)
                    if abs(float(a[1]) - float(b[1])) < 0.01 and a[5] == b[5]]
    assert same_instant  # the same caller channel, within 10 ms


async def test_a_second_redirect_while_the_first_is_pending_is_refused() -> None:
    from acd.sim import start_sim as start

    sim = await start(sim_config(), seed=1, speed=50.0, secret=SECRET,
                      behaviour=FixedBehaviour(OfferOutcome(kind="noanswer")))
    client = await AmiTestClient.connect(sim.port)
    try:
        await client.login()
        call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=120)
        await client.wait_event("UserEvent", UserEvent="AcdCallWaiting")
        mark = len(client.messages)
        # one write, as the router's: holding, then straight to an agent
        client.send_raw(b"".join(
            f"Action: Redirect\r\nActionID: r{n}\r\nChannel: {call.channel}\r\n"
            f"Context: {ctx}\r\nExten: {exten}\r\nPriority: 1\r\n\r\n".encode()
            for n, (ctx, exten) in enumerate([("holding", "s"), ("acd-connect", "1001")])))
        first = await client.wait_for(lambda m: m.get("ActionID") == "r0", since=mark)
        second = await client.wait_for(lambda m: m.get("ActionID") == "r1", since=mark)
        assert (first["Response"], first["Message"]) == ("Success", "Redirect successful")
        assert (second["Response"], second["Message"]) == (
            "Error", "Redirect failed, channel not up.")
        await client.wait_event("MusicOnHoldStart", Channel=call.channel, since=mark)
        # once the goto has run, the channel can be moved again
        again = (await client.action("Redirect", ("Channel", call.channel),
                                     ("Context", "holding"), ("Exten", "s"),
                                     ("Priority", "1")))[0]
        assert again["Response"] == "Success"
        assert sim.actions.redirects_refused == [call.channel]
    finally:
        await client.close()
        await sim.close()


async def test_a_ring_timeout_before_dials_never_races_a_redirect() -> None:
    """The router's ring time-out (12 s) fires before Dial's (15 s): the caller is sent
    back to holding, and only once Asterisk shows it there is it offered again."""
    config = parse_config(SITE)
    behaviour = PerAgentBehaviour({"1001": FixedBehaviour(OfferOutcome(kind="noanswer"))},
                                  default=FixedBehaviour(OfferOutcome(answer_after_s=1.0,
                                                                      talk_s=5.0)))
    sim = await start_sim(config, "127.0.0.1", 0, seed=2, speed=20.0, secret=SECRET,
                          behaviour=behaviour, options=PbxOptions(ring_timeout_s=15))
    stack = build_stack(config, ami=AmiConfig(port=sim.port, keepalive_s=5.0), secret=SECRET,
                        speed=20.0, records=False)
    router = stack.router
    task = asyncio.create_task(stack.ami.run())
    try:
        await until(router.link_ready.is_set)
        call = sim.pbx.place_call("15", "Jean Martin", "0612340201", patience_s=3600)
        await until(lambda: call.phase is Phase.DIALLING)
        router.submit(i.AgentLogin("1002"))
        await until(lambda: call.phase is Phase.TALKING, timeout=10.0)
        assert call.dial is not None and call.dial.agent_id == "1002"
        assert sim.actions.redirects_refused == []
        assert [where for ch, where in sim.pbx.redirects if ch == call.channel] == [
            "acd-connect,1001,1", "holding,s,1", "acd-connect,1002,1"]
    finally:
        await stack.ami.stop()
        await cancel_and_wait(task)
        await sim.close()


def test_check_config_warns_of_a_ring_timeout_that_races_the_dialplan(
        tmp_path: Path) -> None:
    racing = parse_config(SITE)
    (warning,) = config_warnings(racing)
    assert "ring_timeout_s" in warning and f"{DIALPLAN_RING_S:g}" in warning
    fine = parse_config(SITE.replace(b"ring_timeout_s = 10", b"ring_timeout_s = 15"))
    assert config_warnings(fine) == []


def test_no_shipped_config_races_the_dialplan() -> None:
    for path in sorted((REPO / "config").glob("*.toml")):
        assert config_warnings(load_config(path)) == [], path
