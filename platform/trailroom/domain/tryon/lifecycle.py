"""The try-on job's lifecycle: which status changes exist, and the one function that makes them.

    queued ──claim──▶ processing ──▶ completed
      │                  │  └──────▶ failed
      │                  └─retry───▶ queued (a new attempt, after a backoff)
      ├──▶ failed    (the images were never stored)
      └──▶ canceled  (by the account)

Every status change is `JobLifecycle.transition`: one conditional update filtered on the statuses
the table allows the target to be reached from (narrowed by the caller when it knows more, e.g. its
own attempt), so of two concurrent changes of one job exactly one happens; the loser is told and
changes nothing. What a status means besides itself is written here too: a job that ends loses its
inputs, one that fails or is canceled gets its credits back (once, in the same transaction), one
that completes or fails records its event in the outbox (same transaction), and every change is
published to the status streams once it is committed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Final

from beanie import PydanticObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from trailroom.core.blobs import BlobStore
from trailroom.core.clock import utcnow
from trailroom.core.logging import get_logger
from trailroom.core.redis import REDIS_UNAVAILABLE
from trailroom.core.transactions import in_transaction
from trailroom.domain.credits.services import CreditService
from trailroom.domain.events.models import TRYON_COMPLETED, TRYON_FAILED, DomainEvent
from trailroom.domain.tryon.models import TERMINAL, JobError, JobStatus, TryOnJob
from trailroom.resources import Resources

log = get_logger("trailroom.tryon")

# Status streams (SSE) subscribe to this channel plus the job id; each message is the new status.
STATUS_CHANNEL = "trailroom:tryon:"

# From status -> the statuses a job may move to. The terminal statuses lead nowhere.
ALLOWED: Final[Mapping[JobStatus, frozenset[JobStatus]]] = {
    JobStatus.QUEUED: frozenset({JobStatus.PROCESSING, JobStatus.FAILED, JobStatus.CANCELED}),
    JobStatus.PROCESSING: frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.QUEUED}),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELED: frozenset(),
}
# What reaching a status writes in the same transaction: its outbox event, a refund.
EVENTS: Final[Mapping[JobStatus, str]] = {JobStatus.COMPLETED: TRYON_COMPLETED, JobStatus.FAILED: TRYON_FAILED}
REFUNDED: Final = frozenset({JobStatus.FAILED, JobStatus.CANCELED})


class ForbiddenTransition(ValueError):
    """A caller asked for a status change the table does not allow (a bug, not a race)."""


def sources_of(to: JobStatus) -> frozenset[JobStatus]:
    """The statuses a job may reach `to` from."""
    return frozenset(origin for origin, targets in ALLOWED.items() if to in targets)


def allowed_sources(to: JobStatus, expected: JobStatus | Collection[JobStatus] | None) -> list[JobStatus]:
    """The statuses the update is filtered on: those the table allows for `to`, or the caller's
    narrower `expected`, which must all be allowed."""
    sources = sources_of(to)
    if expected is None:
        return sorted(sources)
    wanted = {expected} if isinstance(expected, JobStatus) else set(expected)
    refused = wanted - sources
    if refused or not wanted:
        names = ", ".join(sorted(s.value for s in refused)) or "nothing"
        raise ForbiddenTransition(f"a try-on job cannot move from {names} to {to.value}")
    return sorted(wanted)


def event_data(job: TryOnJob, status: JobStatus) -> dict[str, Any]:
    """The payload of a try-on event (and of its webhooks)."""
    return {
        "tryon_id": str(job.id),
        "status": status.value,
        "mode": job.mode,
        "batch_id": job.batch_id,
        "credits_charged": job.credits_charged,
        "status_url": f"/api/v1/tryon/{job.id}",
    }


class JobLifecycle:
    def __init__(self, resources: Resources, credits: CreditService, blobs: BlobStore) -> None:
        self.resources = resources
        self.credits = credits
        self.blobs = blobs

    async def transition(
        self,
        job_id: PydanticObjectId,
        to: JobStatus,
        *,
        expected: JobStatus | Collection[JobStatus] | None = None,
        where: Mapping[str, Any] | None = None,
        changes: Mapping[str, Any] | None = None,
        increments: Mapping[str, int] | None = None,
        error: JobError | None = None,
    ) -> TryOnJob | None:
        """Move a job to `to` if it is in one of the statuses the table allows (or `expected`, a
        subset) and matches `where`; set `changes` (and `error`), increment `increments`. Returns the
        job as updated, or None when it was not in such a status (someone else moved it first).

        Ending a job (failed, canceled) needs the `error` that ended it: it is stored, and names the
        refund."""
        if where is not None and "status" in where:
            raise ValueError("the status condition is the lifecycle's; pass `expected`")
        if changes is not None and "status" in changes:
            raise ValueError("the new status is `to`")
        if to in REFUNDED and error is None:
            raise ValueError(f"a job that ends {to.value} needs the error that ended it")
        sources = allowed_sources(to, expected)
        status = sources[0] if len(sources) == 1 else {"$in": sources}
        query = {"_id": job_id, "status": status, **(where or {})}
        fields: dict[str, Any] = {**(changes or {}), "status": to}
        if error is not None:
            fields["error"] = error.model_dump()
        if to in REFUNDED:
            fields["refunded"] = True
        if to in TERMINAL:
            fields.setdefault("completed_at", utcnow())
        update: dict[str, Any] = {"$set": fields}
        if increments:
            update["$inc"] = dict(increments)

        async def write(session: AsyncClientSession | None) -> TryOnJob | None:
            after = await TryOnJob.get_pymongo_collection().find_one_and_update(
                query, update, return_document=ReturnDocument.AFTER, session=session
            )
            if after is None:
                return None
            job: TryOnJob = TryOnJob.model_validate(after)
            if session is None:
                return job
            if to in REFUNDED:
                assert error is not None
                await self.credits.refund_in(
                    session,
                    job.account_id,
                    job_id=job_id,
                    free=job.charged_free,
                    purchased=job.charged_purchased,
                    reason=f"try-on {job_id} {to.value} ({error.code})",
                )
            if to in EVENTS:
                data = event_data(job, to)
                if to == JobStatus.FAILED:
                    data["error"] = fields["error"]
                await DomainEvent(account_id=job.account_id, type=EVENTS[to], data=data).insert(session=session)
            return job

        if to in EVENTS or to in REFUNDED:  # the change and what it implies commit together
            moved = await in_transaction(self.resources.mongo, write)
        else:  # a status alone: one write, no transaction (the claim is on the dispatch hot path)
            moved = await write(None)
        if moved is None:
            return None
        if to in REFUNDED:
            self.credits.changed(moved.account_id)
        if to in TERMINAL:
            await self.blobs.delete_prefix(f"inputs/{job_id}/")
        await self.publish(job_id, to)
        return moved

    async def fail(
        self, job_id: PydanticObjectId, error: JobError, *, from_status: JobStatus, attempt: int | None = None
    ) -> bool:
        """End a job failed and refund it, if it is still `from_status` (and still in `attempt`, when
        given: a late failure of an attempt the sweeper replaced must not end the newer one)."""
        where = {"attempts": attempt} if attempt is not None else None
        ended = await self.transition(job_id, JobStatus.FAILED, expected=from_status, where=where, error=error)
        return ended is not None

    async def publish(self, job_id: PydanticObjectId, status: JobStatus) -> None:
        """Tell status streams (SSE) about a change. Best effort: the database already holds the
        state, and a stream that misses a message reads it there."""
        try:
            await self.resources.redis.publish(f"{STATUS_CHANNEL}{job_id}", status.value)
        except REDIS_UNAVAILABLE as exc:
            log.debug("status not published; Redis is unavailable", job_id=str(job_id), error=repr(exc))
