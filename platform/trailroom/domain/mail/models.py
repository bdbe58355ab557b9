"""Persistence of outgoing mail. The database is the truth for a mail: the queue only carries its id."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import pymongo
from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import IndexModel

from trailroom.core.clock import utcnow


class MailStatus(StrEnum):
    QUEUED = "queued"  # stored, waiting for (or between) send attempts
    SENT = "sent"  # the SMTP server accepted it
    FAILED = "failed"  # refused for good, or out of attempts
    OUTBOX = "outbox"  # dev: no SMTP server configured, kept for /dev/outbox


class StoredAttachment(BaseModel):
    filename: str
    content_type: str
    content: bytes


class OutgoingMail(Document):
    to: str
    subject: str
    text: str
    html: str
    attachments: list[StoredAttachment] = Field(default_factory=list)
    template: str
    account_id: PydanticObjectId | None = None
    status: MailStatus = MailStatus.QUEUED
    attempts: int = 0
    # What went wrong last (the SMTP reply or the error's kind), never credentials.
    last_error: str | None = None
    # A send in progress holds the mail until then: two jobs for one mail never both send it.
    lease_until: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None

    class Settings:
        name = "mail"
        indexes = [
            IndexModel([("created_at", pymongo.DESCENDING)], name="newest"),
            IndexModel([("status", pymongo.ASCENDING), ("created_at", pymongo.ASCENDING)], name="status_time"),
            IndexModel([("account_id", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING)], name="account_time"),
        ]
