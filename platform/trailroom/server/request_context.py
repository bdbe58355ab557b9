"""The edge of every HTTP request: its id, its security headers and its access-log line.

Request ids are accepted from `X-Request-ID` when well-formed, otherwise made here; the id is bound
to the structlog context for every log line of the request and returned on every response.

This runs outside all of Litestar (see `TrailRoomApp` in `server/app.py`), not as a route middleware:
Litestar runs middleware only for requests that matched a route, and an error raised by a middleware
(the authentication's 401/403) is answered outside them. Here every answer is seen as it is sent:
404 and 405 included, and each with its real status in the access log.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from typing import Any

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from trailroom.core.asgi import add_headers
from trailroom.core.logging import get_logger
from trailroom.web.security import add_security_headers

REQUEST_ID_HEADER = "x-request-id"
# Ids are a random per-process prefix and a counter: unique without a system call per request.
_ID_PREFIX = f"req_{secrets.token_hex(4)}"
_next_id = itertools.count(1)
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{6,64}$")
_access_log = get_logger("trailroom.access")
# Asked before building the access line: structlog would format it first and drop it after.
_access_level = logging.getLogger("trailroom.access")


def request_id_of(scope: Scope) -> str:
    """The request's id, made and stored on first use."""
    state: dict[str, Any] = scope.setdefault("state", {})
    request_id = state.get("request_id")
    if request_id is None:
        request_id = _incoming_id(scope) or f"{_ID_PREFIX}{next(_next_id):08x}"
        state["request_id"] = request_id
    return str(request_id)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _VALID_ID.match(candidate) else None
    return None


class RequestEdge:
    """Wraps the whole application for HTTP requests (`await edge(scope, receive, send, app)`).

    `hsts`: send `Strict-Transport-Security` on answers to https requests (production only: a
    development host on plain http must never be pinned to https). The scheme is the one uvicorn
    reports, after its handling of `X-Forwarded-Proto` from trusted proxies.
    """

    def __init__(self, *, hsts: bool, access_log: bool = True) -> None:
        self.hsts = hsts
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        request_id = request_id_of(scope)
        started = time.perf_counter()
        status = 500  # until an answer starts: uvicorn answers 500 to an app that fails before it
        id_header = [(REQUEST_ID_HEADER.encode(), request_id.encode())]
        hsts = self.hsts and scope.get("scheme") == "https"

        async def send_at_edge(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                add_headers(message, id_header)
                add_security_headers(message, hsts=hsts)
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await app(scope, receive, send_at_edge)
        finally:
            if self.access_log and _access_level.isEnabledFor(logging.INFO):
                _access_log.info(
                    "request",
                    method=scope.get("method"),
                    path=scope["path"],
                    status=status,
                    ms=round((time.perf_counter() - started) * 1000, 1),
                )
            structlog.contextvars.reset_contextvars(**tokens)
