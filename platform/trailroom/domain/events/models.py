"""The event outbox. Events are written in the same transaction as the change they describe."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pymongo
from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import IndexModel

from trailroom.core.clock import utcnow

TRYON_COMPLETED = "tryon.completed"
TRYON_FAILED = "tryon.failed"
CREDITS_LOW = "credits.low"
PAYMENT_COMPLETED = "payment.completed"
EVENT_TYPES = (TRYON_COMPLETED, TRYON_FAILED, CREDITS_LOW, PAYMENT_COMPLETED)


class DomainEvent(Document):
    account_id: PydanticObjectId
    type: str
    data: dict[str, Any]
    created_at: datetime = Field(default_factory=utcnow)
    # Set once a dispatcher has fanned the event out to webhook endpoints.
    dispatched_at: datetime | None = None
    # Set once the account owner has been mailed about the event (for the types that are mailed).
    mailed_at: datetime | None = None

    class Settings:
        name = "events"
        indexes = [
            IndexModel([("account_id", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING)], name="account_time"),
            IndexModel([("dispatched_at", pymongo.ASCENDING), ("created_at", pymongo.ASCENDING)], name="undispatched"),
            IndexModel(
                [("type", pymongo.ASCENDING), ("mailed_at", pymongo.ASCENDING), ("created_at", pymongo.ASCENDING)],
                name="unmailed",
            ),
        ]
