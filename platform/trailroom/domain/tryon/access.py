"""Reading try-ons and the account's actions on them: who may read a job, history, results and their
signed URLs, cancel and delete.

An account (session or secret key) reads all of its jobs. A publishable key reads only a job it
created, for the same platform-issued shopper id, with the client secret handed out at creation;
anything else is "not found", so an id alone grants nothing. Job ids are random.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId

from trailroom.core.blobs import BlobStore
from trailroom.core.errors import Conflict, Forbidden, NotFound
from trailroom.core.ids import parse_object_id
from trailroom.core.pagination import NEWEST_FIRST, after_cursor, page_cursor
from trailroom.domain.accounts.principal import Principal, Via
from trailroom.domain.tryon.lifecycle import JobLifecycle
from trailroom.domain.tryon.models import JobError, JobStatus, StoredImage, TryOnJob
from trailroom.domain.tryon.shopper_ids import ShopperIds

RESULT_URL_TTL_S = 3600


@dataclass(frozen=True)
class JobReader:
    """Who asks for a job. `key_id`, `shopper_id` and `client_secret` are set for publishable keys only."""

    account_id: PydanticObjectId
    key_id: PydanticObjectId | None = None
    shopper_id: str | None = None
    client_secret: str | None = None


@dataclass(frozen=True)
class HistoryFilter:
    mode: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class JobAccess:
    def __init__(self, blobs: BlobStore, lifecycle: JobLifecycle, shopper_ids: ShopperIds, secret: bytes) -> None:
        self.blobs = blobs
        self.lifecycle = lifecycle
        self.shopper_ids = shopper_ids
        self._secret = secret

    def client_secret(self, job: TryOnJob) -> str | None:
        """The per-job secret a publishable key reads its job with (None for jobs of other callers).
        Derived, not stored: an idempotent replay of the create call can hand it out again."""
        shopper = job.client.get("shopper_id")
        if job.api_key_id is None or job.via != Via.PUBLISHABLE_KEY or not shopper:
            return None
        message = f"tryon-client-secret:{job.id}:{job.api_key_id}:{shopper}".encode()
        return "tcs_" + hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:40]

    def reader(self, principal: Principal, *, shopper_token: str | None, client_secret: str | None) -> JobReader:
        if principal.via != Via.PUBLISHABLE_KEY:
            return JobReader(account_id=principal.user_id)
        return JobReader(
            account_id=principal.user_id,
            key_id=principal.api_key_id,
            shopper_id=self.shopper_ids.verify(str(principal.api_key_id), shopper_token),
            client_secret=client_secret,
        )

    async def get(self, account_id: PydanticObjectId, job_id: str) -> TryOnJob:
        """A job of the account (for its sessions and secret keys)."""
        object_id = parse_object_id(job_id)
        job = (
            await TryOnJob.find_one(TryOnJob.id == object_id, TryOnJob.account_id == account_id) if object_id else None
        )
        if job is None:
            raise _not_found()
        return job

    async def get_for(self, reader: JobReader, job_id: str) -> TryOnJob:
        """A job as `reader` may see it: the whole account's, or a publishable key's own shopper's."""
        job = await self.get(reader.account_id, job_id)
        if reader.key_id is None:
            return job
        expected = self.client_secret(job)
        if (
            expected is None
            or job.api_key_id != reader.key_id
            or reader.shopper_id is None
            or job.client.get("shopper_id") != reader.shopper_id
            or not hmac.compare_digest(expected, reader.client_secret or "")
        ):
            raise _not_found()
        return job

    async def history(
        self, account_id: PydanticObjectId, filters: HistoryFilter, *, cursor: str | None, limit: int
    ) -> tuple[list[TryOnJob], str | None]:
        query: dict[str, Any] = {"account_id": account_id, **after_cursor(cursor)}
        if filters.mode:
            query["mode"] = filters.mode
        if filters.status:
            query["status"] = filters.status
        if filters.since or filters.until:
            query["created_at"] = {
                **({"$gte": filters.since} if filters.since else {}),
                **({"$lt": filters.until} if filters.until else {}),
            }
            if "$or" in query:  # combine the cursor's condition with the date range
                query = {"$and": [{k: v for k, v in query.items() if k != "$or"}, {"$or": query["$or"]}]}
        fetched = await TryOnJob.find(query).sort(NEWEST_FIRST).limit(limit + 1).to_list()  # type: ignore[arg-type]
        return page_cursor(fetched, limit)

    async def result_images(self, job: TryOnJob) -> list[tuple[StoredImage, bytes]]:
        if job.status != JobStatus.COMPLETED:
            raise Conflict(
                f"The try-on is {job.status.value}; results exist once it is completed.",
                code="tryon_not_completed",
                status=job.status.value,
            )
        if not job.results:
            raise NotFound("The results of this try-on have expired or were deleted.", code="results_gone")
        return [(image, await self.blobs.get(image.key)) for image in job.results]

    # -- signed result URLs ------------------------------------------------------------------------

    def _signature(self, job_id: str, index: int, expires: int) -> str:
        message = f"tryon-result:{job_id}:{index}:{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def result_url(self, job: TryOnJob, index: int, *, now: float | None = None) -> str:
        expires = int((now or time.time()) + RESULT_URL_TTL_S)
        signature = self._signature(str(job.id), index, expires)
        return f"/api/v1/tryon/{job.id}/result/{index}?expires={expires}&signature={signature}"

    async def signed_result(self, job_id: str, index: int, expires: int, signature: str) -> tuple[StoredImage, bytes]:
        """The result image a signed URL points at; the URL is the only credential."""
        # Bytes: compare_digest refuses str with non-ASCII characters (TypeError, a 500).
        valid = hmac.compare_digest(self._signature(job_id, index, expires).encode(), signature.encode())
        if not valid or expires < time.time():
            raise Forbidden(
                "This result link is invalid or has expired; ask the API for a new one.", code="invalid_result_link"
            )
        object_id = parse_object_id(job_id)
        job = await TryOnJob.get(object_id) if object_id else None
        if job is None or job.status != JobStatus.COMPLETED or not 0 <= index < len(job.results):
            raise NotFound("The result is gone.", code="results_gone")
        image = job.results[index]
        return image, await self.blobs.get(image.key)

    # -- cancel and delete -------------------------------------------------------------------------

    async def cancel(self, account_id: PydanticObjectId, job_id: str) -> TryOnJob:
        job = await self.get(account_id, job_id)
        if job.status != JobStatus.QUEUED:
            raise Conflict(
                f"Only queued try-ons can be canceled; this one is {job.status.value}.", code="tryon_not_cancelable"
            )
        ended = await self.lifecycle.transition(
            job.oid,
            JobStatus.CANCELED,
            expected=JobStatus.QUEUED,
            error=JobError(code="canceled", detail="Canceled by the account."),
        )
        if ended is None:
            raise Conflict("The try-on started meanwhile; it can no longer be canceled.", code="tryon_not_cancelable")
        return await self.get(account_id, job_id)

    async def delete(self, account_id: PydanticObjectId, job_id: str) -> None:
        """Remove a job and its images. A queued job is canceled (and refunded) first."""
        job = await self.get(account_id, job_id)
        if job.status == JobStatus.PROCESSING:
            raise Conflict("The try-on is being generated; delete it once it has finished.", code="tryon_in_progress")
        if job.status == JobStatus.QUEUED:
            await self.cancel(account_id, job_id)
        await self.blobs.delete_prefix(f"results/{job.id}/")
        await self.blobs.delete_prefix(f"inputs/{job.id}/")
        await TryOnJob.find_one(TryOnJob.id == job.id).delete()


def _not_found() -> NotFound:
    return NotFound("No such try-on.", code="tryon_not_found")
