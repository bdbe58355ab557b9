"""Usage: calls, credits and errors over time, as SVG charts with the same numbers in tables."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Template

from trailroom.core.errors import InvalidInput
from trailroom.domain.analytics.services import period
from trailroom.web.base import DashboardController
from trailroom.web.context import PageContext
from trailroom.web.signed_in import account_id
from trailroom.web.usage_view import RANGES, build_usage_view

# Offered in the time-zone menu; the page's script adds the browser's own zone when it is missing.
COMMON_ZONES = (
    "UTC",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
)


class UsagePages(DashboardController):
    path = "/app/usage"

    @get("/", name="app:usage")
    async def usage(
        self,
        ctx: NamedDependency[PageContext],
        granularity: Annotated[str, QueryParameter(max_length=5)] = "day",
        tz: Annotated[str, QueryParameter(max_length=64)] = "UTC",
    ) -> Template:
        error = None
        if granularity not in RANGES:
            granularity, error = "day", "Choose days, weeks or months."
        try:
            p = period(None, None, granularity, tz)
        except InvalidInput as exc:
            error = exc.detail
            tz = "UTC"
            p = period(None, None, granularity, tz)
        analytics = ctx.services.analytics
        owner = account_id(ctx)
        view = build_usage_view(
            p,
            await analytics.usage(owner, p),
            await analytics.credits(owner, p),
            await analytics.endpoints(owner, p),
        )
        zones = COMMON_ZONES if tz in COMMON_ZONES else (tz, *COMMON_ZONES)
        return ctx.render(
            "pages/app/usage.html",
            view=view,
            granularity=granularity,
            ranges=RANGES,
            tz=tz,
            zones=zones,
            error=error,
        )
