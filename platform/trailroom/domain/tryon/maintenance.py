"""Try-on upkeep run by the worker: the sweeper that recovers what crashes left behind, and the
retention of result images."""

from __future__ import annotations

import time
from datetime import timedelta

from saq.job import Status as SaqStatus

from trailroom.core.blobs import BlobStore
from trailroom.core.clock import utcnow
from trailroom.domain.tryon.dispatch import JobDispatch, attempt_key
from trailroom.domain.tryon.lifecycle import JobLifecycle
from trailroom.domain.tryon.models import JobError, JobStatus, TryOnJob
from trailroom.domain.tryon.runner import TryOnRunner

STALE_AFTER_S = 15.0  # no heartbeat for this long: the attempt's worker died
# A queued job the queue has not started after this long is checked against the queue (lost entries).
REQUEUE_AFTER_S = 15.0
# A worker claims a job in the database within moments of taking it from the queue.
CLAIM_WITHIN_S = 5.0
# The API stores a job's images right after accepting it; one without them after this is orphaned.
STORE_WITHIN_S = 60.0


class TryOnMaintenance:
    def __init__(self, blobs: BlobStore, lifecycle: JobLifecycle, dispatch: JobDispatch, runner: TryOnRunner) -> None:
        self.blobs = blobs
        self.lifecycle = lifecycle
        self.dispatch = dispatch
        self.runner = runner

    async def sweep(
        self, *, stale_after_s: float | None = None, requeue_after_s: float = REQUEUE_AFTER_S, limit: int = 200
    ) -> dict[str, int]:
        """Find jobs a crash left behind: attempts with no heartbeat (worker died) are retried or failed
        and refunded; queued jobs whose queue entry was lost (Redis restarted) are queued again.
        Cheap enough for the worker's dispatcher to run every few seconds (indexed queries, bounded)."""
        stale = stale_after_s if stale_after_s is not None else STALE_AFTER_S
        now = utcnow()
        counts = {"retried": 0, "failed": 0, "requeued": 0}
        stuck = (
            await TryOnJob.find(
                {"status": JobStatus.PROCESSING, "heartbeat_at": {"$lt": now - timedelta(seconds=stale)}}
            )
            .limit(limit)
            .to_list()
        )
        for job in stuck:
            error = JobError(code="worker_lost", detail="The worker running this try-on stopped.")
            if job.attempts < job.max_attempts:
                await self.runner.retry(job, error)
                counts["retried"] += 1
            elif await self.lifecycle.fail(job.oid, error, from_status=JobStatus.PROCESSING, attempt=job.attempts):
                counts["failed"] += 1
        # Accepted, but the API stopped before the images were stored: nothing can ever run it.
        unstored = (
            await TryOnJob.find(
                {
                    "status": JobStatus.QUEUED,
                    "inputs_stored": False,
                    "created_at": {"$lt": now - timedelta(seconds=max(requeue_after_s, STORE_WITHIN_S))},
                }
            )
            .limit(limit)
            .to_list()
        )
        for job in unstored:
            if await self.lifecycle.fail(
                job.oid,
                JobError(code="storage_failed", detail="The images were never stored."),
                from_status=JobStatus.QUEUED,
            ):
                counts["failed"] += 1
        # Handed to the queue (or written before the outbox existed: no `dispatched` field), not started.
        old = now - timedelta(seconds=requeue_after_s)
        waiting = (
            await TryOnJob.find(
                {
                    "status": JobStatus.QUEUED,
                    "inputs_stored": True,
                    "dispatched": {"$ne": False},
                    "$or": [{"enqueued_at": {"$lt": old}}, {"enqueued_at": None, "created_at": {"$lt": old}}],
                }
            )
            .limit(limit)
            .to_list()
        )
        for job in waiting:
            queued = await self.dispatch.queue.job(attempt_key(job))
            if queued is None:  # Redis lost it: the attempt's own key is free again
                await self.dispatch.enqueue(job)
                counts["requeued"] += 1
            elif queued.completed or (
                # Taken from the queue long ago but never claimed: its worker died in between.
                queued.status == SaqStatus.ACTIVE and time.time() * 1000 - queued.started > CLAIM_WITHIN_S * 1000
            ):
                # Ran without effect (e.g. the database was away) or died unclaimed: a new queue entry.
                # Should the old one still run, only one of them can claim the attempt.
                await self.dispatch.enqueue(job, key_suffix=f":{int(now.timestamp())}")
                counts["requeued"] += 1
        return counts

    async def purge_expired_results(self) -> int:
        """Delete result images past their retention; the job stays, marked without results."""
        expired = await TryOnJob.find({"results_expire_at": {"$lt": utcnow()}}).limit(500).to_list()
        for job in expired:
            await self.blobs.delete_prefix(f"results/{job.id}/")
            await TryOnJob.get_pymongo_collection().update_one(
                {"_id": job.id}, {"$set": {"results": [], "results_expire_at": None}}
            )
        return len(expired)
