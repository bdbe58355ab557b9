"""Security headers on every response, and a strict Content-Security-Policy on every HTML page.

The headers are added by the request edge (`server/request_context.py`), so 404 and 405 answers and
the middleware's refusals get them too. The pages load only our own scripts and styles (no inline
code, no `unsafe-*`): behaviour lives in ES modules under /static/app/js, styling in
/static/app/app.css, and per-element values travel in `data-*` attributes. The API reference at
/schema follows the same policy (see `server/openapi.py`).
"""

from __future__ import annotations

from litestar.types import HTTPResponseStartEvent

from trailroom.core.asgi import add_headers, header_value, raw_headers


def content_security_policy(*, script: str = "", frame: str = "", connect: str = "", img: str = "") -> str:
    """The page policy; the arguments add sources (space-separated) for one page that needs them."""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self'{' ' + script if script else ''}",
            "style-src 'self'",
            f"img-src 'self' data: blob:{' ' + img if img else ''}",
            "font-src 'self'",
            f"connect-src 'self'{' ' + connect if connect else ''}",
            *([f"frame-src {frame}"] if frame else []),
            "object-src 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ]
    )


CONTENT_SECURITY_POLICY = content_security_policy()
# The live checkout page alone loads Razorpay Checkout: its script, its frames, its calls, and a
# popup for bank pages (so the opener policy allows popups on that page).
RAZORPAY_CHECKOUT_HEADERS = {
    "content-security-policy": content_security_policy(
        script="https://checkout.razorpay.com",
        frame="https://api.razorpay.com https://checkout.razorpay.com",
        connect="https://api.razorpay.com https://lumberjack.razorpay.com",
        img="https://*.razorpay.com",
    ),
    "cross-origin-opener-policy": "same-origin-allow-popups",
}

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

# Browsers keep to https for a year once they saw this over https (RFC 6797); never sent over plain http.
# Not `includeSubDomains`: the platform may live on a merchant's domain whose other hosts are not ours.
HSTS = {"strict-transport-security": "max-age=31536000"}

PAGE_SECURITY_HEADERS = {**ALWAYS, **HTML_ONLY}
_ALWAYS_RAW = raw_headers(ALWAYS)
_HTML_ONLY_RAW = raw_headers(HTML_ONLY)
_HSTS_RAW = raw_headers(HSTS)


def add_security_headers(message: HTTPResponseStartEvent, *, hsts: bool) -> None:
    """The security headers of one response (those it does not set itself): on every answer, the
    strict page policy on HTML ones, HSTS when `hsts` (an https request in production).
    Called by the request edge (`server/request_context.py`) for every response, errors included."""
    html = (header_value(message, b"content-type") or b"").startswith(b"text/html")
    headers = _ALWAYS_RAW + _HTML_ONLY_RAW if html else _ALWAYS_RAW
    add_headers(message, headers + _HSTS_RAW if hsts else headers, replace=False)
