"""The dashboard's home (`/app`) and settings (`/app/settings`: profile, password, billing details, API keys,
theme)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from trailroom.core.errors import Conflict, InvalidInput, NotFound, RateLimited
from trailroom.core.vocabulary import TryOnMode
from trailroom.domain.accounts.controllers import client_ip
from trailroom.domain.accounts.cookies import session_cookies
from trailroom.domain.accounts.models import ApiKey, ApiKeyKind
from trailroom.domain.invoices.details import BILLING_FIELDS, GST_STATES, parse_billing_details
from trailroom.domain.tryon.access import HistoryFilter
from trailroom.domain.tryon.models import TryOnJob
from trailroom.web.auth_pages import field_errors
from trailroom.web.base import DashboardController
from trailroom.web.context import Page
from trailroom.web.signed_in import account_id, signed_in

RECENT_TRYONS = 6


@dataclass(frozen=True)
class ChecklistStep:
    title: str
    detail: str
    href: str
    done: bool


def origins_from(text: str) -> list[str]:
    """The origins typed in the textarea: one per line (commas work too), blanks ignored."""
    return [origin.strip() for origin in text.replace(",", "\n").splitlines() if origin.strip()]


class HomeController(DashboardController):
    path = "/app"

    @get("/", summary="Dashboard home")
    async def home(self, ctx: Page) -> Template:
        user = signed_in(ctx)
        assert user.id is not None
        services = ctx.services
        recent, _ = await services.tryon.jobs.history(user.id, HistoryFilter(), cursor=None, limit=RECENT_TRYONS)
        has_key = await ApiKey.find_one(ApiKey.user_id == user.id) is not None
        has_webhook = bool(await services.webhooks.list_for(user.id))
        checklist = [
            ChecklistStep(
                "Create an API key", "Your server calls the API with a secret key.", "/app/settings#api-keys", has_key
            ),
            ChecklistStep(
                "Run your first try-on", "Upload a person and a garment photo.", "/app/generate", bool(recent)
            ),
            ChecklistStep(
                "Add a webhook", "Hear about finished try-ons without polling.", "/app/webhooks", has_webhook
            ),
        ]
        return ctx.render(
            "pages/app/home.html",
            recent=[(job, self._thumbnail(ctx, job)) for job in recent],
            checklist=checklist,
            checklist_done=sum(step.done for step in checklist),
            top_cost=await services.credits.cost_of(TryOnMode.TOP),
            notices=await services.accounts.open_notices(user.id),
        )

    @staticmethod
    def _thumbnail(ctx: Page, job: TryOnJob) -> str | None:
        if job.status.value != "completed" or not job.results:
            return None
        return ctx.services.tryon.jobs.result_url(job, 0)


class SettingsController(DashboardController):
    path = "/app/settings"

    @get("/", summary="Account settings")
    async def settings_page(self, ctx: Page) -> Template:
        return await self._render(ctx)

    @post("/profile", summary="Change the name", status_code=303)
    async def profile(self, ctx: Page) -> Template | Redirect:
        form = await ctx.form()
        try:
            await ctx.services.accounts.update_profile(signed_in(ctx), name=form.get("name", ""))
        except InvalidInput as exc:
            return await self._render(
                ctx, errors={"profile": {"name": exc.detail}}, values={"name": form.get("name", "")}, status_code=422
            )
        return ctx.redirect("/app/settings", flash="Your profile is saved.")

    @post("/password", summary="Change the password", status_code=303)
    async def password(self, request: Request[Any, Any, Any], ctx: Page) -> Template | Redirect:
        form = await ctx.form()
        new, confirm = form.get("new_password", ""), form.get("confirm_password", "")
        errors: dict[str, str] = {}
        if not new:
            errors["new_password"] = "Choose a new password."
        elif new != confirm:
            errors["confirm_password"] = "The two new passwords do not match."
        if not errors:
            try:
                tokens = await ctx.services.accounts.change_password(
                    signed_in(ctx),
                    current_password=form.get("current_password", ""),
                    new_password=new,
                    ip=client_ip(request),
                    user_agent=request.headers.get("user-agent"),
                )
            except InvalidInput as exc:
                errors = {"new_password" if k == "password" else k: v for k, v in field_errors(exc).items()}
            except RateLimited as exc:
                errors = {"form": f"Too many wrong passwords. Try again in {exc.retry_after} seconds."}
            else:
                return ctx.redirect(
                    "/app/settings",
                    flash="Your password is changed. Other browsers and devices were signed out.",
                    cookies=session_cookies(ctx.settings, tokens),  # a new session: its own CSRF token
                )
        return await self._render(ctx, errors={"password": errors}, status_code=422)

    @post("/billing", summary="Save the billing details invoices carry", status_code=303)
    async def billing(self, ctx: Page) -> Template | Redirect:
        form = await ctx.form()
        values = {name: form.get(name, "") for name in BILLING_FIELDS}
        given = {**values, "country": values["country"] or "IN", "gstin": values["gstin"] or None}
        try:
            details = parse_billing_details(given)
        except InvalidInput as exc:
            return await self._render(ctx, errors={"billing": field_errors(exc)}, values=values, status_code=422)
        await ctx.services.invoices.save_billing_details(account_id(ctx), details)
        return ctx.redirect("/app/settings#billing-details", flash="Your billing details are saved.")

    @post("/notices/{notice_id:str}/dismiss", summary="Dismiss a security notice", status_code=303)
    async def dismiss_notice(self, ctx: Page, notice_id: FromPath[str]) -> Redirect:
        form = await ctx.form()
        await ctx.services.accounts.dismiss_notice(account_id(ctx), notice_id)
        back = form.get("back", "/app/settings")
        return ctx.redirect(back if back.startswith("/app") else "/app/settings")

    @post("/keys", summary="Create an API key", status_code=201)
    async def create_key(self, ctx: Page) -> Template:
        form = await ctx.form()
        kind = form.get("kind", "secret")
        origins = origins_from(form.get("allowed_origins", ""))
        values = {"name": form.get("name", "").strip(), "kind": kind, "allowed_origins": "\n".join(origins)}
        if kind not in ("secret", "publishable"):
            return await self._render(
                ctx, errors={"key": {"kind": "Choose secret or publishable."}}, values=values, status_code=422
            )
        try:
            api_key, secret = await ctx.services.api_keys.generate(
                signed_in(ctx), name=values["name"], kind=ApiKeyKind(kind), allowed_origins=origins
            )
        except (InvalidInput, Conflict) as exc:
            return await self._render(ctx, errors={"key": field_errors(exc)}, values=values, status_code=422)
        # The key is shown on this response only (never stored, never put in a redirect).
        return await self._render(ctx, new_key=(api_key, secret), status_code=201)

    @post("/keys/{key_id:str}/regenerate", summary="Replace a key's secret", status_code=200)
    async def regenerate_key(self, ctx: Page, key_id: FromPath[str]) -> Template | Redirect:
        asking = await ctx.confirmed(
            title="Regenerate the key?",
            question="The current key stops working at once; the new one is shown once.",
            button="Regenerate",
            back="/app/settings#api-keys",
        )
        if asking is not None:
            return asking
        try:
            api_key, secret = await ctx.services.api_keys.regenerate(signed_in(ctx), key_id)
        except NotFound:
            return ctx.redirect("/app/settings#api-keys", flash="That key no longer exists.", kind="warning")
        return await self._render(ctx, new_key=(api_key, secret), regenerated=True)

    @post("/keys/{key_id:str}/delete", summary="Delete a key", status_code=303)
    async def delete_key(self, ctx: Page, key_id: FromPath[str]) -> Template | Redirect:
        asking = await ctx.confirmed(
            title="Delete the key?",
            question="Requests made with it will fail from now on.",
            button="Delete key",
            back="/app/settings#api-keys",
        )
        if asking is not None:
            return asking
        try:
            await ctx.services.api_keys.delete(signed_in(ctx), key_id)
        except NotFound:
            return ctx.redirect("/app/settings#api-keys", flash="That key no longer exists.", kind="warning")
        return ctx.redirect("/app/settings#api-keys", flash="The key is deleted; requests with it now fail.")

    async def _render(
        self,
        ctx: Page,
        *,
        errors: dict[str, dict[str, str]] | None = None,
        values: dict[str, str] | None = None,
        new_key: tuple[ApiKey, str] | None = None,
        regenerated: bool = False,
        status_code: int = 200,
    ) -> Template:
        user = signed_in(ctx)
        keys = await ctx.services.api_keys.list_for(user)
        errors = errors or {}
        return ctx.render(
            "pages/app/settings.html",
            status_code=status_code,
            keys=keys,
            new_key=new_key,
            regenerated=regenerated,
            errors={section: errors.get(section, {}) for section in ("profile", "password", "key", "billing")},
            billing=user.billing,
            gst_states=GST_STATES.values(),
            values=values or {},
            has_password=user.password_hash is not None,
            notices=await ctx.services.accounts.open_notices(account_id(ctx)),
        )
