"""HTTP endpoints of usage analytics."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from trailroom.domain.accounts.guards import principal_of, requires_account
from trailroom.domain.analytics.services import GRANULARITIES, AnalyticsService, Period, period
from trailroom.server.contract import PROBLEMS


class UsagePoint(msgspec.Struct):
    period_start: datetime
    calls: int
    errors: int
    server_errors: int
    error_rate: float
    avg_latency_ms: float
    credits: int


class CreditsPoint(msgspec.Struct):
    period_start: datetime
    used: int
    refunded: int
    purchased: int
    free_granted: int
    adjusted: int


class EndpointStats(msgspec.Struct):
    method: str
    route: str
    calls: int
    errors: int
    error_rate: float
    avg_latency_ms: float


class Range(msgspec.Struct):
    start: datetime
    end: datetime
    granularity: str
    tz: str

    @classmethod
    def of(cls, p: Period) -> Range:
        return cls(start=p.start, end=p.end, granularity=p.granularity, tz=p.tz)


class UsageSeries(msgspec.Struct):
    range: Range
    data: list[UsagePoint]


class CreditsSeries(msgspec.Struct):
    range: Range
    data: list[CreditsPoint]


class EndpointsReport(msgspec.Struct):
    range: Range
    data: list[EndpointStats]


def provide_analytics(state: State) -> AnalyticsService:
    service: AnalyticsService = state.services.analytics
    return service


Start = Annotated[datetime | None, QueryParameter(name="from")]
End = Annotated[datetime | None, QueryParameter(name="to")]
Granularity = Annotated[str, QueryParameter(max_length=5, schema_extra={"enum": list(GRANULARITIES)})]
TimeZone = Annotated[str, QueryParameter(max_length=64)]


# `from` before `to`, at most 400 days, between 1970 and 9000; an IANA time zone (see the service).
RANGE_PROBLEMS = {422: ("invalid_range", "invalid_timezone")}


class AnalyticsController(Controller):
    path = "/api/v1/analytics"
    tags = ["Analytics"]
    guards = [requires_account]
    dependencies = {"analytics": Provide(provide_analytics, sync_to_thread=False)}

    @get("/usage", summary="Calls, errors, latency and credits per day, week or month", opt={PROBLEMS: RANGE_PROBLEMS})
    async def usage(
        self,
        request: Request[Any, Any, Any],
        analytics: NamedDependency[AnalyticsService],
        start: Start = None,
        end: End = None,
        granularity: Granularity = "day",
        tz: TimeZone = "UTC",
    ) -> UsageSeries:
        p = period(start, end, granularity, tz)
        rows = await analytics.usage(principal_of(request).user_id, p)
        return UsageSeries(range=Range.of(p), data=[UsagePoint(**r) for r in rows])

    @get(
        "/credits",
        summary="Credits used, refunded, bought and granted per period (from the ledger)",
        opt={PROBLEMS: RANGE_PROBLEMS},
    )
    async def credits(
        self,
        request: Request[Any, Any, Any],
        analytics: NamedDependency[AnalyticsService],
        start: Start = None,
        end: End = None,
        granularity: Granularity = "day",
        tz: TimeZone = "UTC",
    ) -> CreditsSeries:
        p = period(start, end, granularity, tz)
        rows = await analytics.credits(principal_of(request).user_id, p)
        return CreditsSeries(range=Range.of(p), data=[CreditsPoint(**r) for r in rows])

    @get("/endpoints", summary="Calls, error rate and latency per endpoint", opt={PROBLEMS: RANGE_PROBLEMS})
    async def endpoints(
        self,
        request: Request[Any, Any, Any],
        analytics: NamedDependency[AnalyticsService],
        start: Start = None,
        end: End = None,
        tz: TimeZone = "UTC",
    ) -> EndpointsReport:
        p = period(start, end, "day", tz)
        rows = await analytics.endpoints(principal_of(request).user_id, p)
        return EndpointsReport(range=Range.of(p), data=[EndpointStats(**r) for r in rows])
