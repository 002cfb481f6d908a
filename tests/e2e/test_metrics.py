"""Metrics: the router's counters follow the DGOS definitions, its gauges read the
engine at scrape time, ``/metrics`` speaks Prometheus text without a token, and no
caller's number ever reaches a label.

Calls are driven through a real :class:`~acd.service.router.Router` with Asterisk-shaped events
and an injected clock; figures are read back from a real scrape of ``/metrics``."""

from __future__ import annotations

import asyncio
import math
import socket
from collections.abc import AsyncIterator
from types import SimpleNamespace

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from acd.aiotasks import cancel_and_wait
from acd.ami import events as ev
from acd.ami.drops import DropCounter
from acd.config import AmiConfig, Config
from acd.config.load import parse_config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.constants import BUSY_HOLD_S, DEFAULT_HANDLE_S
from acd.http import start_http
from acd.metrics import RouterMetrics, watch_loop_lag
from acd.service.main import serve
from acd.service.service import Service
from acd.testing import build_stack
from acd.tools.summary import summarize
from tests.support.metricsroom import (
    CALLER_NUM,
    SITE,
    Room,
    Sample,
    full_scrape,
    parse,
    scrape,
    value,
)
from tests.support.paths import REPO
from tests.support.sites import with_backups


@pytest.fixture
def config() -> Config:
    return parse_config(SITE, "metrics-site.toml")


@pytest.fixture
async def room(config: Config) -> Room:
    return Room(config)


async def test_answered_abandoned_and_qs_follow_the_dgos_definitions(room: Room) -> None:
    room.answered_call(12)
    room.answered_call(45)
    room.answered_call(30)            # exactly 30 s: not "less than 30 s"
    room.answered_call(75, "116117")
    room.abandoned_call(8)            # short abandon (under 15 s)
    room.abandoned_call(40)
    room.abandoned_call(15)           # exactly 15 s: not under the threshold

    m = scrape(room)
    sas15 = {"queue": "ARM_N1", "number": "15", "period": "sas"}
    sas116 = {"queue": "ARM_N1", "number": "116117", "period": "sas"}
    assert value(m, "acd_calls_offered_total", **sas15) == 6
    assert value(m, "acd_calls_offered_total", **sas116) == 1
    assert value(m, "acd_calls_answered_total", **sas15) == 3
    assert value(m, "acd_calls_answered_total", **sas116) == 1
    assert value(m, "acd_calls_answered_within_30s_total", **sas15) == 1
    assert value(m, "acd_calls_answered_within_30s_total", **sas116) == 0
    assert value(m, "acd_calls_answered_within_60s_total", **sas15) == 3
    assert value(m, "acd_calls_answered_within_60s_total", **sas116) == 0
    assert value(m, "acd_calls_abandoned_total", **sas15) == 3
    assert value(m, "acd_calls_short_abandoned_total", **sas15) == 1
    # QS 30 s at N1 = 1 / 4 and QS 60 s = 3 / 4: abandons are not in the denominator
    assert value(m, "acd_calls_answered_within_30s_total", queue="ARM_N1") == 1
    assert value(m, "acd_calls_answered_total", queue="ARM_N1") == 4
    # answer rate = answered / (offered - short abandoned) = 4 / (7 - 1)
    assert value(m, "acd_calls_offered_total", queue="ARM_N1") == 7
    # the histogram has the same first-pick-up waits (its 30 s bucket includes 30.0 s)
    delay = {"queue": "ARM_N1"}
    assert value(m, "acd_answer_delay_seconds_count", **delay) == 4
    assert value(m, "acd_answer_delay_seconds_sum", **delay) == 12 + 45 + 30 + 75
    buckets = {le: value(m, "acd_answer_delay_seconds_bucket", queue="ARM_N1", le=le)
               for le in ("10.0", "20.0", "30.0", "60.0", "120.0")}
    assert buckets == {"10.0": 0, "20.0": 1, "30.0": 2, "60.0": 3, "120.0": 4}


async def test_a_pick_up_after_a_transfer_is_not_counted_again(room: Room) -> None:
    metrics = room.metrics
    now = room.now
    metrics.on_fact(f.CallQueued(at=now, call="c1", queue="ARM_N1", number="15", priority=5,
                                 new=True))
    metrics.on_fact(f.CallAnswered(at=now + 20, call="c1", queue="ARM_N1", agent="arm01",
                                   wait_s=20.0, first=True, number="15", period="pdsa",
                                   first_queue="ARM_N1"))
    metrics.on_fact(f.CallTransferred(at=now + 60, call="c1", from_queue="ARM_N1",
                                      to_queue="AMU_N2", agent="arm01", result="requested"))
    metrics.on_fact(f.CallQueued(at=now + 60, call="c1", queue="AMU_N2", number="15",
                                 priority=5, new=False))
    metrics.on_fact(f.CallAnswered(at=now + 90, call="c1", queue="AMU_N2", agent="amu01",
                                   wait_s=30.0, first=False, number="15", period="pdsa",
                                   first_queue="ARM_N1"))
    metrics.on_fact(f.CallTransferred(at=now + 90, call="c1", from_queue="ARM_N1",
                                      to_queue="AMU_N2", agent="arm01", result="connected"))

    m = scrape(room)
    assert value(m, "acd_calls_answered_total", queue="ARM_N1") == 1
    assert value(m, "acd_calls_answered_within_30s_total", queue="ARM_N1") == 1
    assert value(m, "acd_calls_answered_total", queue="AMU_N2") == 0
    assert value(m, "acd_calls_offered_total") == 1
    assert value(m, "acd_answer_delay_seconds_count") == 1
    for result in ("requested", "connected"):
        assert value(m, "acd_transfers_total", from_queue="ARM_N1", to_queue="AMU_N2",
                     result=result) == 1


async def test_the_period_of_the_call_labels_its_counters(room: Room) -> None:
    channel = room.call("116117")
    call = next(iter(room.router.engine.calls.values()))
    assert call.channel == channel
    room.advance(5)
    room.answer(channel)
    m = scrape(room)
    # offered takes the period the engine gave the call; answered the CallAnswered's
    labels = {"queue": "ARM_N1", "number": "116117", "period": call.period}
    assert value(m, "acd_calls_offered_total", **labels) == 1
    assert value(m, "acd_calls_answered_total", **labels) == 1
    for period in ("sas", "pdsa"):  # every (entry queue, number, period) from the start
        assert ("acd_calls_answered_total", (("number", "15"), ("period", period),
                                              ("queue", "ARM_N1"))) in m


async def test_offered_takes_the_period_its_fact_carries(room: Room) -> None:
    # a call the engine does not hold: its CallQueued alone says where to count it
    room.metrics.on_fact(f.CallQueued(at=room.now, call="elsewhere", queue="ARM_N1",
                                      number="15", priority=5, new=True, period="pdsa"))
    m = scrape(room)
    assert value(m, "acd_calls_offered_total", queue="ARM_N1", number="15",
                 period="pdsa") == 1
    assert value(m, "acd_calls_offered_total", queue="ARM_N1", number="15",
                 period="sas") == 0


async def test_no_caller_number_or_name_ever_reaches_the_metrics(room: Room) -> None:
    room.answered_call(5)
    unplanned = room.call("0320123456")  # a number not in the plan
    room.advance(3)
    room.hangup(unplanned)
    text = room.metrics.render().decode()
    assert CALLER_NUM not in text
    assert "0320123456" not in text
    assert "Hélène" not in text and "Dupr" not in text
    m = parse(text)
    assert value(m, "acd_calls_offered_total", number="other") == 1
    assert value(m, "acd_calls_short_abandoned_total", number="other") == 1
    numbers = {dict(labels).get("number") for (_, labels) in m} - {None}
    assert numbers == {"15", "116117", "other"}


async def test_queue_and_agent_gauges_are_read_from_the_engine_at_scrape(config: Config
                                                                        ) -> None:
    room = Room(with_backups(config, "fixed"))  # amu01 stays free while the calls wait
    room.answered_call(5, talk_s=60)         # one handled leg: 60 s talk + 5 s wrap-up
    for agent in ("arm01", "arm02"):
        room.submit(i.AgentPause(agent, "break"))
    first = room.call()
    room.advance(4)
    room.call()
    room.advance(6)

    m = scrape(room)
    assert value(m, "acd_queue_waiting_calls", queue="ARM_N1") == 2
    assert value(m, "acd_queue_oldest_wait_seconds", queue="ARM_N1") == 10
    # no working level-1 agent: amu01 (ARM_N1 level 2, available) is the staff
    assert value(m, "acd_queue_estimated_wait_seconds", queue="ARM_N1") == 2 * 65 / 1
    assert value(m, "acd_queue_waiting_calls", queue="AMU_N2") == 0
    assert value(m, "acd_queue_estimated_wait_seconds", queue="AMU_N2") == 0
    # every skill × state, zeros included
    agents = {dict(ls)["skill"] + "/" + dict(ls)["state"]: v
              for (n, ls), v in m.items() if n == "acd_agents"}
    skills = ("ARM_N1", "AMU_N2", "OSNP", "MG")
    states = ("logged_out", "available", "ringing", "on_call", "wrap_up", "paused")
    assert set(agents) == {f"{s}/{st}" for s in skills for st in states}
    assert agents["ARM_N1/paused"] == 2 and agents["ARM_N1/available"] == 1
    assert agents["AMU_N2/available"] == 1 and agents["MG/logged_out"] == 1
    assert sum(agents.values()) == 5   # amu01 counts in both of its skills
    # staffed now: N1 and AMU always, MG (mg01 holds it), not OSNP (no seat)
    assert {dict(ls)["skill"]: v for (n, ls), v in m.items() if n == "acd_skill_open"} == {
        "ARM_N1": 1, "AMU_N2": 1, "OSNP": 0, "MG": 1}
    assert value(m, "acd_calls_active") == 2

    room.submit(i.AgentPause("amu01", "break"))
    assert math.isinf(value(scrape(room), "acd_queue_estimated_wait_seconds", queue="ARM_N1"))
    room.submit(i.AgentReady("arm01"))     # takes the first call
    room.answer(first)
    m = scrape(room)
    assert value(m, "acd_queue_waiting_calls", queue="ARM_N1") == 1
    assert value(m, "acd_queue_oldest_wait_seconds", queue="ARM_N1") == 6
    assert value(m, "acd_queue_estimated_wait_seconds", queue="ARM_N1") == 65


async def test_estimate_uses_a_default_handling_time_before_any_history(room: Room) -> None:
    for agent in ("arm01", "amu01"):
        room.submit(i.AgentPause(agent, "break"))
    room.call()
    room.call()
    room.call()  # arm02 rings for the first; two wait for arm02 alone
    m = scrape(room)
    assert value(m, "acd_queue_waiting_calls", queue="ARM_N1") == 2
    assert value(m, "acd_queue_estimated_wait_seconds", queue="ARM_N1") == \
        2 * DEFAULT_HANDLE_S / 1


async def test_partner_and_bascule_gauges(room: Room) -> None:
    m = scrape(room)
    assert value(m, "acd_partner_up", partner="sas62") == 1
    assert value(m, "acd_bascule_active", queue="ARM_N1") == 0
    # the supervisor switches the front office wholly to sas62; its trunk is unreachable
    room.submit(i.BasculeRequest("ARM_N1", 1.0, partner="sas62", by="sup01",
                                 reason="surge"))
    channel = room.call()
    room.submit(ev.UserEvent(channel=channel, name="AcdOverflowEnd",
                             headers={"Partner": "sas62", "DialStatus": "CHANUNAVAIL"}))
    room.hangup(channel)  # the caller gives up: nothing is retried
    room.advance(299)
    m = scrape(room)
    assert value(m, "acd_partner_up", partner="sas62") == 0
    assert value(m, "acd_partner_up", partner="sas80") == 1
    assert value(m, "acd_overflow_total", queue="ARM_N1", partner="sas62",
                 result="unavailable") == 1
    assert value(m, "acd_bascule_active", queue="ARM_N1") == 1
    assert value(m, "acd_bascule_share", queue="ARM_N1") == 1.0
    room.advance(2)  # sas62's down_for_s (300 s) is over
    assert value(scrape(room), "acd_partner_up", partner="sas62") == 1

    room.submit(i.BasculeRequest("ARM_N1", 0.0, by="sup01", reason="back"))
    room.submit(i.BasculeRequest("MG", 0.3, partner="sas62", by="sup01", reason="surge"))
    m = scrape(room)
    assert value(m, "acd_bascule_active", queue="MG") == 1
    assert value(m, "acd_bascule_share", queue="MG") == 0.3
    assert value(m, "acd_bascule_active", queue="ARM_N1") == 0
    room.submit(i.BasculeRequest("*", 1.0, partner="sas62", by="sup01", reason="breakdown"))
    m = scrape(room)
    assert all(value(m, "acd_bascule_active", queue=q) == 1
               for q in ("ARM_N1", "AMU_N2", "OSNP", "MG"))
    assert ("acd_bascule_active", (("queue", "*"),)) not in m
    for queue in ("*", "MG"):
        room.submit(i.BasculeRequest(queue, 0.0, by="sup01", reason="back to normal"))
    assert value(scrape(room), "acd_bascule_active") == 0


async def test_health_counters(room: Room) -> None:
    metrics = room.metrics
    m = scrape(room)
    assert value(m, "acd_routing_decision_seconds_count") == room.inputs
    assert value(m, "acd_ami_connected") == 0
    assert value(m, "acd_ami_events_total") == 0

    # a stand-in for the AMI connection: each session's protocol counts its own events
    old = SimpleNamespace(events_received=5)
    ami = SimpleNamespace(connected=True, reconnects=0, protocol=old, drops=DropCounter())
    room.router.outbox.connect(ami)  # type: ignore[arg-type]
    m = scrape(room)
    assert value(m, "acd_ami_connected") == 1
    assert value(m, "acd_ami_events_total") == 5
    old.events_received = 7
    ami.protocol = SimpleNamespace(events_received=3)
    ami.reconnects = 1
    m = scrape(room)
    assert value(m, "acd_ami_events_total") == 7 + 3
    assert value(m, "acd_ami_reconnects_total") == 1
    room.submit(i.LinkDown("test"))
    assert value(scrape(room), "acd_ami_connected") == 0

    room.submit(i.ChannelsSnapshot([], taken_at=room.now))
    room.submit(ev.Hangup(channel="PJSIP/nobody-00000001"))
    metrics.on_fact(f.StateRepaired(at=room.now, kind="call_gone", subject="u9", detail="x"))
    metrics.on_fact(f.InputIgnored(at=room.now, input="UserEvent", detail="x"))
    metrics.loop_lag(0.25)
    metrics.loop_lag(0.01)
    m = scrape(room)
    assert value(m, "acd_state_repairs_total", kind="call_gone") == 1
    assert value(m, "acd_inputs_ignored_total") == 1
    assert value(m, "acd_event_loop_lag_seconds") == 0.25
    assert value(m, "acd_routing_decision_seconds_count") == room.inputs


async def test_a_busy_phone_is_a_busy_offer_and_pauses_nobody(room: Room) -> None:
    """Live t3-23: a SIP phone answering 486 Busy Here was counted a missed offer and
    paused "no answer" after two. Busy offers have their own counter."""
    channel = room.call()
    busy = 0
    while busy < 4:
        call = next(c for c in room.router.engine.calls.values() if c.channel == channel)
        if call.agent is None:  # every phone held after its busy answer
            room.advance(BUSY_HOLD_S)
            room.submit(i.Tick())
            continue
        leg = f"{room.router.engine.agents[call.agent].device}-{busy:08x}"
        room.submit(ev.DialBegin(channel=channel, dest_channel=leg))
        room.submit(ev.DialEnd(channel=channel, dest_channel=leg, dial_status="BUSY"))
        busy += 1
    m = scrape(room)
    assert value(m, "acd_offers_busy_total", queue="ARM_N1", kind="offer") == 4
    assert value(m, "acd_offers_busy_total", kind="warm") == 0
    assert value(m, "acd_agents", skill="ARM_N1", state="paused") == 0


async def test_loop_lag_probe_reports_measurements(room: Room) -> None:
    task = asyncio.create_task(watch_loop_lag(room.metrics, interval=0.001))
    async with asyncio.timeout(5):
        while len(room.metrics.loop_lags) < 3:
            await asyncio.sleep(0.005)
    await cancel_and_wait(task)
    assert value(scrape(room), "acd_event_loop_lag_seconds") == max(room.metrics.loop_lags)
    assert min(room.metrics.loop_lags) >= 0


async def test_short_abandon_threshold_is_a_setting() -> None:
    config = parse_config(SITE.replace(b"ring_timeout_s = 300",
                                       b"ring_timeout_s = 300\nshort_abandon_s = 5"))
    assert config.routing.short_abandon_s == 5
    assert parse_config(SITE).routing.short_abandon_s == 15
    room = Room(config)
    room.abandoned_call(4)
    room.abandoned_call(8)
    assert value(scrape(room), "acd_calls_short_abandoned_total") == 1


@pytest.fixture
async def http_room(room: Room) -> AsyncIterator[tuple[Room, str]]:
    server = await start_http(room.service, "127.0.0.1", 0, metrics=room.metrics)
    yield room, f"http://127.0.0.1:{server.port}"
    await server.close()


async def test_metrics_route_needs_no_token_and_speaks_prometheus_text(
        http_room: tuple[Room, str]) -> None:
    room, base = http_room
    room.answered_call(12)
    async with aiohttp.ClientSession() as session, session.get(base + "/metrics") as response:
        assert "Authorization" not in response.request_info.headers
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await response.text()
    assert value(parse(text), "acd_calls_answered_total", queue="ARM_N1") == 1
    assert CALLER_NUM not in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_serve_exports_metrics_with_the_loop_lag_probe(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``acd run`` wiring: the listener, the decision timer and the lag probe."""
    monkeypatch.setenv("ACD_AMI_SECRET", "unused")
    http_port, dead_ami_port = _free_port(), _free_port()
    config = parse_config(SITE + f"""
[ami]
port = {dead_ami_port}
reconnect_initial_s = 0.05
reconnect_max_s = 0.1

[http]
port = {http_port}
""".encode())
    stop = asyncio.Event()
    routers: list[Service] = []
    task = asyncio.create_task(serve(config, stop, ready=routers.append))
    try:
        async with asyncio.timeout(10), aiohttp.ClientSession() as session:
            while not routers:
                await asyncio.sleep(0.01)
            routers[0].submit(i.AgentPause("arm01", "break"))
            while True:  # until the lag probe has measured once (every 0.5 s)
                async with session.get(f"http://127.0.0.1:{http_port}/metrics") as resp:
                    assert resp.status == 200
                    m = parse(await resp.text())
                if ("acd_event_loop_lag_seconds", ()) in m and value(
                        m, "acd_ami_reconnects_total") >= 1:
                    break
                await asyncio.sleep(0.1)
    finally:
        stop.set()
        await task
    assert value(m, "acd_ami_connected") == 0
    assert value(m, "acd_agents", skill="ARM_N1", state="paused") == 1
    assert value(m, "acd_routing_decision_seconds_count") >= 1


async def test_counters_agree_with_the_call_records_through_the_simulator() -> None:
    """The same calls, counted live by the metrics and afterwards from the router's
    call records (what the summary and the report read): the same QS 30 s."""
    from acd.sim import FixedBehaviour, OfferOutcome, start_sim

    config = parse_config(SITE.replace(b"ring_timeout_s = 300", b"ring_timeout_s = 15"))
    behaviour = FixedBehaviour(OfferOutcome(answer_after_s=2.0, talk_s=30.0, ender="caller"))
    sim = await start_sim(config, "127.0.0.1", 0, seed=7, speed=20.0, secret="s",
                          behaviour=behaviour, auth_failure_delay_s=0.05)
    stack = build_stack(config, ami=AmiConfig(port=sim.port, reconnect_initial_s=0.05),
                        secret="s", speed=20.0, metrics=True)
    records, metrics = stack.records, stack.metrics
    assert metrics is not None
    try:
        await stack.start()
        placed = [sim.pbx.place_call("15" if n % 3 else "116117", f"Caller {n}",
                                     f"06000000{n:02d}", patience_s=25 if n % 4 else 3)
                  for n in range(12)]
        async with asyncio.timeout(30):
            while len(records) < len(placed):
                await asyncio.sleep(0.02)
    finally:
        await stack.stop()
        await sim.close()
    summary = summarize(records, config)
    m = scrape_metrics(metrics)
    assert value(m, "acd_calls_offered_total") == summary.counts.offered == 12
    assert value(m, "acd_calls_answered_total") == summary.counts.answered
    assert value(m, "acd_calls_abandoned_total") == summary.counts.abandoned
    assert summary.counts.abandoned > 0 and summary.counts.answered > 0
    assert value(m, "acd_calls_answered_within_30s_total", queue="ARM_N1") == \
        summary.counts.qs30_within
    assert value(m, "acd_calls_answered_total", queue="ARM_N1") == summary.counts.qs_answered
    assert not any("06000000" in str(labels) for (_, labels) in m)


def scrape_metrics(metrics: RouterMetrics) -> dict[Sample, float]:
    return parse(metrics.render().decode())


def test_metrics_module_needs_no_global_registry(config: Config) -> None:
    """Two routers in one process: two registries, no clash."""
    first = RouterMetrics(build_stack(config, clock=lambda: 0.0).service)
    second = RouterMetrics(build_stack(config, clock=lambda: 0.0).service)
    assert first.registry is not second.registry
    assert b"acd_calls_offered_total" in first.render()


def _readme() -> str:
    return (REPO / "deploy" / "README.md").read_text(
        encoding="utf-8")


#: label names of the metrics contract (ARCHITECTURE.md), plus the ones added since,
#: each documented in deploy/README.md: period (sas|pdsa), kind (state repairs, input
#: errors), reason (dropped AMI frames, HTTP connections closed), task (restarts), and
#: the histograms' own le
CONTRACT_LABELS = {"queue", "skill", "state", "partner", "number", "result", "from_queue",
                   "to_queue", "period", "kind", "reason", "task", "le"}


async def test_names_and_labels_keep_the_contract() -> None:
    text = full_scrape()
    samples = parse(text)
    assert all(name.startswith("acd_") for name, _ in samples)
    labels = {label for _, pairs in samples for label, _ in pairs}
    assert labels <= CONTRACT_LABELS
    # without [redis] the router exports no store metrics (deploy/README.md)
    assert not any(name.startswith(("acd_redis", "acd_journal")) for name, _ in samples)
    readme = _readme()
    families = {family.name + ("_total" if family.type == "counter" else "")
                for family in text_string_to_metric_families(text)
                if not family.name.endswith("_created")}  # prometheus_client's own
    missing = sorted(name for name in families if f"`{name}`" not in readme)
    assert not missing, f"deploy/README.md does not document {missing}"
