"""The web pages' session endpoints, under the refresh cookie's path (`/api/v1/auth`), the only
place the browser sends that cookie: renewal of an expired page session, and sign-out."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect

from trailroom.core.errors import Forbidden, Unauthenticated
from trailroom.domain.accounts.controllers import client_ip
from trailroom.domain.accounts.cookies import REFRESH_COOKIE, access_cookie, clear_session_cookies, session_cookies
from trailroom.web.base import PageController
from trailroom.web.context import Page, safe_next, sign_in_url

# Two tabs whose access token expired together renew with the same refresh token at once.
RENEWAL_REUSE_GRACE_S = 30.0


class WebSessionController(PageController):
    path = "/api/v1/auth/web"

    @get("/renew", summary="Renew an expired page session and go back to `next`")
    async def renew(
        self,
        request: Request[Any, Any, Any],
        ctx: Page,
        next_path: Annotated[str | None, QueryParameter(query="next", max_length=2000)] = None,
    ) -> Redirect:
        target = safe_next(next_path)
        token = request.cookies.get(REFRESH_COOKIE)
        if not token:
            return Redirect(path=sign_in_url(target), status_code=303)
        try:
            renewal = await ctx.services.accounts.renew(
                token,
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent"),
                reuse_grace_s=RENEWAL_REUSE_GRACE_S,
            )
        except (Unauthenticated, Forbidden) as exc:
            ctx.flash(
                "info", "Your session has ended; sign in again." if isinstance(exc, Unauthenticated) else exc.detail
            )
            response = ctx.redirect(sign_in_url(target))
            clear_session_cookies(response)
            return response
        if renewal.tokens is None:  # another tab rotated it a moment ago; the jar holds its token
            cookies = [access_cookie(ctx.settings, renewal.access_token, renewal.expires_in)]
        else:
            cookies = session_cookies(ctx.settings, renewal.tokens, csrf_token=request.cookies.get("tr_csrf"))
        return Redirect(path=target, status_code=303, cookies=cookies, headers={"Cache-Control": "no-store"})

    @post("/logout", summary="Sign out of this browser (a form post)", status_code=303)
    async def logout(self, request: Request[Any, Any, Any], ctx: Page) -> Redirect:
        await ctx.form()
        token = request.cookies.get(REFRESH_COOKIE)
        if token:
            await ctx.services.accounts.logout(token)
        response = ctx.redirect("/", flash="You are signed out.", kind="info")
        clear_session_cookies(response)
        return response
