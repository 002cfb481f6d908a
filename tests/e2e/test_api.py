"""The supervisor and agent API: a real aiohttp server on port 0 over a real Router
driven with engine inputs (no AMI), tokens from a file written for each test."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
from structlog.testing import capture_logs

from acd.config import Config
from acd.config.load import parse_config
from acd.core import inputs as i
from acd.core.model import AgentState
from acd.errors import SecretError
from acd.http.tokens import HOW_TO_CONFIGURE, load_tokens, parse_tokens
from acd.logs import mask_number
from tests.support.apiroom import (
    AGENT_ARM01,
    AGENT_ARM02,
    CALLER_NAME,
    CALLER_NUM,
    READER,
    SITE,
    SUPERVISOR,
    SUPERVISOR_NUMBERS,
    TOKENS_TOML,
    Room,
    Served,
    serve_room,
)


@pytest.fixture
def config() -> Config:
    return parse_config(SITE, "api-site.toml")


@pytest.fixture
def tokens_file(tmp_path: Path) -> Path:
    path = tmp_path / "api-tokens.toml"
    path.write_text(TOKENS_TOML, encoding="utf-8")
    return path


@pytest.fixture
async def served(config: Config, tokens_file: Path) -> AsyncIterator[Served]:
    tokens = load_tokens(config, {"ACD_API_TOKENS_FILE": str(tokens_file)})
    async for s in serve_room(Room(config), tokens):
        yield s


# ---------------------------------------------------------------------- no token


async def test_health_and_metrics_need_no_token_and_the_api_needs_one(
        served: Served) -> None:
    client = served.client
    status, body = await client.request("GET", "/metrics")
    assert status == 200 and "acd_calls_offered_total" in body
    status, _ = await client.request("GET", "/healthz")
    assert status == 503  # answered without a token (503: no AMI link here)
    status, body = await client.get("queues")
    assert status == 401
    assert body["error"] == "unauthorized" and "Authorization: Bearer" in body["message"]
    status, body = await client.get("queues", "not-a-known-token-at-all")
    assert (status, body["message"]) == (401, "unknown token")
    status, body = await client.request("GET", "/api/v1/queues",
                                        body=None, token=None, raw=None)
    assert status == 401


async def test_without_tokens_every_api_route_says_how_to_configure_them(
        config: Config) -> None:
    async for s in serve_room(Room(config), None):
        for method, path in (("GET", "/api/v1/queues"), ("GET", "/api/v1/events"),
                             ("POST", "/api/v1/agents/arm01/pause"),
                             ("DELETE", "/api/v1/bascules/site")):
            status, body = await s.client.request(method, path, SUPERVISOR)
            assert status == 401, path
            assert body == {"error": "unauthorized", "message": HOW_TO_CONFIGURE}
        status, _ = await s.client.request("GET", "/metrics")
        assert status == 200


async def test_unknown_routes_and_methods_answer_json(served: Served) -> None:
    status, body = await served.client.get("nothing-here", SUPERVISOR)
    assert (status, body["error"]) == (404, "not_found")
    status, body = await served.client.request("DELETE", "/api/v1/queues", SUPERVISOR)
    assert (status, body["error"]) == (405, "method_not_allowed")


# ---------------------------------------------------------------------- reads


async def test_reads_for_every_role_with_caller_numbers_masked(served: Served) -> None:
    room, client = served.room, served.client
    for agent in ("arm01", "arm02"):
        room.router.submit(i.AgentPause(agent, "break"))
    call_id = room.call()
    room.now += 12
    for token in (READER, AGENT_ARM01, SUPERVISOR):
        status, body = await client.get("queues", token)
        assert status == 200
        arm = next(q for q in body["queues"] if q["name"] == "ARM_N1")
        assert arm["waiting"] == 1 and arm["oldest_wait_s"] == 12.0
        assert arm["estimated_wait_s"] is None  # nobody working: unbounded
        (waiting,) = arm["calls"]
        assert waiting["id"] == call_id and waiting["number"] == "15"
        assert waiting["wait_s"] == 12.0 and waiting["state"] == "waiting"
        assert waiting["caller"] == mask_number(CALLER_NUM) != CALLER_NUM
        assert waiting["caller_name"] is None
        assert CALLER_NUM not in json.dumps(body)

    status, body = await client.get(f"calls/{call_id}", SUPERVISOR_NUMBERS)
    assert status == 200
    assert body["call"]["caller"] == CALLER_NUM
    assert body["call"]["caller_name"] == CALLER_NAME
    status, body = await client.get("calls/nope", READER)
    assert (status, body["error"]) == (404, "not_found")

    status, body = await client.get("agents", READER)
    agents = {a["id"]: a for a in body["agents"]}
    assert agents["arm01"]["state"] == "paused" and agents["arm01"]["pause_reason"] == "break"
    assert agents["amu01"]["skills"] == {"AMU_N2": 1}
    assert agents["mg01"]["state"] == "logged_out"

    status, body = await client.get("partners", READER)
    assert [p["name"] for p in body["partners"]] == ["sas62", "sas80"]
    assert all(p["up"] for p in body["partners"])
    status, body = await client.get("bascules", READER)
    assert body == {"bascules": []}

    status, body = await client.get("audit", READER)
    assert (status, body["error"]) == (403, "forbidden")
    status, body = await client.get("audit", SUPERVISOR)
    assert (status, body) == (200, {"audit": []})


# ---------------------------------------------------------------------- agent writes


async def test_agent_state_writes_take_effect_in_the_engine(served: Served) -> None:
    client, agents = served.client, served.engine.agents
    status, body = await client.post("agents/arm01/pause", SUPERVISOR, {"reason": "meal"})
    assert status == 200
    assert body["agent"]["state"] == "paused" and body["agent"]["pause_reason"] == "meal"
    assert agents["arm01"].state is AgentState.PAUSED
    assert agents["arm01"].pause_reason == "meal"

    status, body = await client.post("agents/arm01/ready", AGENT_ARM01)
    assert (status, body["agent"]["state"]) == (200, "available")
    status, body = await client.post("agents/arm01/logout", AGENT_ARM01)
    assert (status, agents["arm01"].state) == (200, AgentState.LOGGED_OUT)
    status, body = await client.post("agents/arm01/logout", AGENT_ARM01)
    assert (status, body["error"]) == (409, "conflict")
    assert "already logged out" in body["message"]
    status, body = await client.post("agents/arm01/pause", AGENT_ARM01)
    assert status == 409 and "log in first" in body["message"]
    status, body = await client.post("agents/arm01/login", AGENT_ARM01, {})
    assert (status, agents["arm01"].state) == (200, AgentState.AVAILABLE)
    status, body = await client.post("agents/arm01/pause", AGENT_ARM01)  # body optional
    assert (status, agents["arm01"].pause_reason) == (200, "break")


async def test_ready_and_pause_on_a_logged_out_agent_answer_alike(served: Served) -> None:
    """Logging in is the agent's own act: neither ``ready`` nor ``pause`` logs a
    logged-out agent in; both answer 409 ``conflict``, say so, and change nothing."""
    client, agents = served.client, served.engine.agents
    assert agents["mg01"].state is AgentState.LOGGED_OUT
    answers = []
    for action, body in (("ready", None), ("pause", {"reason": "meal"})):
        status, answer = await client.post(f"agents/mg01/{action}", SUPERVISOR, body)
        answers.append((status, answer["error"]))
        assert "mg01 is logged out: log in first" in answer["message"]
        assert agents["mg01"].state is AgentState.LOGGED_OUT
    assert answers == [(409, "conflict"), (409, "conflict")]
    status, body = await client.get("audit", SUPERVISOR)
    assert [(e["path"], e["status"], e["result"]) for e in body["audit"]] == [
        ("/api/v1/agents/mg01/ready", 409, "conflict"),
        ("/api/v1/agents/mg01/pause", 409, "conflict")]
    status, body = await client.post("agents/mg01/login", SUPERVISOR)
    assert (status, body["agent"]["state"]) == (200, "available")


async def test_a_pause_during_a_call_applies_after_it(served: Served) -> None:
    room, client = served.room, served.client
    call_id = room.call()
    agent = room.answer(call_id)
    status, body = await client.post(f"agents/{agent}/pause", SUPERVISOR, {"reason": "debrief"})
    assert status == 200
    assert body["agent"]["state"] == "on_call" and body["agent"]["pending"] == "paused"
    room.hangup(call_id)
    assert served.engine.agents[agent].state is AgentState.PAUSED


async def test_roles_and_ownership_are_enforced(served: Served) -> None:
    client, agents = served.client, served.engine.agents
    status, body = await client.post("agents/arm02/pause", AGENT_ARM01)
    assert (status, body["error"]) == (403, "forbidden")
    assert "arm02" in body["message"]
    status, body = await client.post("agents/arm01/pause", READER)
    assert status == 403
    assert agents["arm01"].state is agents["arm02"].state is AgentState.AVAILABLE
    status, body = await client.request("PUT", "/api/v1/bascules/site", AGENT_ARM01,
                                        {"share": 1.0})
    assert status == 403
    status, body = await client.post("agents/ghost/pause", SUPERVISOR)
    assert (status, body["error"]) == (404, "not_found")


async def test_bad_bodies_get_a_clear_4xx(served: Served) -> None:
    client = served.client
    status, body = await client.post("agents/arm01/pause", SUPERVISOR, raw=b"{not json")
    assert (status, body["error"]) == (400, "bad_request")
    assert "malformed JSON" in body["message"]
    status, body = await client.post("agents/arm01/pause", SUPERVISOR, {"reason": 3})
    assert (status, body["error"]) == (422, "invalid")
    assert "reason" in body["message"]
    status, body = await client.post("agents/arm01/pause", SUPERVISOR, {"raison": "x"})
    assert status == 422 and "raison" in body["message"]
    status, body = await client.post("agents/arm01/login", SUPERVISOR, {"force": True})
    assert status == 422


# ---------------------------------------------------------------------- transfer


async def test_transfer_moves_the_call_to_the_target_queue(served: Served) -> None:
    room, client, engine = served.room, served.client, served.engine
    engine_call = room.call()
    agent = room.answer(engine_call)
    other = AGENT_ARM02 if agent == "arm01" else AGENT_ARM01
    mine = AGENT_ARM01 if agent == "arm01" else AGENT_ARM02

    status, body = await client.post(f"calls/{engine_call}/transfer", other,
                                     {"target": "AMU_N2"})
    assert (status, body["error"]) == (403, "forbidden")
    status, body = await client.post(f"calls/{engine_call}/transfer", mine, {"target": "XX"})
    assert (status, body["error"]) == (422, "invalid")
    assert "unknown filière 'XX'" in body["message"] and "AMU_N2" in body["message"]
    status, body = await client.post(f"calls/{engine_call}/transfer", mine, {})
    assert status == 422 and "target" in body["message"]
    status, body = await client.post(f"calls/{engine_call}/transfer", mine, raw=b"[")
    assert status == 400
    status, body = await client.post(f"calls/{engine_call}/transfer", mine,
                                     {"target": "ARM_N1"})
    assert status == 409 and "already in ARM_N1" in body["message"]
    status, body = await client.post("calls/u404/transfer", SUPERVISOR, {"target": "MG"})
    assert status == 404

    status, body = await client.post(f"calls/{engine_call}/transfer", mine,
                                     {"target": "AMU_N2"})
    assert status == 200
    assert (body["from_queue"], body["to_queue"]) == ("ARM_N1", "AMU_N2")
    call = engine.calls[engine_call]
    assert call.queue == "AMU_N2" and call.queues[-1] == "AMU_N2"
    assert call.agent == "amu01"  # offered at once to the free AMU
    assert body["call"]["queue"] == "AMU_N2" and body["call"]["agent"] == "amu01"
    assert body["call"]["caller"] == mask_number(CALLER_NUM)


async def test_transfer_to_an_unstaffed_queue_applies_the_fallback(served: Served) -> None:
    room, client, engine = served.room, served.client, served.engine
    call_id = room.call()
    agent = room.answer(call_id)
    status, body = await client.post(f"calls/{call_id}/transfer", SUPERVISOR,
                                     {"target": "MG"})  # mg01 is logged out
    assert status == 200 and body["to_queue"] == "MG"
    # the answer says where the call is now: back to the transferring agent
    assert body["call"]["queue"] == engine.calls[call_id].queue == "ARM_N1"
    assert body["call"]["agent"] == engine.calls[call_id].agent == agent
    assert body["call"]["state"] == "offered"


async def test_a_warm_transfer_by_the_api_keeps_the_call_with_its_agent(
        config: Config, tokens_file: Path) -> None:
    warm = msgspec.structs.replace(config, transfers=msgspec.structs.replace(
        config.transfers, modes={"ARM_N1>AMU_N2": "warm"}))
    tokens = load_tokens(warm, {"ACD_API_TOKENS_FILE": str(tokens_file)})
    async for served in serve_room(Room(warm), tokens):
        room, client, engine = served.room, served.client, served.engine
        call_id = room.call()
        agent = room.answer(call_id)
        status, body = await client.post(f"calls/{call_id}/transfer", SUPERVISOR,
                                         {"target": "AMU_N2"})
        assert status == 200, body
        # still with the first agent while amu01's phone rings
        assert body["call"]["queue"] == "ARM_N1" and body["call"]["agent"] == agent
        assert body["call"]["transfer"] == {"from_queue": "ARM_N1", "to_queue": "AMU_N2",
                                            "agent": agent, "mode": "warm",
                                            "ringing": "amu01"}
        assert engine.agents["amu01"].state is AgentState.RINGING
        status, body = await client.post(f"calls/{call_id}/transfer", SUPERVISOR,
                                         {"target": "MG"})
        assert status == 409 and "already being transferred" in body["message"]


# ---------------------------------------------------------------------- bascule


async def test_bascule_set_and_removed(served: Served) -> None:
    client, engine = served.client, served.engine
    status, body = await client.request("PUT", "/api/v1/bascules/site", SUPERVISOR,
                                        {"share": 1.0, "partner": "sas62",
                                         "reason": "panne téléphonie"})
    assert status == 200
    assert body["bascule"]["queue"] == "*" and body["bascule"]["by"] == "sup-martin"
    assert engine.bascules["*"].share == 1.0 and engine.bascules["*"].partner == "sas62"
    status, body = await client.request("PUT", "/api/v1/bascules/ARM_N1", SUPERVISOR,
                                        {"share": 0.3})
    assert status == 200 and engine.bascules["ARM_N1"].share == 0.3
    status, body = await client.get("bascules", READER)
    assert {b["queue"] for b in body["bascules"]} == {"*", "ARM_N1"}
    status, body = await client.get("queues", READER)
    by_name = {q["name"]: q for q in body["queues"]}
    assert by_name["AMU_N2"]["bascule"]["queue"] == "*"
    assert by_name["ARM_N1"]["bascule"]["share"] == 0.3

    status, body = await client.request("PUT", "/api/v1/bascules/site", SUPERVISOR,
                                        {"share": 1.5})
    assert status == 422 and "share" in body["message"]
    status, body = await client.request("PUT", "/api/v1/bascules/site", SUPERVISOR,
                                        {"partner": "sas99"})
    assert status == 422 and "unknown partner 'sas99'" in body["message"]
    status, body = await client.request("PUT", "/api/v1/bascules/NOPE", SUPERVISOR, {})
    assert (status, body["error"]) == (404, "not_found")
    status, body = await client.request("PUT", "/api/v1/bascules/site", READER, {})
    assert status == 403

    status, body = await client.request("DELETE", "/api/v1/bascules/site", SUPERVISOR)
    assert (status, body) == (200, {"queue": "*", "bascule": None})
    assert "*" not in engine.bascules
    status, body = await client.request("DELETE", "/api/v1/bascules/*", SUPERVISOR)
    assert status == 404 and "no bascule in force on the site" in body["message"]
    status, body = await client.request("DELETE", "/api/v1/bascules/ARM_N1", SUPERVISOR,
                                        {"reason": "retour à la normale"})
    assert status == 200 and engine.bascules == {}


async def test_a_standby_refuses_writes_and_says_where_to_send_them(
        config: Config, tokens_file: Path, redis_url: str, redis_namespace: str) -> None:
    """A standby's engine follows events without deciding: a write there would change
    nothing Asterisk sees. It answers 503 (audited); reads still work. Once elected,
    it takes writes."""
    from redis.asyncio import Redis

    from acd.store.leader import LeaderLock

    redis = Redis.from_url(redis_url)
    lock = LeaderLock(redis, redis_namespace, "node-b", 2.0)
    tokens = load_tokens(config, {"ACD_API_TOKENS_FILE": str(tokens_file)})
    try:
        async for served in serve_room(Room(config, lock=lock), tokens):
            service, client = served.room.service, served.client
            assert service.role == "standby"
            status, body = await client.request("PUT", "/api/v1/bascules/site", SUPERVISOR,
                                                {"share": 1.0})
            assert (status, body["error"]) == (503, "standby")
            assert "send writes to the leader" in body["message"]
            assert served.engine.bascules == {}
            status, body = await client.get("audit", SUPERVISOR)
            assert body["audit"][-1]["result"] == "standby"
            status, _ = await client.get("bascules", READER)
            assert status == 200
            assert service.parts.leadership.election is not None
            await service.parts.leadership.election.step()
            assert service.role == "leader"
            status, _ = await client.request("PUT", "/api/v1/bascules/site", SUPERVISOR,
                                             {"share": 1.0})
            assert status == 200
    finally:
        await lock.release()
        await redis.aclose()


# ---------------------------------------------------------------------- re-skill


async def test_reskilling_changes_the_next_offers_and_the_agent_metrics(
        served: Served) -> None:
    client, engine, room = served.client, served.engine, served.room
    path = "/api/v1/agents/arm01/skills"
    with capture_logs() as logs:
        status, body = await client.request("PUT", path + "?reason=rotation%20N2", SUPERVISOR,
                                            {"AMU_N2": 1})
    assert status == 200, body
    assert body["agent"]["skills"] == {"AMU_N2": 1}
    assert body["old_skills"] == {"ARM_N1": 1}
    assert engine.agents["arm01"].skills == {"AMU_N2": 1}
    (logged,) = [e for e in logs if e["event"] == "agent_reskilled"]
    assert (logged["by"], logged["reason"]) == ("sup-martin", "rotation N2")
    (write,) = [e for e in logs if e["event"] == "api_write"]
    assert write["body"] == {"AMU_N2": 1} and write["status"] == 200
    _, metrics = await client.request("GET", "/metrics")
    assert 'acd_agents{skill="AMU_N2",state="available"} 2.0' in metrics
    assert 'acd_agents{skill="ARM_N1",state="available"} 1.0' in metrics

    # the next 15 calls: arm02 takes the first; arm01 no longer holds ARM_N1, so the
    # second call waits
    first, second = room.call(), room.call()
    assert engine.calls[first].agent == "arm02"
    assert engine.calls[second].agent is None
    status, body = await client.request("PUT", path, SUPERVISOR, {"ARM_N1": 1})
    assert status == 200
    assert engine.calls[second].agent == "arm01"  # offered at once under the new skills
    _, metrics = await client.request("GET", "/metrics")
    assert 'acd_agents{skill="AMU_N2",state="available"} 1.0' in metrics


async def test_reskilling_is_for_supervisors_and_checked(served: Served) -> None:
    client, engine = served.client, served.engine
    path = "/api/v1/agents/arm01/skills"
    for token in (AGENT_ARM01, READER):
        status, body = await client.request("PUT", path, token, {"ARM_N1": 1})
        assert status == 403, body
    status, body = await client.request("PUT", path, None, {"ARM_N1": 1})
    assert status == 401
    status, body = await client.request("PUT", path, SUPERVISOR, {"PSY": 1})
    assert status == 422 and "unknown skill PSY" in body["message"]
    status, body = await client.request("PUT", path, SUPERVISOR, {})
    assert status == 422 and "at least one skill" in body["message"]
    status, body = await client.request("PUT", path, SUPERVISOR, {"ARM_N1": 12})
    assert status == 422
    status, body = await client.request("PUT", path, SUPERVISOR, {"ARM_N1": 3})
    assert status == 422 and "level 3 of ARM_N1 never gets calls" in body["message"]
    status, body = await client.request("PUT", path, SUPERVISOR, raw=b"[1, 2]")
    assert status in (400, 422)
    status, body = await client.request("PUT", "/api/v1/agents/ghost/skills", SUPERVISOR,
                                        {"ARM_N1": 1})
    assert status == 404
    assert engine.agents["arm01"].skills == {"ARM_N1": 1}


# ---------------------------------------------------------------------- audit


async def test_every_write_is_audited_without_the_token(served: Served) -> None:
    client = served.client
    with capture_logs() as logs:
        await client.post("agents/arm01/pause", SUPERVISOR, {"reason": "meal"})
        await client.post("agents/arm02/pause", AGENT_ARM01, {"reason": "x"})
        await client.post("agents/arm01/pause", "not-a-known-token-at-all")
    writes = [entry for entry in logs if entry["event"] == "api_write"]
    assert [(w["who"], w["role"], w["status"], w["result"]) for w in writes] == [
        ("sup-martin", "supervisor", 200, "ok"), ("desk arm01", "agent", 403, "forbidden")]
    assert writes[0]["path"] == "/api/v1/agents/arm01/pause"
    assert writes[0]["body"] == {"reason": "meal"}
    # the log lines' choice: ISO 8601 in UTC with Z, milliseconds
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", writes[0]["at"])
    assert any(entry["event"] == "api_unknown_token" for entry in logs)
    assert not any(token in json.dumps(logs, default=str)
                   for token in (SUPERVISOR, AGENT_ARM01, "not-a-known-token-at-all"))
    _, body = await client.get("audit", SUPERVISOR)
    assert [(e["who"], e["method"], e["status"]) for e in body["audit"]] == [
        ("sup-martin", "POST", 200), ("desk arm01", "POST", 403)]
    assert len(served.server.api.audit) == 2


# ---------------------------------------------------------------------- tokens


def test_tokens_are_kept_as_digests_and_checked(config: Config, tmp_path: Path) -> None:
    tokens = parse_tokens(TOKENS_TOML.encode(), "t.toml", agents={"arm01", "arm02"})
    assert len(tokens) == 5
    assert tokens.roles() == {"supervisor": 2, "reader": 1, "agent": 2}
    sup = tokens.check(SUPERVISOR_NUMBERS)
    assert sup is not None and sup.name == "sup-numbers" and sup.sees_numbers
    agent = tokens.check(AGENT_ARM01)
    assert agent is not None and agent.agent == "arm01" and not agent.sees_numbers
    assert tokens.check(SUPERVISOR[:-1]) is None
    assert SUPERVISOR.encode() not in repr(vars(tokens)).encode()

    as_json = json.dumps({SUPERVISOR: {"role": "reader", "name": "json"}})
    assert parse_tokens(as_json.encode()).check(SUPERVISOR) is not None

    credentials = tmp_path / "creds"
    credentials.mkdir()
    (credentials / "api-tokens").write_text(TOKENS_TOML, encoding="utf-8")
    assert len(load_tokens(config, {"CREDENTIALS_DIRECTORY": str(credentials)})) == 5
    assert len(load_tokens(config, {})) == 0
    with pytest.raises(SecretError, match="cannot read API tokens file"):
        load_tokens(config, {"ACD_API_TOKENS_FILE": str(tmp_path / "missing")})


@pytest.mark.parametrize(("entry", "problem"), [
    ('["short"]\nrole = "reader"\nname = "x"', "at least 16 characters"),
    ('["sha256:abc"]\nrole = "reader"\nname = "x"', "64 hex digits"),
    (f'["{SUPERVISOR}"]\nrole = "agent"\nname = "x"', "needs agent"),
    (f'["{SUPERVISOR}"]\nrole = "agent"\nname = "x"\nagent = "zz"', "unknown agent 'zz'"),
    (f'["{SUPERVISOR}"]\nrole = "reader"\nname = "x"\ncaller_numbers = true',
     "for supervisors only"),
    (f'["{SUPERVISOR}"]\nrole = "admin"\nname = "x"', "Invalid enum value 'admin'"),
    (f'["{SUPERVISOR}"]\nrole = "reader"', "name"),
    ("not = [toml", "not a TOML or JSON"),
])
def test_bad_token_files_are_refused_without_echoing_tokens(entry: str, problem: str) -> None:
    with pytest.raises(SecretError, match=problem) as info:
        parse_tokens(entry.encode(), "t.toml", agents={"arm01"})
    assert SUPERVISOR not in str(info.value)


async def test_a_deeply_nested_body_is_invalid_and_audited(served: Served) -> None:
    """20,000 levels (40 KB, under the body limit): a JSON ``invalid`` answer and an
    audit entry, for an allowed and for a forbidden attempt alike."""
    deep = b"[" * 20_000 + b"]" * 20_000
    client = served.client
    with capture_logs() as logs:
        status, body = await client.post("agents/arm01/pause", SUPERVISOR, raw=deep)
        assert (status, body["error"]) == (422, "invalid")
        assert "nested deeper than 32 levels" in body["message"]
        status, body = await client.post("agents/arm02/pause", AGENT_ARM01,
                                         raw=b'{"reason": ' + deep + b"}")
        assert (status, body["error"]) == (422, "invalid")
    writes = [e for e in logs if e["event"] == "api_write"]
    assert [(w["who"], w["status"], w["result"]) for w in writes] == [
        ("sup-martin", 422, "invalid"), ("desk arm01", 422, "invalid")]
    assert writes[0]["body"] == f"<JSON nested deeper than 32 levels, {len(deep)} bytes>"
    _, audit = await client.get("audit", SUPERVISOR)
    assert [e["status"] for e in audit["audit"]] == [422, 422]
    assert served.engine.agents["arm01"].state.value != "paused"


async def test_numbers_typed_in_free_text_are_masked_in_logs_and_audit(
        served: Served) -> None:
    from acd.logs import mask_personal_data

    client = served.client
    with capture_logs() as logs:
        status, _ = await client.post("agents/arm01/pause", SUPERVISOR,
                                      {"reason": "rappel 06 12 34 56 78"})
        assert status == 200
    (write,) = [e for e in logs if e["event"] == "api_write"]
    assert write["body"] == {"reason": "rappel 06******78"}
    _, audit = await client.get("audit", SUPERVISOR)
    assert audit["audit"][0]["body"] == {"reason": "rappel 06******78"}
    # what reaches journald: every line goes through the masking processor
    line = mask_personal_data(None, "info", {
        "event": "agent_state", "reason": "rappel +33 6 12 34 56 78",
        "detail": "caller 0612345678 asked", "body": {"reason": ["0612345678"]}})
    assert "12 34 56" not in str(line) and "0612345678" not in str(line)
    assert line["reason"] == "rappel 33*******78"
