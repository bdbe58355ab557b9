"""`OPTIONS` on any route answers `204` with `Allow` listing every method of its path.

Litestar answers OPTIONS itself, but when handlers of one path come from different places (GET and
PATCH of `/api/v1/auth/me`) its answer lists only the first one's methods, and it runs the first
one's guards (a secret key asking about a session route got 403). The methods a path takes are
public (they are in the OpenAPI document), so this answers before authentication. CORS preflights
(with `Access-Control-Request-Method`) are the authentication middleware's to answer.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, HTTPResponseStartEvent, Receive, Scope, Send

from trailroom.core.asgi import is_platform_path


def allowed_methods(app: Litestar) -> dict[str, str]:
    """Each path template's `Allow` value: all methods its handlers take, OPTIONS included."""
    methods: dict[str, set[str]] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            methods.setdefault(route.path_format, set()).update(route.methods)
    return {path: ", ".join(sorted(taken)) for path, taken in methods.items()}


class AllowMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)
    should_bypass_for_scope = staticmethod(is_platform_path)

    def __init__(self) -> None:
        self._allow: dict[str, str] | None = None

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("method") != "OPTIONS" or any(
            name == b"access-control-request-method" for name, _ in scope["headers"]
        ):
            await next_app(scope, receive, send)
            return
        if self._allow is None:
            self._allow = allowed_methods(scope["app"])
        allow = self._allow.get(scope.get("path_template", ""), "OPTIONS")
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": 204,
            "headers": [(b"allow", allow.encode("latin-1"))],
        }
        await send(start)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
