"""Session cookies of the web pages and their CSRF protection (double-submit token).

`tr_access` and `tr_refresh` are httpOnly; `tr_csrf` is readable by the page's script, which
echoes it in the `X-CSRF-Token` header of every state-changing request. A cross-site page can
send the cookies but cannot read `tr_csrf`, so it cannot forge the header.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie

from trailroom.core.config import Settings
from trailroom.core.errors import Forbidden
from trailroom.domain.accounts.security import new_token
from trailroom.domain.accounts.services import TokenPair

ACCESS_COOKIE = "tr_access"
REFRESH_COOKIE = "tr_refresh"
CSRF_COOKIE = "tr_csrf"
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
    """The three cookies of a new or rotated session. A renewal passes the page's current
    `csrf_token` so forms already open in other tabs stay valid."""
    return [
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
        csrf_cookie(settings, csrf_token or new_token(24), tokens.refresh_expires_in),
    ]


def clear_session_cookies(response: Response[Any]) -> None:
    response.delete_cookie(ACCESS_COOKIE, path="/")
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_PATH)
    response.delete_cookie(CSRF_COOKIE, path="/")


def csrf_ok(cookies: dict[str, str], header_value: str | None) -> bool:
    expected = cookies.get(CSRF_COOKIE)
    return bool(expected and header_value and hmac.compare_digest(expected, header_value))


def csrf_failed() -> Forbidden:
    return Forbidden(
        "Missing or wrong CSRF token: send the tr_csrf cookie's value in the X-CSRF-Token header.",
        code="csrf_failed",
    )


def require_csrf(request: Request[Any, Any, Any]) -> None:
    if request.method not in SAFE_METHODS and not csrf_ok(request.cookies, request.headers.get(CSRF_HEADER)):
        raise csrf_failed()
