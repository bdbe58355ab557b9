"""Billing: a placeholder until purchases land, showing the balance and the real price list."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from litestar.response import Template

from trailroom.core.vocabulary import MODE_LABELS
from trailroom.domain.billing.pricing import FIXED_PLAN_CREDITS, MAX_CUSTOM_CREDITS, MIN_CUSTOM_CREDITS, PriceList
from trailroom.web.base import DashboardController
from trailroom.web.context import PageContext

# Sample purchases for the price table: the smallest, the fixed plan, and points up the discount curve.
EXAMPLE_CREDITS = (MIN_CUSTOM_CREDITS, 1000, FIXED_PLAN_CREDITS, 5000, 10_000, 25_000, MAX_CUSTOM_CREDITS)


class BillingPages(DashboardController):
    path = "/app/billing"

    @get("/", name="app:billing")
    async def billing(self, ctx: NamedDependency[PageContext]) -> Template:
        settings = ctx.settings
        quotes = [PriceList.of(settings).quote(c) for c in EXAMPLE_CREDITS]
        config = await ctx.services.runtime_config.current()
        return ctx.render(
            "pages/app/billing.html",
            quotes=quotes,
            fixed_plan=next(q for q in quotes if q.credits == FIXED_PLAN_CREDITS),
            costs=[(MODE_LABELS.get(mode, mode), config.cost_of(mode)) for mode in config.credit_costs],
        )
