"""The worker process: SAQ workers for each queue, sharing one set of connections, plus the cron schedule."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from saq import CronJob, Worker

from trailroom.core.config import Settings
from trailroom.core.logging import get_logger
from trailroom.domain.accounts.jobs import flush_api_key_last_used
from trailroom.domain.billing.jobs import deliver_test_mode_webhook, queue_due_receipts, send_payment_receipt
from trailroom.domain.credits.jobs import grant_daily_credits
from trailroom.domain.mail.jobs import mail_domain_events, send_mail, sweep_queued_mail
from trailroom.domain.services import Services, open_services
from trailroom.domain.system.heartbeat import record_heartbeat
from trailroom.domain.tryon.jobs import purge_expired_results, run_tryon, sweep_tryon_jobs
from trailroom.domain.webhooks.jobs import deliver_due_webhooks, deliver_webhook_endpoint, dispatch_webhook_events
from trailroom.resources import open_resources
from trailroom.worker.backends import BACKEND_UNAVAILABLE, BackendWatch, DropOutageTracebacks
from trailroom.worker.queues import DEFAULT_QUEUE, QUEUE_NAMES, TRYON_QUEUE

log = get_logger("trailroom.worker")

DISPATCH_EVERY_S = 1.0
SWEEP_EVERY_S = 5.0
OUTAGE_FILTER = DropOutageTracebacks()  # one instance: adding it again is then a no-op

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
        send_payment_receipt,
        queue_due_receipts,
        deliver_test_mode_webhook,
        send_mail,
        sweep_queued_mail,
        mail_domain_events,
    ],
}


class TrailRoomWorker(Worker):  # type: ignore[type-arg]
    """A SAQ worker that stops promptly: its idle upkeep loops (which sleep up to a minute) are
    cancelled at once, and only jobs in progress get the shutdown grace period.

    Its job slots wait while Redis or the database is away (see `backends`); the first worker of a
    process also runs the backends watch and the try-on dispatcher as upkeep loops.
    """

    _upkeep_tasks: list[asyncio.Task[None]]
    # Set by `build_workers`; a worker built by hand runs without them.
    watch: BackendWatch | None = None
    extra_upkeep: list[Callable[[], Coroutine[Any, Any, None]]] = []  # replaced per worker, never mutated

    async def upkeep(self) -> list[asyncio.Task[None]]:
        self._upkeep_tasks = await super().upkeep()
        self._upkeep_tasks += [asyncio.create_task(loop()) for loop in self.extra_upkeep]
        return self._upkeep_tasks

    async def process(self) -> bool:
        # Without this, a slot whose dequeue fails (Redis gone) would dequeue again at once, forever.
        if self.watch is not None:
            await self.watch.wait_up()
        dequeued: bool = await super().process()
        return dequeued

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
        CronJob(queue_due_receipts, cron="* * * * *", timeout=60),
        CronJob(sweep_queued_mail, cron="* * * * * */30", timeout=60),
        CronJob(mail_domain_events, cron="* * * * * */10", timeout=120),
    ]


async def dispatch_tryons(services: Services, watch: BackendWatch) -> None:
    """Hand accepted try-ons to the queue (the outbox's other end) every second, and sweep for jobs a
    crash left behind every few seconds, so a lost worker or Redis costs seconds, not minutes.
    Every worker process runs one: SAQ job keys make concurrent hand-offs of one attempt one job."""
    last_sweep = 0.0
    failures = 0
    outages_seen = watch.outages
    while True:
        await watch.wait_up()
        try:
            await services.tryon.dispatch.dispatch_pending()
            # Right after an outage, check every queued job against the queue: Redis may have lost some.
            after_outage = watch.outages != outages_seen
            if after_outage or time.monotonic() - last_sweep >= SWEEP_EVERY_S:
                last_sweep = time.monotonic()
                counts = (
                    await services.tryon.maintenance.sweep(requeue_after_s=0)
                    if after_outage
                    else await services.tryon.maintenance.sweep()
                )
                outages_seen = watch.outages
                if any(counts.values()):
                    log.info("try-on sweep", **counts)
            failures = 0
        except BACKEND_UNAVAILABLE:
            pass  # the watch notices and reports the outage; the next round waits for it
        except Exception:
            failures += 1
            log.exception("try-on dispatcher failed", failures=failures)
        await asyncio.sleep(min(DISPATCH_EVERY_S * 2**failures, 30))


def build_workers(services: Services, queue_names: Sequence[str] = QUEUE_NAMES) -> list[TrailRoomWorker]:
    """One SAQ worker per queue. Cron jobs run on the default queue's worker."""
    resources = services.resources
    settings = resources.settings
    watch = BackendWatch(resources.redis, resources.mongo)
    logging.getLogger("saq").addFilter(OUTAGE_FILTER)

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
        worker.watch = watch
        worker.extra_upkeep = []
        workers.append(worker)
    if workers:
        workers[0].extra_upkeep = [watch.run, lambda: dispatch_tryons(services, watch)]
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
