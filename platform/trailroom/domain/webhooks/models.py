"""Persistence of webhooks: the endpoints an account registered and every delivery made to them.

Every query of `services.py` is served by one of the indexes declared here.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import pymongo
from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import IndexModel

from trailroom.core.clock import utcnow


class WebhookEndpoint(Document):
    """A URL an account wants events POSTed to. The secret signs every delivery (Standard Webhooks);
    it is needed in clear to sign, so it is stored as is and shown to the owner only on creation and
    rotation."""

    account_id: PydanticObjectId
    url: str
    events: list[str]
    description: str = ""
    secret: str  # "whsec_" + base64 of 24 random bytes
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    secret_rotated_at: datetime | None = None
    # Health: when deliveries started failing (cleared by a success), consecutive abandoned deliveries.
    failing_since: datetime | None = None
    abandoned_in_a_row: int = 0
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    # One deliverer at a time per endpoint (keeps deliveries in order): a lease taken by one
    # conditional update, given back when done, and expiring by itself if its holder died.
    lease_until: datetime | None = None
    lease_token: str | None = None

    class Settings:
        name = "webhook_endpoints"
        indexes = [
            IndexModel([("account_id", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING)], name="account_created"),
            # Fan-out: the enabled endpoints of an account subscribed to an event type.
            IndexModel(
                [("account_id", pymongo.ASCENDING), ("enabled", pymongo.ASCENDING), ("events", pymongo.ASCENDING)],
                name="account_subscriptions",
            ),
        ]

    @property
    def oid(self) -> PydanticObjectId:
        assert self.id is not None
        return self.id


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # not attempted yet
    FAILED = "failed"  # the last attempt failed; another is scheduled at `next_attempt_at`
    DELIVERED = "delivered"  # a 2xx answer
    ABANDONED = "abandoned"  # the retry schedule ran out (or the endpoint is gone); never retried


OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


class DeliveryAttempt(BaseModel):
    at: datetime
    status_code: int | None = None
    latency_ms: int
    error: str | None = None
    response_body: str | None = None  # the first KiB of the answer


class WebhookDelivery(Document):
    """One event for one endpoint. `webhook_id` is the Standard Webhooks message id: the same on every
    attempt, so a receiver can drop duplicates (delivery is at least once)."""

    endpoint_id: PydanticObjectId
    account_id: PydanticObjectId
    event_id: PydanticObjectId | None = None  # None for test events
    event_type: str
    webhook_id: str  # "msg_…"
    payload: str  # the exact JSON body signed and sent
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: list[DeliveryAttempt] = Field(default_factory=list)
    attempt_count: int = 0  # = len(attempts); the condition that makes recording an attempt happen once
    next_attempt_at: datetime | None = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None

    class Settings:
        name = "webhook_deliveries"
        indexes = [
            # The oldest open delivery of an endpoint (only it may be attempted: in-order delivery).
            IndexModel(
                [
                    ("endpoint_id", pymongo.ASCENDING),
                    ("status", pymongo.ASCENDING),
                    ("created_at", pymongo.ASCENDING),
                    ("_id", pymongo.ASCENDING),
                ],
                name="endpoint_queue",
            ),
            # The endpoint's delivery history, newest first (cursor pages), and removal with the endpoint.
            IndexModel(
                [("endpoint_id", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING), ("_id", pymongo.DESCENDING)],
                name="endpoint_history",
            ),
            # The cron: which endpoints have a delivery due.
            IndexModel([("status", pymongo.ASCENDING), ("next_attempt_at", pymongo.ASCENDING)], name="due"),
            # An event reaches an endpoint once, even if fan-out ran twice.
            IndexModel(
                [("endpoint_id", pymongo.ASCENDING), ("event_id", pymongo.ASCENDING)],
                unique=True,
                name="endpoint_event_unique",
                partialFilterExpression={"event_id": {"$type": "objectId"}},
            ),
        ]
