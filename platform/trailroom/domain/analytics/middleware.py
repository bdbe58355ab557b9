"""Counts every API call made with a key or a user token (after authentication has run inside it)."""

from __future__ import annotations

import time

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from trailroom.core.asgi import is_platform_path
from trailroom.core.clock import utcnow
from trailroom.domain.accounts.principal import Principal
from trailroom.domain.analytics.recorder import Call

API_PREFIX = "/api/"
# Handlers put the credits a call spent here (scope state), e.g. try-on creation.
CREDITS_USED = "credits_used"


class UsageMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)
    should_bypass_for_scope = staticmethod(is_platform_path)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if not scope["path"].startswith(API_PREFIX):  # web pages a signed-in user opens are not API calls
            await next_app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await next_app(scope, receive, send_and_watch)
        finally:
            principal = scope.get("auth")
            if isinstance(principal, Principal):
                scope["app"].state.services.usage.record(
                    Call(
                        account_id=principal.user_id,
                        api_key_id=principal.api_key.id if principal.api_key else None,
                        method=str(scope.get("method", "GET")),
                        route=scope.get("path_template") or scope["path"],
                        status=status,
                        latency_ms=round((time.perf_counter() - started) * 1000, 2),
                        credits=int(scope.get("state", {}).get(CREDITS_USED, 0)),
                        at=utcnow(),
                    )
                )
