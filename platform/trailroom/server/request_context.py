"""Request ids: accepted from `X-Request-ID` when well-formed, otherwise made here.

The id is bound to the structlog context for every log line of the request and returned on every
response, errors included.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from trailroom.core.asgi import add_headers
from trailroom.core.logging import get_logger

REQUEST_ID_HEADER = "x-request-id"
# Ids are a random per-process prefix and a counter: unique without a system call per request.
_ID_PREFIX = f"req_{secrets.token_hex(4)}"
_next_id = itertools.count(1)
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{6,64}$")
_access_log = get_logger("trailroom.access")
# Asked before building the access line: structlog would format it first and drop it after.
_access_level = logging.getLogger("trailroom.access")


def request_id_of(scope: Scope) -> str:
    """The request's id, made and stored on first use (also for requests no route matched)."""
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


class RequestContextMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, access_log: bool = True) -> None:
        self.access_log = access_log

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request_id = request_id_of(scope)
        started = time.perf_counter()
        status = 500

        id_header = [(REQUEST_ID_HEADER.encode(), request_id.encode())]

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                add_headers(message, id_header)
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await next_app(scope, receive, send_with_id)
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
