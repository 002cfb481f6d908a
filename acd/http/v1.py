"""The supervisor and agent API, ``/api/v1/``: JSON in and out, one token per caller.

Routes (role needed: R reader, A agent, S supervisor; an agent acts only on the agent
its token names, and transfers only the call it is on):

=======  ==============================  =====  =========================================
GET      /api/v1/queues                  RAS    waiting calls per queue, waits, bascule
GET      /api/v1/agents                  RAS    agents: state, pause reason, skills, call
GET      /api/v1/partners                RAS    partner SAS, whether each may be tried
GET      /api/v1/bascules                RAS    bascules in force ("*": the whole site)
GET      /api/v1/calls/{id}              RAS    one live call
GET      /api/v1/events                  RAS    the live event stream (SSE, :mod:`acd.http.cti`)
GET      /api/v1/audit                   S      the last 1,000 writes
POST     /api/v1/agents/{id}/login       AS
POST     /api/v1/agents/{id}/logout      AS
POST     /api/v1/agents/{id}/pause       AS     ``{"reason": "break"}`` (body optional)
POST     /api/v1/agents/{id}/ready       AS
PUT      /api/v1/agents/{id}/skills      S      ``{"ARM_N1": 2, "AMU_N2": 1}`` (the whole set;
                                                ``?reason=`` optional)
POST     /api/v1/calls/{id}/transfer     AS     ``{"target": "MG"}``
PUT      /api/v1/bascules/{queue}        S      ``{"share": 1.0, "partner": "sas62",
                                                "reason": "…"}``; queue ``site`` or ``*``:
                                                the whole site
DELETE   /api/v1/bascules/{queue}        S      back to local handling
=======  ==============================  =====  =========================================

Writes are engine inputs given to :meth:`~acd.core.ports.ApiHost.submit`; the answer is read
back from the engine afterwards (the agent's new state, where the call is now). An
input the engine ignored, or one that cannot apply (pausing, or making ready, a
logged-out agent: logging in is the agent's own act), answers 409 with the reason.
Errors are ``{"error": code, "message": text}``: 400 bad_request (malformed JSON), 401
unauthorized, 403 forbidden, 404 not_found, 409 conflict, 422 invalid (well-formed but
wrong: unknown target, share out of range), 503 unavailable (the server is stopping).

Re-skilling (``PUT agents/{id}/skills``) replaces the agent's skills and levels from the
next offer on (a call ringing or talking is not moved): an empty set, an unknown skill,
a level outside 1–9 or one the skill's expansion never reaches answers 422 (the checks
of :func:`acd.core.reskill.reskill_problem`, the engine's own). The change is an
``agent_skills`` event on the stream; the config file is not rewritten (a restart goes
back to ``agents[].skills``).

Every write, allowed or not, once its token is known, is audited: one ``api_write`` log
line (who, role, when, method, path, body, status, result), an entry in
:attr:`Api.audit` (the last 1,000, served by ``GET /api/v1/audit``) and, with Redis
configured, an entry of the audit stream (:mod:`acd.store`, kept
``records_retention_days``).

Callers' numbers (and names) are personal health data: they appear in full only for a
supervisor token with ``caller_numbers = true``; every other token sees numbers masked
(``06******78``) and no name.

A request without ``Authorization`` may carry instead the cookie of a console session
(:mod:`acd.http.sessions`): it stands for the token typed into the console; its writes
must also carry the session's ``X-CSRF-Token`` (403 otherwise, audited).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from acd.core import facts as f
from acd.core import inputs as i
from acd.core.constants import WORKING
from acd.core.model import Agent, AgentState, Call
from acd.core.overflow_rules import SITE
from acd.core.reskill import reskill_problem
from acd.http.cti import EventStream, closing_frame
from acd.http.sessions import Sessions, check_csrf
from acd.http.tokens import HOW_TO_CONFIGURE, Principal, TokenSet
from acd.http.views import bascule_view
from acd.http.wire import (
    ApiError,
    BasculeBody,
    BasculeEndBody,
    EmptyBody,
    Level,
    PauseBody,
    TransferBody,
    audit_body,
    check_depth,
    decode,
    json_response,
)
from acd.logs import get_logger, mask_free_text, mask_number, utc_timestamp

if TYPE_CHECKING:
    from acd.config import ApiConfig
    from acd.core.ports import ApiHost

log = get_logger("acd.api")

PREFIX = "/api/v1"
AUDIT_SIZE = 1000
#: at shutdown, seconds the event streams get to say ``closing`` and end
CLOSE_WAIT_S = 1.0


# ---------------------------------------------------------------------- the API

Handler = Callable[["Api", web.Request, Principal, bytes], Awaitable[web.Response]]


def write(handler: Handler) -> Callable[[Api, web.Request], Awaitable[web.Response]]:
    """Authenticate, run, audit (every outcome once the token is known)."""

    async def wrapped(self: Api, request: web.Request) -> web.Response:
        who = self.authenticate(request)
        raw = await request.read()
        try:
            check_csrf(request)
            check_depth(raw)  # before anything decodes it, the audit included
            if self.router.role == "standby":
                # its engine follows events without deciding: a write here would
                # change nothing Asterisk sees, and be lost at the takeover
                raise ApiError(503, "this router is the standby of an active/standby "
                               "pair: send writes to the leader (GET /healthz says "
                               "\"role\")", code="standby")
            response = await handler(self, request, who, raw)
        except ApiError as exc:
            self.record(who, request, raw, exc.status, exc.code, exc.message)
            raise
        self.record(who, request, raw, response.status, "ok", "")
        return response

    return wrapped


class Api:
    """Routes of ``/api/v1/`` over one router; see the module docstring."""

    def __init__(self, router: ApiHost, tokens: TokenSet | None = None,
                 config: ApiConfig | None = None) -> None:
        self.router = router
        self.tokens = tokens if tokens is not None else TokenSet()
        self.config = config if config is not None else router.config.api
        self.stream = EventStream(router, buffer=self.config.stream_buffer)
        self.stream.attach()
        #: console sessions (a cookie for a token typed once into the page)
        self.sessions = Sessions()
        #: the last AUDIT_SIZE writes, oldest first
        self.audit: deque[dict[str, Any]] = deque(maxlen=AUDIT_SIZE)
        self._streams = 0
        #: set while no event stream is open
        self._idle = asyncio.Event()
        self._idle.set()

    def routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get(f"{PREFIX}/queues", self.get_queues)
        r.add_get(f"{PREFIX}/agents", self.get_agents)
        r.add_get(f"{PREFIX}/partners", self.get_partners)
        r.add_get(f"{PREFIX}/bascules", self.get_bascules)
        r.add_get(f"{PREFIX}/calls/{{call}}", self.get_call)
        r.add_get(f"{PREFIX}/events", self.events)
        r.add_get(f"{PREFIX}/audit", self.get_audit)
        for action in ("login", "logout", "pause", "ready"):
            r.add_post(f"{PREFIX}/agents/{{agent}}/{action}", self.agent_action)
        r.add_put(f"{PREFIX}/agents/{{agent}}/skills", self.put_skills)
        r.add_post(f"{PREFIX}/calls/{{call}}/transfer", self.transfer)
        r.add_put(f"{PREFIX}/bascules/{{queue}}", self.put_bascule)
        r.add_delete(f"{PREFIX}/bascules/{{queue}}", self.delete_bascule)

    async def close(self) -> None:
        """End every event stream (each gets a ``closing`` event), then wait up to
        CLOSE_WAIT_S for their handlers to return."""
        self.stream.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_WAIT_S):
                await self._idle.wait()

    # ------------------------------------------------------------------ auth, audit

    def authenticate(self, request: web.Request) -> Principal:
        if not len(self.tokens):
            raise ApiError(401, HOW_TO_CONFIGURE)
        console = self.sessions.principal(request)
        if console is not None:
            return console
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "missing token: send the header Authorization: Bearer <token>")
        principal = self.tokens.check(token)
        if principal is None:
            log.warning("api_unknown_token", method=request.method, path=request.path,
                        peer=request.remote)
            raise ApiError(401, "unknown token")
        return principal

    @staticmethod
    def require(who: Principal, *roles: str) -> None:
        if who.role not in roles:
            raise ApiError(403, f"the {who.role} role may not do this "
                           f"(needs {' or '.join(roles)})")

    def record(self, who: Principal, request: web.Request, raw: bytes, status: int,
               result: str, detail: str) -> None:
        entry = {
            "at": utc_timestamp("milliseconds"),  # as the log lines: UTC, Z
            "who": who.name, "role": who.role, "agent": who.agent,
            "method": request.method, "path": request.path,
            "body": mask_free_text(audit_body(raw)),
            "status": status, "result": result, "detail": detail,
        }
        self.audit.append(entry)
        log.info("api_write", **entry)
        self.router.publish_audit(entry)

    def caller(self, who: Principal, number: str) -> str | None:
        if not number:
            return None
        return number if who.sees_numbers else mask_number(number)

    # ------------------------------------------------------------------ views

    def call_view(self, who: Principal, call: Call, now: float) -> dict[str, Any]:
        transfer = call.transfer
        warm = self.router.engine.warm.get(call.id)
        moving: dict[str, Any] | None = None
        if warm is not None:
            moving = {"from_queue": warm.from_queue, "to_queue": warm.to_queue,
                      "agent": warm.agent, "mode": "warm", "ringing": warm.target}
        elif transfer is not None:
            moving = {"from_queue": transfer.from_queue, "to_queue": transfer.to_queue,
                      "agent": transfer.agent, "mode": "cold", "ringing": None}
        return {
            "id": call.id, "state": call.state.value, "queue": call.queue,
            "number": call.number, "priority": call.priority, "period": call.period,
            "wait_s": round(max(0.0, now - call.arrived_at), 3),
            "queue_wait_s": round(max(0.0, now - call.enqueued_at), 3),
            "agent": call.agent, "answered_by": call.answered_by,
            "queues": list(call.queues),
            "transfer": moving,
            "partner": call.overflow_partner or call.overflowed_to,
            "caller": self.caller(who, call.caller_num),
            "caller_name": (call.caller_name or None) if who.sees_numbers else None,
        }

    @staticmethod
    def agent_view(agent: Agent) -> dict[str, Any]:
        return {
            "id": agent.id, "name": agent.name, "state": agent.state.value,
            "pause_reason": agent.pause_reason, "skills": dict(agent.skills),
            "call": agent.call,
            "pending": agent.pending.value if agent.pending is not None else None,
            "pending_reason": agent.pending_reason,
            "missed_offers": agent.missed_offers, "device_busy": agent.device_busy,
            "observed": agent.observed,
        }

    def bascule_view(self, queue: str) -> dict[str, Any] | None:
        return bascule_view(self.router.engine.bascules, queue)

    # ------------------------------------------------------------------ reads

    async def get_queues(self, request: web.Request) -> web.Response:
        who = self.authenticate(request)
        engine, now = self.router.engine, self.router.clock()
        queues = []
        for name, queue in engine.queues.items():
            calls = [self.call_view(who, call, now) for call in queue]
            estimate = engine.estimated_wait(name)
            queues.append({
                "name": name, "waiting": len(calls),
                "oldest_wait_s": max((c["queue_wait_s"] for c in calls), default=0.0),
                "estimated_wait_s": round(estimate, 1) if math.isfinite(estimate) else None,
                "staffed": sum(1 for a in engine.agents.values()
                               if name in a.skills and a.state in WORKING),
                "bascule": self.bascule_view(name) or self.bascule_view(SITE),
                "calls": calls,
            })
        return json_response({"at": now, "queues": queues})

    async def get_agents(self, request: web.Request) -> web.Response:
        self.authenticate(request)
        agents = [self.agent_view(a) for a in self.router.engine.agents.values()]
        return json_response({"agents": agents})

    async def get_partners(self, request: web.Request) -> web.Response:
        self.authenticate(request)
        engine, now = self.router.engine, self.router.clock()
        partners = [{
            "name": p.name, "dial": p.dial, "preference": p.preference,
            "up": engine.partner_up(p.name, now),
            "down_until": (engine.partner_down_until[p.name]
                           if not engine.partner_up(p.name, now) else None),
        } for p in engine.partners]
        return json_response({"partners": partners})

    async def get_bascules(self, request: web.Request) -> web.Response:
        self.authenticate(request)
        views = [self.bascule_view(q) for q in self.router.engine.bascules]
        return json_response({"bascules": views})

    async def get_call(self, request: web.Request) -> web.Response:
        who = self.authenticate(request)
        call = self._call(request.match_info["call"])
        return json_response({"call": self.call_view(who, call, self.router.clock())})

    async def get_audit(self, request: web.Request) -> web.Response:
        self.require(self.authenticate(request), "supervisor")
        return json_response({"audit": list(self.audit)})

    def _call(self, call_id: str) -> Call:
        call = self.router.engine.calls.get(call_id)
        if call is None:
            raise ApiError(404, f"no live call {call_id!r} (it may have ended)")
        return call

    def _agent(self, agent_id: str) -> Agent:
        agent = self.router.engine.agents.get(agent_id)
        if agent is None:
            raise ApiError(404, f"unknown agent {agent_id!r}")
        return agent

    def _submit(self, item: object) -> None:
        """Apply an input; 409 if the engine ignored it."""
        ignored = [fact for fact in self.router.submit(item).facts
                   if isinstance(fact, f.InputIgnored)]
        if ignored:
            raise ApiError(409, "; ".join(fact.detail for fact in ignored))

    # ------------------------------------------------------------------ writes

    @write
    async def agent_action(self, request: web.Request, who: Principal,
                           raw: bytes) -> web.Response:
        action = request.path.rsplit("/", 1)[1]
        agent = self._agent(request.match_info["agent"])
        if who.role == "reader" or (who.role == "agent" and who.agent != agent.id):
            raise ApiError(403, f"{who.name} may not act on agent {agent.id}"
                           if who.role == "agent" else
                           "the reader role may not do this (needs agent or supervisor)")
        state = agent.state
        item: object
        if action == "pause":
            body = decode(raw, PauseBody)
            _logged_in(agent, action)
            item = i.AgentPause(agent.id, body.reason, by=who.name)
        else:
            decode(raw, EmptyBody)
            if action == "ready":
                _logged_in(agent, action)
            if action == "login" and state is not AgentState.LOGGED_OUT:
                raise ApiError(409, f"agent {agent.id} is already logged in ({state.value})")
            if action == "logout" and state is AgentState.LOGGED_OUT:
                raise ApiError(409, f"agent {agent.id} is already logged out")
            item = {"login": i.AgentLogin, "logout": i.AgentLogout,
                    "ready": i.AgentReady}[action](agent.id, by=who.name)
        self._submit(item)
        if not _took_effect(action, agent):
            raise ApiError(409, f"agent {agent.id} is {agent.state.value}: "
                           f"{action} did not apply")
        return json_response({"agent": self.agent_view(agent)})

    @write
    async def put_skills(self, request: web.Request, who: Principal,
                         raw: bytes) -> web.Response:
        self.require(who, "supervisor")
        agent = self._agent(request.match_info["agent"])
        skills = decode(raw, dict[str, Level])
        item = i.AgentReskill(agent.id, dict(skills), by=who.name,
                              reason=request.query.get("reason", "")[:200])
        problem = reskill_problem(self.router.engine, item)
        if problem is not None:
            raise ApiError(422, problem)
        old = dict(agent.skills)
        self._submit(item)
        return json_response({"agent": self.agent_view(agent), "old_skills": old})

    @write
    async def transfer(self, request: web.Request, who: Principal,
                       raw: bytes) -> web.Response:
        self.require(who, "agent", "supervisor")
        call = self._call(request.match_info["call"])
        if who.role == "agent":
            mine = self.router.engine.agents.get(who.agent or "")
            if mine is None or mine.call != call.id:
                raise ApiError(403, f"{who.name} may transfer only the call of agent "
                               f"{who.agent}, not call {call.id}")
        target = decode(raw, TransferBody).target
        queues = self.router.engine.queues
        if target not in queues:
            raise ApiError(422, f"unknown filière {target!r} (known: {', '.join(queues)})")
        if target == call.queue:
            raise ApiError(409, f"call {call.id} is already in {target}")
        from_queue = call.queue
        self._submit(i.TransferRequest(target, call=call.id, by=who.name))
        live = self.router.engine.calls.get(call.id)
        now = self.router.clock()
        return json_response({"from_queue": from_queue, "to_queue": target,
                              "call": self.call_view(who, live, now) if live else None})

    def _bascule_queue(self, request: web.Request, who: Principal) -> str:
        """The queue (or the whole site) of a bascule request; supervisors only."""
        self.require(who, "supervisor")
        queue = request.match_info["queue"]
        queue = SITE if queue in ("site", SITE) else queue
        if queue != SITE and queue not in self.router.engine.queues:
            raise ApiError(404, f"unknown queue {queue!r} (known: site, "
                           f"{', '.join(self.router.engine.queues)})")
        return queue

    @write
    async def put_bascule(self, request: web.Request, who: Principal,
                          raw: bytes) -> web.Response:
        queue = self._bascule_queue(request, who)
        body = decode(raw, BasculeBody)
        partners = [p.name for p in self.router.engine.partners]
        if not partners:
            raise ApiError(409, "this site has no partner SAS configured ([[partners]])")
        if body.partner is not None and body.partner not in partners:
            raise ApiError(422, f"unknown partner {body.partner!r} "
                           f"(known: {', '.join(partners)})")
        self._submit(i.BasculeRequest(queue, body.share, partner=body.partner, by=who.name,
                                      reason=body.reason))
        return json_response({"bascule": self.bascule_view(queue)})

    @write
    async def delete_bascule(self, request: web.Request, who: Principal,
                             raw: bytes) -> web.Response:
        queue = self._bascule_queue(request, who)
        body = decode(raw, BasculeEndBody)
        if queue not in self.router.engine.bascules:
            raise ApiError(404, f"no bascule in force on {'the site' if queue == SITE else queue}")
        self._submit(i.BasculeRequest(queue, 0.0, by=who.name,
                                      reason=body.reason or "back to local handling"))
        return json_response({"queue": queue, "bascule": None})

    # ------------------------------------------------------------------ stream

    async def events(self, request: web.Request) -> web.StreamResponse:
        who = self.authenticate(request)
        if self.stream.closed:
            raise ApiError(503, "the server is stopping")
        subscriber = self.stream.subscribe(
            agent=who.agent if who.role == "agent" else None, sees_numbers=who.sees_numbers,
            room=request.query.get("room") == "1")
        self._streams += 1
        self._idle.clear()
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream", "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no"})
        log.info("cti_connected", who=who.name, role=who.role, peer=request.remote)
        try:
            await response.prepare(request)
            await response.write(b": connected\n\n")
            while True:
                frame = await subscriber.next_frame(self.config.heartbeat_s)
                if frame is None:
                    await response.write(closing_frame("server stopping"))
                    await response.write_eof()
                    break
                await response.write(frame)
        except ConnectionError:
            log.info("cti_client_gone")
        finally:
            self.stream.unsubscribe(subscriber)
            self._streams -= 1
            if not self._streams:
                self._idle.set()
            log.info("cti_disconnected", who=who.name, dropped=subscriber.dropped_total)
        return response


def _logged_in(agent: Agent, action: str) -> None:
    """Pause and ready apply to a logged-in agent only: logging in is the agent's own
    act (``login``, or ``*71`` on the phone), never a side effect of another write.
    Both answer the same 409 ``conflict`` on a logged-out agent."""
    if agent.state is AgentState.LOGGED_OUT:
        raise ApiError(409, f"agent {agent.id} is logged out: log in first ({action} "
                            "applies to a logged-in agent)")


def _took_effect(action: str, agent: Agent) -> bool:
    """Whether the agent now is (or will be, after its call) where ``action`` sent it."""
    state, pending = agent.state, agent.pending
    if action == "login":
        return state is not AgentState.LOGGED_OUT
    if action == "logout":
        return state is AgentState.LOGGED_OUT or pending is AgentState.LOGGED_OUT
    if action == "pause":
        return state is AgentState.PAUSED or pending is AgentState.PAUSED
    return state in WORKING and pending is None  # ready
