"""The web pages' session endpoints, under the refresh cookie's path (`/api/v1/auth`), the only
place the browser sends that cookie: renewal of an expired page session (a navigation, or a
script's call), and sign-out."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import QueryParameter
from litestar.response import Redirect
from litestar.status_codes import HTTP_204_NO_CONTENT

from trailroom.core.errors import Forbidden, Unauthenticated
from trailroom.core.paths import safe_next
from trailroom.domain.accounts.controllers import client_ip
from trailroom.domain.accounts.cookies import (
    CSRF_COOKIE,
    CSRF_HEADER,
    REFRESH_COOKIE,
    access_cookie,
    clear_session_cookies,
    csrf_failed,
    csrf_ok,
    session_cookies,
)
from trailroom.domain.accounts.security import session_csrf_binding
from trailroom.server.problems import EXCEPTION_HANDLERS
from trailroom.web.base import PageController
from trailroom.web.context import Page, PageContext, sign_in_url

# Two tabs whose access token expired together renew with the same refresh token at once.
RENEWAL_REUSE_GRACE_S = 30.0


async def renewed_cookies(request: Request[Any, Any, Any], ctx: PageContext) -> list[Cookie]:
    """The cookies of the renewed session; Unauthenticated/Forbidden when it cannot be renewed."""
    token = request.cookies.get(REFRESH_COOKIE)
    if not token:
        raise Unauthenticated("There is no session to renew; sign in.", code="missing_refresh_token")
    renewal = await ctx.services.accounts.renew(
        token,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        reuse_grace_s=RENEWAL_REUSE_GRACE_S,
    )
    if renewal.tokens is None:  # another tab rotated it a moment ago; the jar holds its token
        return [access_cookie(ctx.settings, renewal.access_token, renewal.expires_in)]
    # The session's CSRF token stays (forms already open in other tabs keep working), unless the
    # cookie holds a token of another session or none.
    current = request.cookies.get(CSRF_COOKIE)
    binding = session_csrf_binding(renewal.tokens.session_id)
    keep = current if ctx.services.accounts.csrf.valid_for(current, binding) else None
    return session_cookies(ctx.settings, renewal.tokens, csrf_token=keep)


class WebSessionController(PageController):
    path = "/api/v1/auth/web"

    @get("/renew", summary="Renew an expired page session and go back to `next`")
    async def renew(
        self,
        request: Request[Any, Any, Any],
        ctx: Page,
        next_path: Annotated[str | None, QueryParameter(name="next", max_length=2000)] = None,
    ) -> Redirect:
        target = safe_next(next_path)
        if not request.cookies.get(REFRESH_COOKIE):
            return Redirect(path=sign_in_url(target), status_code=303)
        try:
            cookies = await renewed_cookies(request, ctx)
        except (Unauthenticated, Forbidden) as exc:
            ended = "Your session has ended; sign in again."
            ctx.flash("info", ended if isinstance(exc, Unauthenticated) else exc.detail)
            response = ctx.redirect(sign_in_url(target))
            clear_session_cookies(response)
            return response
        return Redirect(path=target, status_code=303, cookies=cookies, headers={"Cache-Control": "no-store"})

    @post(
        "/renew",
        summary="Renew the page session from a script (X-CSRF-Token required)",
        status_code=204,
        exception_handlers=EXCEPTION_HANDLERS,  # a script reads problem+json, not an error page
    )
    async def renew_from_script(self, request: Request[Any, Any, Any], ctx: Page) -> Response[None]:
        accounts = ctx.services.accounts
        refresh = request.cookies.get(REFRESH_COOKIE)
        if not refresh:
            raise Unauthenticated("There is no session to renew; sign in.", code="missing_refresh_token")
        session_id = await accounts.session_id_of(refresh)
        if not csrf_ok(accounts.csrf, request.cookies, request.headers.get(CSRF_HEADER), session_id):
            raise csrf_failed()
        cookies = await renewed_cookies(request, ctx)
        return Response(None, status_code=HTTP_204_NO_CONTENT, cookies=cookies, headers={"Cache-Control": "no-store"})

    @post("/logout", summary="Sign out of this browser (a form post)", status_code=303)
    async def logout(self, request: Request[Any, Any, Any], ctx: Page) -> Redirect:
        await ctx.form()
        token = request.cookies.get(REFRESH_COOKIE)
        if token:
            await ctx.services.accounts.logout(token)
        response = ctx.redirect("/", flash="You are signed out.", kind="info")
        clear_session_cookies(response)
        return response
