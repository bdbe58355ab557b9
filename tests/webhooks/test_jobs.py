"""The webhook jobs through a real SAQ worker: the fan-out cron queues delivery runs, a failed attempt
queues its own retry at the scheduled time, and the receiver ends up with every event in order."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

from standardwebhooks import Webhook

from tests.webhooks.conftest import Receiver, new_account, record_events
from trailroom.domain.events.models import TRYON_COMPLETED, DomainEvent
from trailroom.domain.services import Services
from trailroom.domain.webhooks.jobs import deliver_due_webhooks, deliver_webhook_endpoint, dispatch_webhook_events
from trailroom.domain.webhooks.models import DeliveryStatus, WebhookDelivery
from trailroom.domain.webhooks.services import WebhookService
from trailroom.worker.main import TrailRoomWorker


@asynccontextmanager
async def webhook_worker(services: Services, webhooks: WebhookService) -> AsyncIterator[dict[str, Any]]:
    """A SAQ worker on the default queue running the webhook jobs (as `worker/main.py` will once wired)."""
    ctx: dict[str, Any] = {"services": SimpleNamespace(webhooks=webhooks)}

    async def startup(job_ctx: dict[str, Any]) -> None:
        job_ctx.update(ctx)

    worker = TrailRoomWorker(
        services.resources.queues.default,
        functions=[deliver_webhook_endpoint, dispatch_webhook_events, deliver_due_webhooks],
        startup=startup,
        dequeue_timeout=0.2,
    )
    worker.SIGNALS = []
    task = asyncio.create_task(worker.start())
    try:
        yield ctx
    finally:
        await worker.stop()
        await asyncio.gather(task, return_exceptions=True)


async def wait_until(condition: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out waiting")


async def test_cron_fan_out_then_queued_delivery_and_scheduled_retry(
    services: Services, webhooks: WebhookService, receiver: Receiver
) -> None:
    owner = await new_account(services, "owner@example.com")
    endpoint = await webhooks.create(owner, url=receiver.url(), events=[TRYON_COMPLETED])
    await record_events(owner, TRYON_COMPLETED, TRYON_COMPLETED, TRYON_COMPLETED)
    receiver.status = 503
    async with webhook_worker(services, webhooks) as ctx:
        assert await dispatch_webhook_events(ctx) == 3
        assert await DomainEvent.find(DomainEvent.dispatched_at == None).count() == 0  # noqa: E711

        async def first_attempt_failed() -> bool:
            return len(receiver.received) >= 1

        await wait_until(first_attempt_failed)
        receiver.status = 200

        async def all_delivered() -> bool:
            return (
                await WebhookDelivery.find(
                    WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == DeliveryStatus.DELIVERED
                ).count()
                == 3
            )

        # The retry is due about 5 s later: the worker runs the run queued for that time.
        await wait_until(all_delivered, timeout=30)
        assert await deliver_due_webhooks(ctx) == 0  # nothing left due
    indexes = [json.loads(r.body)["data"]["index"] for r in receiver.received]
    assert indexes == [0, 0, 1, 2]
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]
    for request in receiver.received:
        Webhook(endpoint.secret).verify(request.body, request.headers)
