"""Session cookies of the web pages and their CSRF protection (a signed double-submit token).

`tr_access` and `tr_refresh` are httpOnly; `tr_csrf` is readable by the page's script, which
echoes it in the `X-CSRF-Token` header of every state-changing request. A cross-site page can
send the cookies but cannot read `tr_csrf`, so it cannot forge the header; and since the token is
an HMAC bound to the session (`CsrfTokens`), a `tr_csrf` cookie planted by someone else (cookie
tossing from a sibling subdomain or over plain HTTP) is refused even with a matching header.
`tr_device` (httpOnly, long-lived) marks a browser that signed in to the account before.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie

from trailroom.core.config import Settings
from trailroom.core.errors import Forbidden
from trailroom.domain.accounts.security import CsrfTokens, session_csrf_binding
from trailroom.domain.accounts.services import DEVICE_TOKEN_MAX_AGE_S, TokenPair

ACCESS_COOKIE = "tr_access"
REFRESH_COOKIE = "tr_refresh"
CSRF_COOKIE = "tr_csrf"
DEVICE_COOKIE = "tr_device"
CSRF_HEADER = "x-csrf-token"
REFRESH_PATH = "/api/v1/auth"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def access_cookie(settings: Settings, access_token: str, expires_in: int) -> Cookie:
    return Cookie(
        key=ACCESS_COOKIE,
        value=access_token,
        max_age=expires_in,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        path="/",
    )


def csrf_cookie(settings: Settings, value: str, max_age: int) -> Cookie:
    return Cookie(
        key=CSRF_COOKIE,
        value=value,
        max_age=max_age,
        httponly=False,
        secure=settings.secure_cookies,
        samesite="strict",
        path="/",
    )


def session_cookies(settings: Settings, tokens: TokenPair, *, csrf_token: str | None = None) -> list[Cookie]:
    """The cookies of a new or rotated session (and the device cookie after a sign-in). A renewal
    passes the page's current `csrf_token`, already bound to this session, so forms open in other
    tabs stay valid; otherwise the session's fresh token is set."""
    cookies = [
        access_cookie(settings, tokens.access_token, tokens.expires_in),
        Cookie(
            key=REFRESH_COOKIE,
            value=tokens.refresh_token,
            max_age=tokens.refresh_expires_in,
            httponly=True,
            secure=settings.secure_cookies,
            samesite="strict",
            path=REFRESH_PATH,
        ),
        csrf_cookie(settings, csrf_token or tokens.csrf_token, tokens.refresh_expires_in),
    ]
    if tokens.device_token:
        cookies.append(
            Cookie(
                key=DEVICE_COOKIE,
                value=tokens.device_token,
                max_age=DEVICE_TOKEN_MAX_AGE_S,
                httponly=True,
                secure=settings.secure_cookies,
                samesite="strict",
                path="/",
            )
        )
    return cookies


def clear_session_cookies(response: Response[Any]) -> None:
    response.delete_cookie(ACCESS_COOKIE, path="/")
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_PATH)
    response.delete_cookie(CSRF_COOKIE, path="/")


def csrf_ok(csrf: CsrfTokens, cookies: dict[str, str], header_value: str | None, session_id: str | None) -> bool:
    """The header echoes the `tr_csrf` cookie and the token was issued for this session."""
    return session_id is not None and csrf.matches(
        cookies.get(CSRF_COOKIE), header_value, session_csrf_binding(session_id)
    )


def csrf_failed() -> Forbidden:
    return Forbidden(
        "Missing or wrong CSRF token: send the tr_csrf cookie's value in the X-CSRF-Token header.",
        code="csrf_failed",
    )


def require_refresh_csrf(request: Request[Any, Any, Any], csrf: CsrfTokens, session_id: str | None) -> None:
    """For requests authorised by the refresh cookie alone (the access cookie may have expired):
    the CSRF token must be bound to the refresh token's session (`session_id`)."""
    if request.method not in SAFE_METHODS and not csrf_ok(
        csrf, request.cookies, request.headers.get(CSRF_HEADER), session_id
    ):
        raise csrf_failed()
