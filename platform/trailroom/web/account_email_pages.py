"""The pages of what accounts do by mail: "forgot password" (ask for a link), the reset page the link
opens, the confirmation link of a new account's address, and the dashboard's "send it again".
Plain form posts with CSRF, as the sign-in pages; the rules are `AccountEmails`'."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.background_tasks import BackgroundTask
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from trailroom.core.errors import Conflict, Forbidden, InvalidInput, RateLimited
from trailroom.domain.accounts.controllers import client_ip, send_reset_mail
from trailroom.web.base import DashboardController, PageController
from trailroom.web.context import Page
from trailroom.web.signed_in import signed_in

TokenParam = Annotated[str | None, QueryParameter(name="token", max_length=200)]


class AccountEmailPages(PageController):
    @get("/forgot-password", summary="Ask for a password reset link")
    async def forgot_page(self, ctx: Page) -> Template:
        return ctx.render("pages/auth/forgot.html", values={}, errors={}, sent=False)

    @post("/forgot-password", summary="Mail a password reset link (form post)", status_code=200)
    async def forgot_submit(self, request: Request[Any, Any, Any], ctx: Page) -> Template:
        form = await ctx.form()
        email = form.get("email", "").strip()
        if not email:
            errors = {"email": "Enter the email address of your account."}
            return ctx.render("pages/auth/forgot.html", values={}, errors=errors, sent=False, status_code=422)
        emails = ctx.services.account_emails
        try:
            await emails.limit_reset_requests(client_ip(request))
        except RateLimited as exc:
            errors = {"form": f"Too many reset requests from this network. Try again in {exc.retry_after} seconds."}
            return ctx.render(
                "pages/auth/forgot.html", values={"email": email}, errors=errors, sent=False, status_code=429
            )
        # The same page whether or not the address has an account; the mail is written afterwards.
        page = ctx.render("pages/auth/forgot.html", values={"email": email}, errors={}, sent=True)
        page.background = BackgroundTask(send_reset_mail, emails, email)
        return page

    @get("/reset-password", summary="Choose a new password (the link of a reset mail)")
    async def reset_page(self, ctx: Page, token: TokenParam = None) -> Template:
        if not token or not await ctx.services.account_emails.reset_link_valid(token):
            return self._invalid_link(ctx)
        return ctx.render("pages/auth/reset.html", token=token, errors={})

    @post("/reset-password", summary="Set the new password (form post)", status_code=303)
    async def reset_submit(self, request: Request[Any, Any, Any], ctx: Page) -> Template | Redirect:
        form = await ctx.form()
        token, password, confirm = form.get("token", ""), form.get("password", ""), form.get("confirm_password", "")
        errors: dict[str, str] = {}
        if not password:
            errors["password"] = "Choose a new password."
        elif password != confirm:
            errors["confirm_password"] = "The two passwords do not match."
        if not errors:
            try:
                await ctx.services.account_emails.reset_password(token=token, password=password, ip=client_ip(request))
            except InvalidInput as exc:
                if exc.code == "invalid_reset_token":
                    return self._invalid_link(ctx)
                errors = {"password": exc.detail}
            except RateLimited as exc:
                errors = {"form": f"Too many attempts from this network. Try again in {exc.retry_after} seconds."}
            except Forbidden as exc:
                errors = {"form": exc.detail}
            else:
                return ctx.redirect(
                    "/login",
                    flash="Your password is changed and every session of the account is signed out. "
                    "Sign in with the new password.",
                )
        return ctx.render("pages/auth/reset.html", token=token, errors=errors, status_code=422)

    @get("/verify-email", summary="Confirm the email address (the link of a confirmation mail)")
    async def verify_page(self, request: Request[Any, Any, Any], ctx: Page, token: TokenParam = None) -> Template:
        try:
            if not token:
                raise InvalidInput("This confirmation link is incomplete.", code="invalid_verification_token")
            user = await ctx.services.account_emails.verify_email(token=token, ip=client_ip(request))
        except (InvalidInput, RateLimited) as exc:
            return ctx.render("pages/auth/verified.html", verified=False, detail=exc.detail, status_code=400)
        return ctx.render("pages/auth/verified.html", verified=True, email=user.email)

    @staticmethod
    def _invalid_link(ctx: Page) -> Template:
        return ctx.render("pages/auth/reset.html", token=None, errors={}, status_code=400)


class VerificationReminderPages(DashboardController):
    path = "/app/verify-email"

    @post("/resend", summary="Mail a new confirmation link (form post)", status_code=303)
    async def resend(self, ctx: Page) -> Redirect:
        await ctx.form()
        user = signed_in(ctx)
        try:
            await ctx.services.account_emails.resend_verification(user)
        except Conflict:
            return ctx.redirect("/app", flash="Your email address is confirmed already.", kind="info")
        except RateLimited as exc:
            return ctx.redirect(
                "/app", flash=f"A link was sent a moment ago. Try again in {exc.retry_after} seconds.", kind="warning"
            )
        return ctx.redirect("/app", flash=f"A new confirmation link is on its way to {user.email}.")
