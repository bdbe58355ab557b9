"""Security headers on every response, and a strict Content-Security-Policy on every HTML page.

The pages load only our own scripts and styles (no inline code, no `unsafe-*`): behaviour lives
in ES modules under /static/app/js, styling in /static/app/app.css, and per-element values travel
in `data-*` attributes. The API reference at /schema follows the same policy (see `server/openapi.py`).
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from trailroom.core.asgi import add_headers, header_value, raw_headers

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)

ALWAYS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
}
HTML_ONLY = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(self), microphone=(), geolocation=()",
}

PAGE_SECURITY_HEADERS = {**ALWAYS, **HTML_ONLY}
_ALWAYS_RAW = raw_headers(ALWAYS)
_HTML_ONLY_RAW = raw_headers(HTML_ONLY)


class SecurityHeadersMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                html = (header_value(message, b"content-type") or b"").startswith(b"text/html")
                add_headers(message, _ALWAYS_RAW + _HTML_ONLY_RAW if html else _ALWAYS_RAW, replace=False)
            await send(message)

        await next_app(scope, receive, send_with_headers)
