"""Public pages: the landing page (with the pricing calculator), the terms, and the theme switch."""

from __future__ import annotations

from typing import Annotated

from litestar import get, post
from litestar.datastructures import Cookie
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from trailroom.core.paths import safe_next
from trailroom.domain.billing.pricing import (
    FIXED_PLAN_CREDITS,
    MAX_CUSTOM_CREDITS,
    MIN_CUSTOM_CREDITS,
    PriceList,
)
from trailroom.web.base import PageController
from trailroom.web.context import THEME_COOKIE, THEMES, Page
from trailroom.web.demo import DEMO_PAIRS

THEME_MAX_AGE = 365 * 24 * 3600
CALCULATOR_STEP = 100


class PublicPagesController(PageController):
    @get("/", summary="The landing page")
    async def landing(
        self,
        ctx: Page,
        credits: Annotated[str | None, QueryParameter(max_length=12)] = None,
        demo: Annotated[str | None, QueryParameter(max_length=40)] = None,
    ) -> Template:
        settings = ctx.settings
        chosen, notice = FIXED_PLAN_CREDITS, None
        if credits is not None:
            try:
                chosen = int(credits.replace(",", "").strip())
            except ValueError:
                notice = "Enter a whole number of credits."
            else:
                if not MIN_CUSTOM_CREDITS <= chosen <= MAX_CUSTOM_CREDITS:
                    notice = f"Choose between {MIN_CUSTOM_CREDITS:,} and {MAX_CUSTOM_CREDITS:,} credits."
                    chosen = min(max(chosen, MIN_CUSTOM_CREDITS), MAX_CUSTOM_CREDITS)
        price = PriceList.of(settings).quote(chosen)
        fixed = PriceList.of(settings).quote(FIXED_PLAN_CREDITS)
        return ctx.render(
            "pages/landing.html",
            quote=price,
            fixed_plan=fixed,
            calculator_notice=notice,
            min_credits=MIN_CUSTOM_CREDITS,
            max_credits=MAX_CUSTOM_CREDITS,
            step=CALCULATOR_STEP,
            free_daily=settings.free_daily_credits,
            demo_pairs=DEMO_PAIRS,
            demo_pair=next((pair for pair in DEMO_PAIRS if pair.slug == demo), DEMO_PAIRS[0]),
            fixed_plan_credits=FIXED_PLAN_CREDITS,
        )

    @get("/terms", summary="Terms of service")
    async def terms(self, ctx: Page) -> Template:
        return ctx.render("pages/terms.html")

    @post("/theme", summary="Remember the colour theme (light, dark or system)", status_code=303)
    async def set_theme(self, ctx: Page) -> Redirect:
        form = await ctx.form()
        theme = form.get("theme", "system")
        theme = theme if theme in THEMES else "system"
        # Readable by the page's script, which switches the theme without a round trip.
        cookie = Cookie(
            key=THEME_COOKIE,
            value=theme,
            max_age=THEME_MAX_AGE,
            httponly=False,
            secure=ctx.settings.secure_cookies,
            samesite="lax",
            path="/",
        )
        return ctx.redirect(safe_next(form.get("next"), "/"), cookies=[cookie])
