"""Webhooks: the account's endpoints, creating one (its secret shown once), enabling and disabling,
rotating the secret, a test send, deletion, and each endpoint's delivery log with its attempts.

Every action is a plain form post (CSRF-checked) answered with a redirect, except the two that
reveal a secret: those render the page directly, so the secret never travels in a cookie or URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from trailroom.core.errors import TrailRoomError
from trailroom.domain.events.models import EVENT_TYPES
from trailroom.domain.webhooks.messages import TEST_EVENT
from trailroom.domain.webhooks.models import WebhookEndpoint
from trailroom.web.base import DashboardController
from trailroom.web.context import PageContext
from trailroom.web.signed_in import account_id

EVENT_HELP = {
    "tryon.completed": "A try-on finished; its results are ready.",
    "tryon.failed": "A try-on failed; its credits were returned.",
    "credits.low": "The balance fell below the low-balance threshold.",
    "payment.completed": "A credit purchase was paid.",
}
DELIVERIES_PER_PAGE = 20


class WebhookPages(DashboardController):
    path = "/app/webhooks"

    async def _list(
        self,
        ctx: NamedDependency[PageContext],
        *,
        new_secret: tuple[WebhookEndpoint, str] | None = None,
        error: str | None = None,
        form: Mapping[str, object] | None = None,
        status_code: int = 200,
    ) -> Template:
        endpoints = await ctx.services.webhooks.list_for(account_id(ctx))
        return ctx.render(
            "pages/app/webhooks.html",
            status_code=status_code,
            endpoints=endpoints,
            events=[(e, EVENT_HELP.get(e, "")) for e in EVENT_TYPES],
            new_secret=new_secret,
            error=error,
            form=form or {"url": "", "description": "", "events": ["tryon.completed", "tryon.failed"]},
        )

    @get("/", name="app:webhooks")
    async def index(self, ctx: NamedDependency[PageContext]) -> Template:
        return await self._list(ctx)

    @post("/")
    async def create(self, ctx: NamedDependency[PageContext]) -> Template:
        fields = await ctx.form()
        events = (await ctx.form_lists()).get("events", [])
        form = {"url": fields.get("url", ""), "description": fields.get("description", ""), "events": events}
        try:
            endpoint = await ctx.services.webhooks.create(
                account_id(ctx),
                url=fields.get("url", ""),
                events=events,
                description=fields.get("description", "")[:200],
            )
        except TrailRoomError as exc:
            return await self._list(ctx, error=exc.detail, form=form, status_code=422)
        return await self._list(ctx, new_secret=(endpoint, endpoint.secret), status_code=201)

    @get("/{endpoint_id:str}", name="app:webhook")
    async def show(
        self,
        ctx: NamedDependency[PageContext],
        endpoint_id: FromPath[str],
        cursor: Annotated[str, QueryParameter(max_length=200)] = "",
    ) -> Template:
        webhooks = ctx.services.webhooks
        owner = account_id(ctx)
        endpoint = await webhooks.get(owner, endpoint_id)
        page = await webhooks.deliveries(owner, endpoint_id, cursor=cursor or None, limit=DELIVERIES_PER_PAGE)
        return ctx.render(
            "pages/app/webhook.html",
            endpoint=endpoint,
            deliveries=page.items,
            next_cursor=page.next_cursor,
            test_event=TEST_EVENT,
            events=[(e, EVENT_HELP.get(e, "")) for e in EVENT_TYPES],
        )

    @post("/{endpoint_id:str}/enabled")
    async def set_enabled(self, ctx: NamedDependency[PageContext], endpoint_id: FromPath[str]) -> Redirect:
        fields = await ctx.form()
        enabled = fields.get("enabled") == "true"
        await ctx.services.webhooks.update(account_id(ctx), endpoint_id, enabled=enabled)
        text = "Endpoint enabled; waiting deliveries go out now." if enabled else "Endpoint disabled."
        return ctx.redirect(_back(fields, endpoint_id), flash=text)

    @post("/{endpoint_id:str}/rotate")
    async def rotate(self, ctx: NamedDependency[PageContext], endpoint_id: FromPath[str]) -> Template:
        asking = await ctx.confirmed(
            title="Rotate the secret?",
            question="The old secret stops working at once; the new one is shown once.",
            button="Rotate secret",
            back="/app/webhooks",
        )
        if asking is not None:
            return asking
        endpoint = await ctx.services.webhooks.rotate_secret(account_id(ctx), endpoint_id)
        return await self._list(ctx, new_secret=(endpoint, endpoint.secret))

    @post("/{endpoint_id:str}/test")
    async def test(self, ctx: NamedDependency[PageContext], endpoint_id: FromPath[str]) -> Redirect:
        await ctx.form()
        delivery = await ctx.services.webhooks.send_test(account_id(ctx), endpoint_id)
        last = delivery.attempts[-1] if delivery.attempts else None
        if delivery.status.value == "delivered" and last is not None:
            text = f"Test event delivered: HTTP {last.status_code} in {last.latency_ms} ms."
            return ctx.redirect(f"/app/webhooks/{endpoint_id}", flash=text)
        reason = (last.error or f"HTTP {last.status_code}") if last else "no answer"
        return ctx.redirect(f"/app/webhooks/{endpoint_id}", flash=f"Test event not delivered: {reason}.", kind="error")

    @post("/{endpoint_id:str}/delete")
    async def delete(self, ctx: NamedDependency[PageContext], endpoint_id: FromPath[str]) -> Template | Redirect:
        asking = await ctx.confirmed(
            title="Delete the endpoint?",
            question="Nothing more is sent to it, and its delivery log goes with it.",
            button="Delete endpoint",
            back="/app/webhooks",
        )
        if asking is not None:
            return asking
        await ctx.services.webhooks.delete(account_id(ctx), endpoint_id)
        return ctx.redirect("/app/webhooks", flash="Endpoint deleted; nothing more is sent to it.")


def _back(fields: dict[str, str], endpoint_id: str) -> str:
    return f"/app/webhooks/{endpoint_id}" if fields.get("back") == "detail" else "/app/webhooks"
