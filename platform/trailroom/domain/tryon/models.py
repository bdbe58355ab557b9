"""Persistence of try-on jobs. Which status changes exist, and how they are made, is `lifecycle.py`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import pymongo
from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import IndexModel

from trailroom.core.clock import utcnow
from trailroom.core.vocabulary import DEFAULT_GARMENT_PHOTO_TYPE, DEFAULT_OUTPUT_FORMAT, DEFAULT_QUALITY


class JobStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"


# The statuses by what they mean for an account (the transitions between them: lifecycle.ALLOWED).
TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED})
IN_FLIGHT = (JobStatus.QUEUED, JobStatus.PROCESSING)


class StoredImage(BaseModel):
    key: str
    media_type: str
    width: int
    height: int


class JobError(BaseModel):
    code: str
    detail: str


class TryOnJob(Document):
    account_id: PydanticObjectId
    api_key_id: PydanticObjectId | None = None
    # How it was created (session, secret_key, publishable_key): only publishable-key jobs are readable
    # by a publishable key, and then only by their shopper with the job's client secret.
    via: str | None = None
    status: JobStatus = JobStatus.QUEUED
    mode: str
    samples: int = 1
    seed: int = 0
    output_format: str = DEFAULT_OUTPUT_FORMAT.value
    quality: str = DEFAULT_QUALITY.value
    garment_photo_type: str = DEFAULT_GARMENT_PHOTO_TYPE.value
    # Blob keys of the inputs by role (person, garment, bottom); removed once the job ends.
    inputs: dict[str, str] = Field(default_factory=dict)
    inputs_stored: bool = False
    credits_charged: int = 0
    charged_free: int = 0
    charged_purchased: int = 0
    refunded: bool = False
    idempotency_key: str | None = None
    request_hash: str | None = None
    batch_id: str | None = None
    client: dict[str, Any] = Field(default_factory=dict)  # origin, shopper id: for abuse checks
    engine: str | None = None
    prompt_version: int | None = None
    attempts: int = 0
    max_attempts: int = 3
    results: list[StoredImage] = Field(default_factory=list)
    error: JobError | None = None
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    heartbeat_at: datetime | None = None
    completed_at: datetime | None = None
    results_expire_at: datetime | None = None

    # -- hand-off to the queue (an outbox: the database is the truth for accepted jobs) ----------
    # The current attempt is in the SAQ queue. Written False with the job (and by a retry); the API
    # queues it after the commit when Redis answers, else the worker's dispatcher does.
    dispatched: bool = False
    dispatch_at: datetime = Field(default_factory=utcnow)  # not queued before this (a retry's backoff)
    enqueued_at: datetime | None = None  # when the current attempt was last put in the queue

    @property
    def oid(self) -> PydanticObjectId:
        """The id of a job that has been built for saving (ids are assigned before insert)."""
        assert self.id is not None
        return self.id

    class Settings:
        name = "tryon_jobs"
        indexes = [
            IndexModel(
                [("account_id", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING), ("_id", pymongo.DESCENDING)],
                name="account_history",
            ),
            IndexModel([("account_id", pymongo.ASCENDING), ("status", pymongo.ASCENDING)], name="account_status"),
            IndexModel(
                [("account_id", pymongo.ASCENDING), ("idempotency_key", pymongo.ASCENDING)],
                unique=True,
                name="idempotency_unique",
                partialFilterExpression={"idempotency_key": {"$type": "string"}},
            ),
            IndexModel([("status", pymongo.ASCENDING), ("heartbeat_at", pymongo.ASCENDING)], name="sweeper"),
            IndexModel([("results_expire_at", pymongo.ASCENDING)], name="retention"),
        ]
        # The dispatcher's query: only jobs not yet handed to the queue are in it.
        indexes += [
            IndexModel(
                [("dispatched", pymongo.ASCENDING), ("dispatch_at", pymongo.ASCENDING)],
                name="outbox",
                partialFilterExpression={"dispatched": False},
            )
        ]
