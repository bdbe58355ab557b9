"""Sign-in and registration pages: plain form posts (POST → 303 redirect, or the form again with
the user's input and messages), enhanced by forms.js. The rules are the accounts service's."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from trailroom.core.errors import Conflict, Forbidden, InvalidInput, RateLimited, Unauthenticated
from trailroom.core.paths import safe_next
from trailroom.domain.accounts.controllers import GOOGLE_PATH, client_ip
from trailroom.domain.accounts.cookies import DEVICE_COOKIE, session_cookies
from trailroom.web.base import PageController
from trailroom.web.context import Page

NextParam = Annotated[str | None, QueryParameter(name="next", max_length=2000)]
# Which form field a service error belongs to, by its code (when the error names no field).
FIELD_OF_CODE = {
    "email_taken": "email",
    "invalid_email": "email",
    "terms_not_accepted": "accept_terms",
    "weak_password": "password",
    "invalid_name": "name",
}


def field_errors(exc: InvalidInput | Conflict) -> dict[str, str]:
    field = exc.extra.get("field") or FIELD_OF_CODE.get(exc.code)
    return {str(field): exc.detail} if field else {"form": exc.detail}


def google_url(next_path: str) -> str:
    """Google sign-in that comes back to where the visitor was going."""
    return GOOGLE_PATH if next_path == "/app" else f"{GOOGLE_PATH}?next={quote(next_path, safe='/')}"


class SignInPagesController(PageController):
    @get("/login", summary="Sign-in page")
    async def login_page(self, ctx: Page, next_path: NextParam = None) -> Template | Redirect:
        if ctx.user is not None:
            return ctx.redirect(safe_next(next_path))
        return self._login(ctx, next_path=safe_next(next_path))

    @post("/login", summary="Sign in with email and password (form post)", status_code=303)
    async def login_submit(self, request: Request[Any, Any, Any], ctx: Page) -> Template | Redirect:
        form = await ctx.form()
        email, password = form.get("email", "").strip(), form.get("password", "")
        target = safe_next(form.get("next"))
        errors: dict[str, str] = {}
        if not email:
            errors["email"] = "Enter your email address."
        if not password:
            errors["password"] = "Enter your password."
        if errors:
            return self._login(ctx, next_path=target, email=email, errors=errors, status_code=422)
        try:
            _, tokens = await ctx.services.accounts.login(
                email=email,
                password=password,
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent"),
                device_token=request.cookies.get(DEVICE_COOKIE),
            )
        except RateLimited as exc:
            message = (
                f"Too many sign-in attempts. Wait {exc.retry_after} seconds and try again."
                if exc.code == "rate_limited"
                else f"Too many failed attempts for this account from here. Try again in {exc.retry_after} seconds."
            )
            return self._login(ctx, next_path=target, email=email, errors={"form": message}, status_code=429)
        except (Unauthenticated, Forbidden) as exc:
            return self._login(ctx, next_path=target, email=email, errors={"form": exc.detail}, status_code=401)
        return ctx.redirect(target, cookies=session_cookies(ctx.settings, tokens))

    @get("/register", summary="Registration page")
    async def register_page(self, ctx: Page, next_path: NextParam = None) -> Template | Redirect:
        if ctx.user is not None:
            return ctx.redirect("/app")
        return self._register(ctx, next_path=safe_next(next_path), values={})

    @post("/register", summary="Create an account (form post)", status_code=303)
    async def register_submit(self, request: Request[Any, Any, Any], ctx: Page) -> Template | Redirect:
        form = await ctx.form()
        values = {"name": form.get("name", "").strip(), "email": form.get("email", "").strip()}
        password = form.get("password", "")
        accepted = form.get("accept_terms") in ("on", "true", "1", "yes")
        target = safe_next(form.get("next"))
        errors: dict[str, str] = {}
        if not values["name"]:
            errors["name"] = "Enter your name."
        if not values["email"]:
            errors["email"] = "Enter your email address."
        if not password:
            errors["password"] = "Choose a password."
        if not accepted:
            errors["accept_terms"] = "Accept the terms of service to create an account."
        if errors:
            return self._register(ctx, next_path=target, values=values, errors=errors, status_code=422)
        ip, agent = client_ip(request), request.headers.get("user-agent")
        accounts = ctx.services.accounts
        try:
            user = await accounts.register(
                email=values["email"], password=password, name=values["name"], accept_terms=True, ip=ip
            )
            await ctx.services.account_emails.send_verification(user)
            _, tokens = await accounts.login(
                email=values["email"], password=password, ip=ip, user_agent=agent, device_token=None
            )
        except (InvalidInput, Conflict) as exc:
            status = 409 if isinstance(exc, Conflict) else 422
            return self._register(ctx, next_path=target, values=values, errors=field_errors(exc), status_code=status)
        except RateLimited as exc:
            message = f"Too many accounts were created from this network. Try again in {exc.retry_after} seconds."
            return self._register(ctx, next_path=target, values=values, errors={"form": message}, status_code=429)
        ctx.flash("success", f"Welcome to TrailRoom, {values['name']}! Your free credits are ready.")
        return ctx.redirect(target, cookies=session_cookies(ctx.settings, tokens))

    # -- rendering ---------------------------------------------------------------------------------

    @staticmethod
    def _login(
        ctx: Page,
        *,
        next_path: str,
        email: str = "",
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        return ctx.render(
            "pages/auth/login.html",
            status_code=status_code,
            next_path=next_path,
            values={"email": email},
            errors=errors or {},
            google_url=google_url(next_path),
        )

    @staticmethod
    def _register(
        ctx: Page,
        *,
        next_path: str,
        values: dict[str, str],
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        return ctx.render(
            "pages/auth/register.html",
            status_code=status_code,
            next_path=next_path,
            values=values,
            errors=errors or {},
            google_url=google_url(next_path),
        )
