"""The usage page's numbers: the analytics service's series, one row per period (empty periods as zeros),
labelled in the viewer's time zone, and drawn as SVG charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from trailroom.domain.analytics.services import Period
from trailroom.web.charts import Chart, Series, render

RANGES = {  # what the page offers: granularity → (label, span)
    "day": ("Last 30 days, by day", timedelta(days=30)),
    "week": ("Last 12 weeks, by week", timedelta(weeks=12)),
    "month": ("Last 12 months, by month", timedelta(days=365)),
}


@dataclass(frozen=True)
class UsageRow:
    start: datetime
    label: str
    calls: int
    errors: int
    error_rate: float  # percent
    avg_latency_ms: float
    credits_used: int
    credits_refunded: int
    credits_added: int


@dataclass(frozen=True)
class UsageView:
    rows: list[UsageRow]
    endpoints: list[dict[str, Any]]
    calls_chart: Markup
    credits_chart: Markup
    errors_chart: Markup
    total_calls: int
    total_errors: int
    total_credits_used: int

    @property
    def error_rate(self) -> float:
        return round(100 * self.total_errors / self.total_calls, 1) if self.total_calls else 0.0


def period_starts(p: Period) -> list[datetime]:
    """The local start of every day, week (Monday) or month that overlaps the period, as UTC times."""
    zone = ZoneInfo(p.tz)
    local = p.start.astimezone(zone)
    cursor = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    if p.granularity == "week":
        cursor -= timedelta(days=cursor.weekday())
    elif p.granularity == "month":
        cursor = cursor.replace(day=1)
    end = p.end.astimezone(zone).replace(tzinfo=None)
    starts = []
    while cursor < end:
        starts.append(cursor.replace(tzinfo=zone).astimezone(UTC))
        if p.granularity == "day":
            cursor += timedelta(days=1)
        elif p.granularity == "week":
            cursor += timedelta(weeks=1)
        else:
            cursor = cursor.replace(year=cursor.year + cursor.month // 12, month=cursor.month % 12 + 1)
    return starts


def period_label(start: datetime, granularity: str, tz: str) -> str:
    local = start.astimezone(ZoneInfo(tz))
    if granularity == "month":
        return local.strftime("%b %Y")
    return f"{local.strftime('%b')} {local.day}"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def build_usage_view(
    p: Period, usage: list[dict[str, Any]], credits: list[dict[str, Any]], endpoints: list[dict[str, Any]]
) -> UsageView:
    calls_by = {_utc(r["period_start"]): r for r in usage}
    credits_by = {_utc(r["period_start"]): r for r in credits}
    rows = []
    for start in period_starts(p):
        call = calls_by.get(start, {})
        credit = credits_by.get(start, {})
        calls = int(call.get("calls", 0))
        errors = int(call.get("errors", 0))
        rows.append(
            UsageRow(
                start=start,
                label=period_label(start, p.granularity, p.tz),
                calls=calls,
                errors=errors,
                error_rate=round(100 * errors / calls, 1) if calls else 0.0,
                avg_latency_ms=float(call.get("avg_latency_ms", 0.0)),
                credits_used=int(credit.get("used", 0)),
                credits_refunded=int(credit.get("refunded", 0)),
                credits_added=int(credit.get("purchased", 0))
                + int(credit.get("free_granted", 0))
                + int(credit.get("adjusted", 0)),
            )
        )
    labels = [r.label for r in rows]
    unit = {"day": "day", "week": "week", "month": "month"}[p.granularity]
    calls_chart = Chart(
        title="API calls",
        description=f"API calls and failed calls per {unit}, {labels[0] if labels else ''} to "
        f"{labels[-1] if labels else ''} ({p.tz}).",
        labels=labels,
        series=[Series("Calls", [r.calls for r in rows]), Series("Errors", [r.errors for r in rows], "danger")],
    )
    credits_chart = Chart(
        title="Credits",
        description=f"Credits used and refunded per {unit} ({p.tz}).",
        labels=labels,
        series=[
            Series("Used", [r.credits_used for r in rows]),
            Series("Refunded", [r.credits_refunded for r in rows], "muted"),
        ],
    )
    errors_chart = Chart(
        title="Error rate",
        description=f"Share of calls answered with an error (4xx or 5xx) per {unit}, in percent ({p.tz}).",
        labels=labels,
        series=[Series("Error rate", [r.error_rate for r in rows], "danger")],
        kind="line",
        unit="%",
    )
    return UsageView(
        rows=rows,
        endpoints=endpoints,
        calls_chart=render(calls_chart),
        credits_chart=render(credits_chart),
        errors_chart=render(errors_chart),
        total_calls=sum(r.calls for r in rows),
        total_errors=sum(r.errors for r in rows),
        total_credits_used=sum(r.credits_used for r in rows),
    )
