"""Notable calls one by one (errors and charged calls, kept 30 days) and the hourly roll-up of every
call (kept for good), both indexed for the queries."""

from __future__ import annotations

from datetime import datetime

import pymongo
from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import IndexModel

from trailroom.core.clock import utcnow

RAW_RETENTION_S = 30 * 86_400


class UsageEvent(Document):
    account_id: PydanticObjectId
    api_key_id: PydanticObjectId | None = None
    method: str
    route: str  # the route template, e.g. /api/v1/tryon/{job_id:str}
    status: int
    latency_ms: float
    credits: int = 0
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "usage_events"
        indexes = [
            IndexModel([("account_id", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING)], name="account_time"),
            IndexModel([("created_at", pymongo.ASCENDING)], expireAfterSeconds=RAW_RETENTION_S, name="retention_ttl"),
        ]


class UsageHourly(Document):
    account_id: PydanticObjectId
    hour: datetime  # start of the UTC hour
    method: str
    route: str
    calls: int = 0
    errors: int = 0  # answers with status >= 400
    server_errors: int = 0  # status >= 500
    latency_ms_total: float = 0.0
    credits: int = 0

    class Settings:
        name = "usage_hourly"
        indexes = [
            IndexModel(
                [
                    ("account_id", pymongo.ASCENDING),
                    ("hour", pymongo.ASCENDING),
                    ("method", pymongo.ASCENDING),
                    ("route", pymongo.ASCENDING),
                ],
                unique=True,
                name="account_hour_route",
            ),
        ]
