"""The worker process: SAQ workers for each queue, sharing one set of connections, plus the cron schedule."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from typing import Any

from saq import CronJob, Worker

from trailroom.core.config import Settings
from trailroom.core.logging import get_logger
from trailroom.core.resources import open_resources
from trailroom.domain.accounts.jobs import flush_api_key_last_used
from trailroom.domain.credits.jobs import grant_daily_credits
from trailroom.domain.services import Services, open_services
from trailroom.domain.system.heartbeat import record_heartbeat
from trailroom.domain.tryon.jobs import purge_expired_results, run_tryon, sweep_tryon_jobs
from trailroom.domain.webhooks.jobs import deliver_due_webhooks, deliver_webhook_endpoint, dispatch_webhook_events
from trailroom.worker.queues import DEFAULT_QUEUE, QUEUE_NAMES, TRYON_QUEUE

log = get_logger("trailroom.worker")

# Job functions per queue; each domain adds its jobs here.
FUNCTIONS: dict[str, list[Any]] = {
    TRYON_QUEUE: [run_tryon],
    DEFAULT_QUEUE: [
        record_heartbeat,
        flush_api_key_last_used,
        grant_daily_credits,
        sweep_tryon_jobs,
        purge_expired_results,
        dispatch_webhook_events,
        deliver_webhook_endpoint,
        deliver_due_webhooks,
    ],
}


class TrailRoomWorker(Worker):  # type: ignore[type-arg]
    """A SAQ worker that stops promptly: its idle upkeep loops (which sleep up to a minute) are
    cancelled at once, and only jobs in progress get the shutdown grace period."""

    _upkeep_tasks: list[asyncio.Task[None]]

    async def upkeep(self) -> list[asyncio.Task[None]]:
        self._upkeep_tasks = await super().upkeep()
        return self._upkeep_tasks

    async def stop(self) -> None:
        for task in getattr(self, "_upkeep_tasks", []):
            task.cancel()
            self.tasks.discard(task)
        await super().stop()


def cron_jobs(settings: Settings) -> list[CronJob]:  # type: ignore[type-arg]
    return [
        CronJob(record_heartbeat, cron=settings.heartbeat_cron, timeout=30),
        CronJob(flush_api_key_last_used, cron="* * * * *", timeout=60),
        CronJob(grant_daily_credits, cron="0 0 * * *", timeout=3600),
        CronJob(sweep_tryon_jobs, cron="* * * * *", timeout=120),
        CronJob(purge_expired_results, cron="17 * * * *", timeout=600),
        # Every 10 s (a sixth cron field is seconds): events reach receivers within seconds.
        CronJob(dispatch_webhook_events, cron="* * * * * */10", timeout=300),
        CronJob(deliver_due_webhooks, cron="* * * * * */10", timeout=60),
    ]


def build_workers(services: Services, queue_names: Sequence[str] = QUEUE_NAMES) -> list[TrailRoomWorker]:
    """One SAQ worker per queue. Cron jobs run on the default queue's worker."""
    resources = services.resources
    settings = resources.settings

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["resources"] = resources
        ctx["services"] = services

    workers = []
    for name in queue_names:
        worker = TrailRoomWorker(
            resources.queues.by_name(name),
            functions=FUNCTIONS[name],
            concurrency=settings.worker_concurrency if name == TRYON_QUEUE else 10,
            cron_jobs=cron_jobs(settings) if name == DEFAULT_QUEUE else None,
            startup=startup,
            shutdown_grace_period_s=20,
            # A bounded blocking dequeue lets idle workers notice a stop within a second.
            dequeue_timeout=1.0,
        )
        # We handle signals once for all workers of the process (SAQ would let the last one win).
        worker.SIGNALS = []
        workers.append(worker)
    return workers


async def run_worker(settings: Settings, queue_names: Sequence[str] = QUEUE_NAMES) -> None:
    async with open_resources(settings) as resources, open_services(resources) as services:
        workers = build_workers(services, queue_names)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        tasks = [asyncio.create_task(worker.start()) for worker in workers]
        log.info("worker started", queues=list(queue_names), concurrency=settings.worker_concurrency)
        await stop.wait()
        log.info("worker stopping")
        await asyncio.gather(*(worker.stop() for worker in workers), return_exceptions=True)
        await asyncio.gather(*tasks, return_exceptions=True)
