"""The API's JSON on the wire: errors (``{"error": code, "message": text}``), the
request bodies and their decoding (depth checked first), the audit's copy of a body."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import msgspec
from aiohttp import web

#: JSON bodies nested deeper than this are refused (422 ``invalid``, audited) before
#: anything decodes them: ours are two levels deep, and 20,000 levels (40 KB) would
#: exhaust the decoder's recursion
MAX_BODY_DEPTH = 32
#: a JSON string (skipped when counting the nesting)
JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
#: body keys never copied into the audit
SECRET_KEYS = frozenset({"token", "secret", "password", "authorization"})
#: HTTP status → error code
CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid",
          501: "not_implemented", 503: "unavailable"}
ENCODER = msgspec.json.Encoder()


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message


def json_response(data: object, status: int = 200,
                  headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=ENCODER.encode(data), status=status, headers=headers,
                        content_type="application/json")


def error_response(status: int, code: str, message: str) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="acd"'} if status == 401 else None
    return json_response({"error": code, "message": message}, status, headers)


@web.middleware
async def json_errors(request: web.Request,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                      ) -> web.StreamResponse:
    """API errors as JSON; aiohttp's own (no such route, wrong method, body too
    large) too, under ``/api/``."""
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith("/api/"):
            raise
        message = {404: f"no such route: {request.path}",
                   405: f"{request.method} is not allowed on {request.path}"}.get(
            exc.status, exc.reason)
        return error_response(exc.status, CODES.get(exc.status, "error"), message)


# ---------------------------------------------------------------------- request bodies

Share = Annotated[float, msgspec.Meta(gt=0, le=1)]
Level = Annotated[int, msgspec.Meta(ge=1, le=9)]
Text = Annotated[str, msgspec.Meta(max_length=200)]


class PauseBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "break"


class TransferBody(msgspec.Struct, forbid_unknown_fields=True):
    target: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


class BasculeBody(msgspec.Struct, forbid_unknown_fields=True):
    share: Share = 1.0
    partner: str | None = None
    reason: Text = ""


class BasculeEndBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: Text = ""


class EmptyBody(msgspec.Struct, forbid_unknown_fields=True):
    """login, logout, ready: no field (an empty body or ``{}``)."""


B = TypeVar("B")


def body_depth(raw: bytes, limit: int = MAX_BODY_DEPTH) -> int:
    """How deeply ``raw``'s arrays and objects nest (strings skipped), counted up to
    ``limit + 1``: enough to refuse a body without recursing into it."""
    depth = deepest = 0
    for byte in JSON_STRING.sub(b"", raw):
        if byte in b"[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif byte in b"]}":
            depth -= 1
    return deepest


def check_depth(raw: bytes) -> None:
    if body_depth(raw) > MAX_BODY_DEPTH:
        raise ApiError(422, f"invalid body: JSON nested deeper than {MAX_BODY_DEPTH} levels")


def decode(raw: bytes, kind: type[B]) -> B:
    """A request body as ``kind``; an empty body is ``{}``."""
    check_depth(raw)
    try:
        data = msgspec.json.decode(raw or b"{}")
    except msgspec.DecodeError as exc:
        raise ApiError(400, f"malformed JSON body: {exc}") from None
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        raise ApiError(422, f"invalid body: {exc}") from None


def audit_body(raw: bytes) -> object:
    """The request body for the audit: decoded JSON without secret keys."""
    if not raw:
        return None
    if body_depth(raw) > MAX_BODY_DEPTH:
        return f"<JSON nested deeper than {MAX_BODY_DEPTH} levels, {len(raw)} bytes>"
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return f"<not JSON, {len(raw)} bytes>"
    if isinstance(body, dict):
        return {k: ("***" if str(k).lower() in SECRET_KEYS else v) for k, v in body.items()}
    return body
