"""The supervisor's console: a page served by the router itself, and its session.

Routes (no token in any URL):

=======  ======================  ==========================================================
GET      /                       the console (French first, English by a switch)
GET      /wallboard              the same page as a wallboard: large figures, no control
GET      /console/{asset}        its script, style sheet and icon (package data of acd, read
                                 once at start: nothing is fetched from elsewhere)
POST     /console/session        ``{"token": "…"}`` → a session cookie and a CSRF token
GET      /console/session        whether a session is open, who it stands for and its
                                 CSRF token (always 200: ``"open": false`` without one)
DELETE   /console/session        end the session (needs the CSRF token)
=======  ======================  ==========================================================

The page reads the room from the API's event stream (``GET /api/v1/events?room=1``,
:mod:`acd.http.roomfeed`) and acts through the API's own routes, so every rule of the
API (roles, an agent acting on itself only, numbers masked, the audit) holds for the
page as for any client: the page only hides what the role may not do. Sessions:
:mod:`acd.http.sessions`.

Every answer of the server (API and ``/metrics`` included) carries a strict
Content-Security-Policy (scripts, styles, images and connections from this origin
only; no inline script or style; no frame), ``X-Frame-Options: DENY``,
``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from aiohttp import web

from acd.http.room import ConsoleHost, RoomView
from acd.http.roomfeed import RoomFeed
from acd.http.sessions import COOKIE, CSRF_HEADER, SESSION_KEY, Session, check_csrf
from acd.http.tokens import HOW_TO_CONFIGURE
from acd.http.wire import ApiError, decode, json_response
from acd.logs import get_logger

if TYPE_CHECKING:
    from acd.http.v1 import Api

log = get_logger("acd.api")

#: every answer's security headers
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
#: the page's files (package data of acd: acd/http/static/) and their types
ASSETS = {"console.js": "text/javascript; charset=utf-8",
          "strings.js": "text/javascript; charset=utf-8",
          "console.css": "text/css; charset=utf-8",
          "icon.svg": "image/svg+xml"}
PAGE = "console.html"
#: paths that answer the page
PAGE_PATHS = ("/", "/wallboard")


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def load_asset(name: str, content_type: str) -> Asset:
    body = resources.files("acd.http").joinpath("static", name).read_bytes()
    return Asset(body, content_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


class SessionBody(msgspec.Struct, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


async def security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the security headers on every answer, streams included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


class Console:
    """The page, its assets, its sessions and the room feed, over the API ``api``."""

    def __init__(self, api: Api, router: ConsoleHost) -> None:
        self.api = api
        self.view = RoomView(router)
        self.feed = RoomFeed(self.view, api.stream)
        self.feed.attach()
        self.page = load_asset(PAGE, "text/html; charset=utf-8")
        self.assets = {name: load_asset(name, kind) for name, kind in ASSETS.items()}

    def routes(self, app: web.Application) -> None:
        for path in PAGE_PATHS:
            app.router.add_get(path, self.get_page)
        app.router.add_get("/console/{asset}", self.get_asset)
        app.router.add_post("/console/session", self.open_session)
        app.router.add_get("/console/session", self.get_session)
        app.router.add_delete("/console/session", self.close_session)
        app.on_response_prepare.append(security_headers)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)

    async def _start(self, _app: web.Application) -> None:
        self.feed.start()

    async def _stop(self, _app: web.Application) -> None:
        self.feed.close()

    # ------------------------------------------------------------------ files

    async def get_page(self, request: web.Request) -> web.Response:
        return _serve(request, self.page)

    async def get_asset(self, request: web.Request) -> web.Response:
        asset = self.assets.get(request.match_info["asset"])
        if asset is None:
            raise web.HTTPNotFound()
        return _serve(request, asset)

    # ------------------------------------------------------------------ sessions

    def _about(self, session: Session) -> dict[str, Any]:
        who = session.principal
        return {"open": True, "who": who.name, "role": who.role, "agent": who.agent,
                "sees_numbers": who.sees_numbers, "csrf": session.csrf,
                "site": self.api.router.config.site.name}

    async def open_session(self, request: web.Request) -> web.Response:
        """Exchange a token for a session cookie (the token travels in the body)."""
        api = self.api
        raw = await request.read()
        if not len(api.tokens):
            raise ApiError(401, HOW_TO_CONFIGURE)
        if request.content_type != "application/json":
            raise ApiError(415, "send the token as JSON: {\"token\": \"…\"}",
                           code="unsupported_media_type")
        body = decode(raw, SessionBody)
        principal = api.tokens.check(body.token.strip())
        if principal is None:
            log.warning("api_unknown_token", method=request.method, path=request.path,
                        peer=request.remote)
            raise ApiError(401, "unknown token")
        session_id, session = api.sessions.open(principal)
        api.record(principal, request, raw, 200, "ok", "console session opened")
        response = json_response(self._about(session), headers={"Cache-Control": "no-store"})
        response.set_cookie(COOKIE, session_id, path="/", httponly=True, samesite="Strict",
                            secure=_secure(request))
        return response

    async def get_session(self, request: web.Request) -> web.Response:
        """The open session of the cookie, or ``{"open": false}`` (and why not, when
        no token is configured at all)."""
        api = self.api
        session = None
        if len(api.tokens) and COOKIE in request.cookies:
            session = api.sessions.find(request.cookies[COOKIE])
        about = self._about(session) if session is not None else {
            "open": False, "problem": None if len(api.tokens) else HOW_TO_CONFIGURE}
        return json_response(about, headers={"Cache-Control": "no-store"})

    async def close_session(self, request: web.Request) -> web.Response:
        api = self.api
        who = api.authenticate(request)
        raw = await request.read()
        try:
            if request.get(SESSION_KEY) is None:
                raise ApiError(400, "no console session to end (a bearer token has none)")
            check_csrf(request)
        except ApiError as exc:
            api.record(who, request, raw, exc.status, exc.code, exc.message)
            raise
        api.sessions.close(request.cookies[COOKIE])
        api.record(who, request, raw, 200, "ok", "console session ended")
        response = json_response({"ended": True})
        response.del_cookie(COOKIE, path="/", secure=_secure(request), httponly=True,
                            samesite="Strict")
        return response


def _secure(request: web.Request) -> bool:
    """Over TLS (here, or at the reverse proxy in front): the cookie says Secure."""
    return request.secure or request.headers.get("X-Forwarded-Proto", "") == "https"


def _serve(request: web.Request, asset: Asset) -> web.Response:
    headers = {"ETag": asset.etag, "Cache-Control": "no-cache"}
    if request.headers.get("If-None-Match") == asset.etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=asset.body, headers={**headers, "Content-Type":
                                                  asset.content_type})


__all__ = ["CSRF_HEADER", "Console", "security_headers"]
