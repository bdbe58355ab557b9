"""Security headers on every response, and a strict Content-Security-Policy on every HTML page.

The pages load only our own scripts and styles (no inline code, no `unsafe-*`): behaviour lives
in ES modules under /static/app/js, styling in /static/app/app.css, and per-element values travel
in `data-*` attributes. The API reference at /schema follows the same policy (see `server/openapi.py`).
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

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


class SecurityHeadersMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in ALWAYS.items():
                    headers.setdefault(name, value)
                if (headers.get("content-type") or "").startswith("text/html"):
                    for name, value in HTML_ONLY.items():
                        headers.setdefault(name, value)
            await send(message)

        await next_app(scope, receive, send_with_headers)
