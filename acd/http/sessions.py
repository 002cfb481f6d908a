"""Console sessions: an API token typed once into the page, exchanged for a cookie.

``POST /console/session`` with ``{"token": "…"}`` (the token in the body, never in a
URL) checks the token as the API does (:class:`~acd.http.tokens.TokenSet`) and opens a
session: a random identifier (256 bits) sent back in a cookie that scripts cannot read
and that no other site's request carries::

    Set-Cookie: acd_console=<id>; HttpOnly; Path=/; SameSite=Strict  (+ Secure over TLS)

and a CSRF token in the answer's JSON, which the page keeps in memory and sends back
as ``X-CSRF-Token`` on every write. A request authenticated by the cookie is the
token's principal (same role, agent, numbers), with two differences from a bearer
token: a write (any method but GET and HEAD) without the session's CSRF token is
refused (403, audited), and the session ends after ``IDLE_S`` without a request, after
``MAX_AGE_S`` whatever happens, at ``DELETE /console/session`` (the page's "log out"),
or when the router restarts (sessions are kept in memory only).

Only a SHA-256 digest of each session identifier is kept, as for tokens; neither the
identifier nor the CSRF token ever reaches a log line or the audit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from acd.http.tokens import Principal
from acd.http.wire import ApiError

#: the cookie's name
COOKIE = "acd_console"
#: the request header carrying the session's CSRF token on writes
CSRF_HEADER = "X-CSRF-Token"
#: a session unused this long ends (a 12-hour shift and a margin)
IDLE_S = 13 * 3600.0
#: a session ends this long after it opened, used or not
MAX_AGE_S = 24 * 3600.0
#: sessions kept at most; opening one more ends the least recently used
MAX_SESSIONS = 2000
#: methods that change nothing (no CSRF token needed)
SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(slots=True)
class Session:
    """One open session: whose, its CSRF token, when it opened and was last used
    (monotonic seconds)."""

    principal: Principal
    csrf: str
    opened: float
    used: float

    def csrf_ok(self, presented: str) -> bool:
        return hmac.compare_digest(self.csrf.encode(), presented.encode())


def _key(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode("utf-8", "replace")).digest()


class Sessions:
    """Open sessions by the digest of their identifier, least recently used first."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sessions: OrderedDict[bytes, Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def open(self, principal: Principal) -> tuple[str, Session]:
        """A new session for ``principal``: its identifier (for the cookie) and itself."""
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        session = Session(principal, secrets.token_urlsafe(32), now, now)
        self._sessions[_key(session_id)] = session
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        return session_id, session

    def find(self, session_id: str) -> Session | None:
        """The live session of ``session_id`` (its use noted), or None."""
        key = _key(session_id)
        session = self._sessions.get(key)
        if session is None:
            return None
        now = self._clock()
        if now - session.used > IDLE_S or now - session.opened > MAX_AGE_S:
            del self._sessions[key]
            return None
        session.used = now
        self._sessions.move_to_end(key)
        return session

    def close(self, session_id: str) -> bool:
        """End the session; whether there was one."""
        return self._sessions.pop(_key(session_id), None) is not None

    def principal(self, request: web.Request) -> Principal | None:
        """Who a request without ``Authorization`` is, by its session cookie (its
        session noted on the request for :func:`check_csrf`); None without the cookie,
        or with an ``Authorization`` header (the header wins); 401 when the session has
        ended."""
        if "Authorization" in request.headers or COOKIE not in request.cookies:
            return None
        session = self.find(request.cookies[COOKIE])
        if session is None:
            raise ApiError(401, "the console session has ended: type the token again")
        request[SESSION_KEY] = session
        return session.principal


#: the console session a request was authenticated by (absent: a bearer token)
SESSION_KEY: web.RequestKey[Session] = web.RequestKey("acd_session", Session)


def check_csrf(request: web.Request) -> None:
    """A write authenticated by a console session must carry its CSRF token (403)."""
    session = request.get(SESSION_KEY)
    if session is None or request.method in SAFE_METHODS:
        return
    if not session.csrf_ok(request.headers.get(CSRF_HEADER, "")):
        raise ApiError(403, f"a write from the console needs the session's {CSRF_HEADER} "
                       "header")
