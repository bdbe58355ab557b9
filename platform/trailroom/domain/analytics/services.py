"""Usage, credit and endpoint analytics of one account, aggregated in MongoDB by period and time zone.

Calls come from the hourly roll-up (account, hour index), credits from the ledger (account, time
index). Periods are cut in the caller's time zone with $dateTrunc; hourly buckets are UTC hours, so
in time zones with a half-hour offset a period edge may shift by up to 30 minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from beanie import PydanticObjectId

from trailroom.core.clock import utcnow
from trailroom.core.errors import InvalidInput
from trailroom.domain.analytics.models import UsageHourly
from trailroom.domain.credits.models import CreditTransaction

GRANULARITIES = ("day", "week", "month")
DEFAULT_SPAN = {"day": timedelta(days=30), "week": timedelta(weeks=12), "month": timedelta(days=365)}
MAX_SPAN = timedelta(days=400)


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    granularity: str
    tz: str


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def period(
    start: datetime | None, end: datetime | None, granularity: str, tz: str, *, now: datetime | None = None
) -> Period:
    """A validated query period (naive datetimes are read in `tz`)."""
    if granularity not in GRANULARITIES:
        raise InvalidInput("granularity must be day, week or month", code="invalid_range", field="granularity")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"Unknown time zone {tz!r}; use an IANA name like Europe/Berlin.", code="invalid_timezone", field="tz"
        ) from exc
    try:
        end = (_aware(end, zone) if end else (now or utcnow())).astimezone(UTC)
        start = (_aware(start, zone) if start else end - DEFAULT_SPAN[granularity]).astimezone(UTC)
    except OverflowError:  # a date at the edge of datetime's range (year 1 or 9999)
        start = end = datetime.min.replace(tzinfo=UTC)
    # Periods are stepped through by day, week or month later: keep far from datetime's edges.
    if not (start >= EARLIEST and end <= LATEST):
        raise InvalidInput("from and to must lie between 1970 and 9000.", code="invalid_range", field="to")
    if start >= end:
        raise InvalidInput("from must be before to", code="invalid_range", field="from")
    if end - start > MAX_SPAN:
        raise InvalidInput("The range can span at most 400 days.", code="invalid_range", field="from")
    return Period(start=start, end=end, granularity=granularity, tz=tz)


def _aware(value: datetime, zone: ZoneInfo) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=zone)


def _rates(calls: int, errors: int, latency_ms_total: float) -> dict[str, float]:
    return {
        "error_rate": round(errors / calls, 4) if calls else 0.0,
        "avg_latency_ms": round(latency_ms_total / calls, 1) if calls else 0.0,
    }


def _bucket(field: str, p: Period) -> dict[str, Any]:
    return {"$dateTrunc": {"date": f"${field}", "unit": p.granularity, "timezone": p.tz, "startOfWeek": "monday"}}


async def _aggregate(model: Any, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cursor = await model.get_pymongo_collection().aggregate(pipeline)
    rows: list[dict[str, Any]] = await cursor.to_list()
    return rows


class AnalyticsService:
    async def usage(self, account_id: PydanticObjectId, p: Period) -> list[dict[str, Any]]:
        hour_start = p.start.replace(minute=0, second=0, microsecond=0)
        rows = await _aggregate(
            UsageHourly,
            [
                {"$match": {"account_id": account_id, "hour": {"$gte": hour_start, "$lt": p.end}}},
                {
                    "$group": {
                        "_id": _bucket("hour", p),
                        "calls": {"$sum": "$calls"},
                        "errors": {"$sum": "$errors"},
                        "server_errors": {"$sum": "$server_errors"},
                        "latency": {"$sum": "$latency_ms_total"},
                        "credits": {"$sum": "$credits"},
                    }
                },
                {"$sort": {"_id": 1}},
            ],
        )
        return [
            {
                "period_start": r["_id"],
                "calls": r["calls"],
                "errors": r["errors"],
                "server_errors": r["server_errors"],
                **_rates(r["calls"], r["errors"], r["latency"]),
                "credits": r["credits"],
            }
            for r in rows
        ]

    async def credits(self, account_id: PydanticObjectId, p: Period) -> list[dict[str, Any]]:
        rows = await _aggregate(
            CreditTransaction,
            [
                {"$match": {"account_id": account_id, "created_at": {"$gte": p.start, "$lt": p.end}}},
                {
                    "$group": {
                        "_id": {"period": _bucket("created_at", p), "kind": "$kind"},
                        "amount": {"$sum": "$amount"},
                    }
                },
                {"$sort": {"_id.period": 1}},
            ],
        )
        periods: dict[datetime, dict[str, Any]] = {}
        for row in rows:
            start = row["_id"]["period"]
            entry = periods.setdefault(
                start,
                {"period_start": start, "used": 0, "refunded": 0, "purchased": 0, "free_granted": 0, "adjusted": 0},
            )
            key = {
                "usage": "used",
                "refund": "refunded",
                "purchase": "purchased",
                "payment_refund": "purchased",  # a refunded purchase nets out of what was bought
                "free_grant": "free_granted",
                "admin_adjust": "adjusted",
            }[row["_id"]["kind"]]
            entry[key] += -row["amount"] if key == "used" else row["amount"]
        return [periods[k] for k in sorted(periods)]

    async def endpoints(self, account_id: PydanticObjectId, p: Period) -> list[dict[str, Any]]:
        hour_start = p.start.replace(minute=0, second=0, microsecond=0)
        rows = await _aggregate(
            UsageHourly,
            [
                {"$match": {"account_id": account_id, "hour": {"$gte": hour_start, "$lt": p.end}}},
                {
                    "$group": {
                        "_id": {"method": "$method", "route": "$route"},
                        "calls": {"$sum": "$calls"},
                        "errors": {"$sum": "$errors"},
                        "latency": {"$sum": "$latency_ms_total"},
                    }
                },
                {"$sort": {"calls": -1}},
            ],
        )
        return [
            {
                "method": r["_id"]["method"],
                "route": r["_id"]["route"],
                "calls": r["calls"],
                "errors": r["errors"],
                **_rates(r["calls"], r["errors"], r["latency"]),
            }
            for r in rows
        ]
