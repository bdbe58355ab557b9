"""Hand-off of accepted try-on attempts to the queue (the outbox pattern).

An accepted job is in the database with `dispatched=False` before anything touches Redis. The API
then queues it at once if it can (`hand_off`); what it could not queue, the worker's dispatcher
queues (`dispatch_pending`), and the sweeper queues again what Redis lost. The SAQ key names the
attempt (`attempt_key`), so concurrent hand-offs of one attempt queue it once.
"""

from __future__ import annotations

import time
from datetime import timedelta

from saq import Queue

from trailroom.core.clock import utcnow
from trailroom.core.logging import get_logger
from trailroom.core.mongo import MONGO_UNAVAILABLE
from trailroom.core.redis import REDIS_UNAVAILABLE
from trailroom.domain.runtime_config.services import RuntimeConfigService
from trailroom.domain.tryon.models import JobStatus, TryOnJob
from trailroom.resources import Resources

log = get_logger("trailroom.tryon")


def attempt_key(job: TryOnJob) -> str:
    """The SAQ key of a job's current attempt: queueing one attempt twice queues it once."""
    return f"tryon:{job.id}:{job.attempts}"


class JobDispatch:
    def __init__(self, resources: Resources, config: RuntimeConfigService) -> None:
        self.resources = resources
        self.config = config

    @property
    def queue(self) -> Queue:
        return self.resources.queues.tryon

    async def enqueue(self, job: TryOnJob, *, delay_s: float = 0, key_suffix: str = "") -> None:
        """Queue a job's current attempt and mark it dispatched. The SAQ key names the attempt, so
        enqueueing twice (the API and a dispatcher, or two dispatchers) queues it once."""
        config = await self.config.current()
        await self.queue.enqueue(
            "run_tryon",
            key=attempt_key(job) + key_suffix,
            job_id=str(job.id),
            timeout=config.timeout_s * job.samples + 30,
            retries=1,  # retries are ours: a new attempt is a new SAQ job
            scheduled=int(time.time() + delay_s) if delay_s else 0,
        )
        await TryOnJob.get_pymongo_collection().update_one(
            {"_id": job.id, "status": JobStatus.QUEUED, "attempts": job.attempts},
            {"$set": {"dispatched": True, "enqueued_at": utcnow()}},
        )

    async def hand_off(self, job: TryOnJob, *, delay_s: float = 0) -> bool:
        """Queue the job now if Redis answers. Best effort: the job is already accepted, and the
        dispatcher queues it once Redis is back."""
        try:
            await self.enqueue(job, delay_s=delay_s)
        except (*REDIS_UNAVAILABLE, *MONGO_UNAVAILABLE) as exc:
            log.warning("queue unavailable; the try-on waits for the dispatcher", job_id=str(job.id), error=repr(exc))
            return False
        return True

    async def dispatch_pending(self, *, grace_s: float = 1.0, limit: int = 200) -> int:
        """Queue the jobs accepted (or retried) but not handed to the queue. One indexed query; safe
        to run in every worker at once. `grace_s` leaves the API's own hand-off the first try."""
        due = utcnow() - timedelta(seconds=grace_s)
        pending = (
            await TryOnJob.find({"dispatched": False, "dispatch_at": {"$lte": due}})
            .sort("dispatch_at")
            .limit(limit)
            .to_list()
        )
        queued = 0
        for job in pending:
            if job.status == JobStatus.QUEUED and job.inputs_stored:
                await self.enqueue(job)
                queued += 1
            elif job.status != JobStatus.QUEUED:  # ended before it was queued: nothing to hand off
                await TryOnJob.get_pymongo_collection().update_one(
                    {"_id": job.id, "status": job.status}, {"$set": {"dispatched": True}}
                )
        return queued
