"""Signed delivery with retries, per endpoint and in order.

Invariants:
- Deliveries to one endpoint go out in order of creation: only the oldest open (pending or
  failed) delivery of an endpoint is attempted, by the one holder of the endpoint's lease. Later
  ones wait, so a receiver that was down gets every event, in order, once it answers again.
- Recording an attempt is one conditional update on the delivery's attempt count: it happens once.
- `webhook-id` is fixed when the delivery is created: every attempt carries the same one.
- Every attempt resolves the host again and refuses non-public addresses; the request goes to
  exactly the checked address (no second lookup), with short timeouts and no redirects followed
  (a 3xx is a failed attempt).
- Nothing is sent to a deleted endpoint: every attempt re-reads the endpoint first.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from beanie import PydanticObjectId, SortDirection
from pymongo import ReturnDocument
from saq import Queue

from trailroom.core.clock import utcnow
from trailroom.core.errors import InvalidInput
from trailroom.core.ids import parse_object_id
from trailroom.core.logging import get_logger
from trailroom.core.netguard import ConnectFailed, OutboundRefused, read_head
from trailroom.domain.events.models import DomainEvent
from trailroom.domain.webhooks.messages import sign
from trailroom.domain.webhooks.models import (
    OPEN_STATUSES,
    DeliveryAttempt,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from trailroom.domain.webhooks.urls import WebhookUrls
from trailroom.resources import Resources

log = get_logger("trailroom.webhooks")

# Recorded in the outbox when an endpoint is disabled, for the owner to be told (no endpoint can
# subscribe to it: it is not one of EVENT_TYPES).
ENDPOINT_DISABLED_EVENT = "webhook.disabled"
RESPONSE_BODY_LIMIT = 1024
# Delay before the 2nd, 3rd, … attempt: about a day in all, then the delivery is abandoned.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
JITTER = 0.1  # each delay is stretched or shrunk by up to 10 %
DISABLE_AFTER_FAILING = timedelta(days=3)
DISABLE_AFTER_ABANDONED = 5
MAX_ATTEMPTS_PER_RUN = 100
RUN_BUDGET_S = 60  # a delivery run starts no attempt after this long (the job's timeout allows one more)
LEASE = timedelta(seconds=180)  # longer than a run can take; renewed before every attempt
DELIVER_JOB = "deliver_webhook_endpoint"
OLDEST_FIRST = [("created_at", SortDirection.ASCENDING), ("_id", SortDirection.ASCENDING)]


def retry_delay(failed_attempts: int, rng: Callable[[float, float], float] = random.uniform) -> timedelta | None:
    """How long to wait after the `failed_attempts`-th failure, or None when it is time to give up."""
    if failed_attempts > len(RETRY_SCHEDULE):
        return None
    base = RETRY_SCHEDULE[failed_attempts - 1]
    return base * rng(1 - JITTER, 1 + JITTER)


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    error: str | None
    body: str | None
    latency_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookDeliverer:
    """Delivery runs: the worker's side of webhooks (and the one attempt of a test event)."""

    def __init__(self, resources: Resources, urls: WebhookUrls, *, timeout_s: float) -> None:
        self.resources = resources
        self.urls = urls
        self.timeout_s = timeout_s

    @property
    def queue(self) -> Queue:
        return self.resources.queues.default

    async def kick(self, endpoint_id: PydanticObjectId, *, at: datetime | None = None, tag: str = "now") -> None:
        """Queue a delivery run for an endpoint (the lease makes extra runs harmless)."""
        scheduled = int(at.timestamp()) + 1 if at is not None else 0
        await self.queue.enqueue(
            DELIVER_JOB,
            key=f"webhook:{endpoint_id}:{tag}:{time.time_ns()}",
            endpoint_id=str(endpoint_id),
            timeout=int(RUN_BUDGET_S + self.timeout_s + 60),
            retries=1,
            scheduled=scheduled,
        )

    async def deliver_due(self, *, now: datetime | None = None, inline: bool = False) -> int:
        """The cron: every endpoint with a delivery due gets a delivery run (queued, or run here)."""
        now = now or utcnow()
        due_for = await WebhookDelivery.get_pymongo_collection().distinct(
            "endpoint_id", {"status": {"$in": list(OPEN_STATUSES)}, "next_attempt_at": {"$lte": now}}
        )
        enabled: dict[Any, bool] = {
            doc["_id"]: doc["enabled"]
            async for doc in WebhookEndpoint.get_pymongo_collection().find({"_id": {"$in": due_for}}, {"enabled": 1})
        }
        gone = [endpoint_id for endpoint_id in due_for if endpoint_id not in enabled]
        if gone:  # deliveries created by a fan-out that raced the endpoint's deletion
            await WebhookDelivery.get_pymongo_collection().delete_many({"endpoint_id": {"$in": gone}})
        endpoint_ids = [endpoint_id for endpoint_id in due_for if enabled.get(endpoint_id)]
        for endpoint_id in endpoint_ids:
            if inline:
                await self.deliver_endpoint(str(endpoint_id), now=now)
            else:
                await self.kick(endpoint_id, tag="cron")
        return len(endpoint_ids)

    async def deliver_endpoint(self, endpoint_id: str, *, now: datetime | None = None) -> int:
        """Attempt an endpoint's due deliveries, oldest first, stopping at the first that fails (it is
        retried later; the ones behind it wait). `now` decides what is due and when retries fall (tests
        pass a later time instead of waiting); the signed timestamp is always the real time.
        Returns the number of attempts made."""
        object_id = parse_object_id(endpoint_id)
        if object_id is None:
            return 0
        made = 0
        deadline = time.monotonic() + RUN_BUDGET_S
        for _ in range(3):  # a delivery created while we held the lease is picked up by another round
            token = secrets.token_hex(8)
            if not await self._take_lease(object_id, token):
                return made
            try:
                made += await self._drain(object_id, token, now, deadline)
            finally:
                await WebhookEndpoint.get_pymongo_collection().update_one(
                    {"_id": object_id, "lease_token": token}, {"$set": {"lease_until": None, "lease_token": None}}
                )
            head = await self._head(object_id)
            if head is None or head.next_attempt_at is None or head.next_attempt_at > (now or utcnow()):
                break
            if time.monotonic() >= deadline or made >= MAX_ATTEMPTS_PER_RUN:
                await self.kick(object_id, tag="more")  # a long backlog continues in a new run
                break
        return made

    async def _take_lease(self, endpoint_id: PydanticObjectId, token: str) -> bool:
        real_now = utcnow()
        taken = await WebhookEndpoint.get_pymongo_collection().update_one(
            {
                "_id": endpoint_id,
                "enabled": True,
                "$or": [{"lease_until": None}, {"lease_until": {"$lt": real_now}}],
            },
            {"$set": {"lease_until": real_now + LEASE, "lease_token": token}},
        )
        return taken.modified_count == 1

    async def _head(self, endpoint_id: PydanticObjectId) -> WebhookDelivery | None:
        return (
            await WebhookDelivery.find({"endpoint_id": endpoint_id, "status": {"$in": list(OPEN_STATUSES)}})
            .sort(OLDEST_FIRST)
            .first_or_none()
        )

    async def _drain(self, endpoint_id: PydanticObjectId, token: str, now: datetime | None, deadline: float) -> int:
        made = 0
        while made < MAX_ATTEMPTS_PER_RUN and time.monotonic() < deadline:
            current = now or utcnow()
            # Re-read the endpoint before every send: deleted, disabled or lease lost means stop.
            renewed = await WebhookEndpoint.get_pymongo_collection().find_one_and_update(
                {"_id": endpoint_id, "lease_token": token, "enabled": True},
                {"$set": {"lease_until": utcnow() + LEASE}},
                return_document=ReturnDocument.AFTER,
            )
            if renewed is None:
                return made
            endpoint = WebhookEndpoint.model_validate(renewed)
            head = await self._head(endpoint_id)
            if head is None or head.next_attempt_at is None or head.next_attempt_at > current:
                return made
            result = await self.send(endpoint, head)
            made += 1
            if not await self._after_attempt(endpoint, head, result, current):
                return made
        return made

    async def _after_attempt(
        self, endpoint: WebhookEndpoint, delivery: WebhookDelivery, result: SendResult, now: datetime
    ) -> bool:
        """Record an attempt and its consequences. True when the next delivery may go now."""
        collection = WebhookEndpoint.get_pymongo_collection()
        if result.ok:
            if not await self.record(delivery, result, now, status=DeliveryStatus.DELIVERED, next_attempt_at=None):
                return False  # recorded by another deliverer (our lease had expired): leave it the run
            if endpoint.failing_since is not None or endpoint.abandoned_in_a_row:
                await collection.update_one(
                    {"_id": endpoint.id}, {"$set": {"failing_since": None, "abandoned_in_a_row": 0}}
                )
            return True
        delay = retry_delay(delivery.attempt_count + 1)
        await collection.update_one({"_id": endpoint.id, "failing_since": None}, {"$set": {"failing_since": now}})
        if delay is not None:
            next_at = now + delay
            if not await self.record(delivery, result, now, status=DeliveryStatus.FAILED, next_attempt_at=next_at):
                return False
            await self.kick(endpoint.oid, at=next_at, tag=f"retry-{delivery.attempt_count + 1}")
            reason = self._disable_reason(endpoint, now)
            if reason:
                await self._disable(endpoint, reason)
            return False
        if not await self.record(delivery, result, now, status=DeliveryStatus.ABANDONED, next_attempt_at=None):
            return False
        log.warning("webhook delivery abandoned", endpoint_id=str(endpoint.id), delivery_id=str(delivery.id))
        after = await collection.find_one_and_update(
            {"_id": endpoint.id}, {"$inc": {"abandoned_in_a_row": 1}}, return_document=ReturnDocument.AFTER
        )
        if after is not None:
            reason = self._disable_reason(WebhookEndpoint.model_validate(after), now)
            if reason:
                await self._disable(endpoint, reason)
                return False
        return True  # the next delivery is not held up by one that was given up on

    @staticmethod
    def _disable_reason(endpoint: WebhookEndpoint, now: datetime) -> str | None:
        failing_since = endpoint.failing_since or now
        if now - failing_since > DISABLE_AFTER_FAILING:
            return f"Deliveries have failed since {failing_since.isoformat()} (more than 3 days)."
        if endpoint.abandoned_in_a_row >= DISABLE_AFTER_ABANDONED:
            return f"{endpoint.abandoned_in_a_row} deliveries in a row were abandoned after every retry."
        return None

    async def _disable(self, endpoint: WebhookEndpoint, reason: str) -> None:
        """Turn a failing endpoint off (once) and record it in the outbox for the owner to be told.
        Its open deliveries stay: re-enabling it delivers them."""
        now = utcnow()
        updated = await WebhookEndpoint.get_pymongo_collection().update_one(
            {"_id": endpoint.id, "enabled": True},
            {"$set": {"enabled": False, "disabled_at": now, "disabled_reason": reason, "updated_at": now}},
        )
        if updated.modified_count != 1:
            return
        log.warning("webhook endpoint disabled", endpoint_id=str(endpoint.id), reason=reason)
        await DomainEvent(
            account_id=endpoint.account_id,
            type=ENDPOINT_DISABLED_EVENT,
            data={"endpoint_id": str(endpoint.id), "url": endpoint.url, "reason": reason},
        ).insert()

    async def record(
        self,
        delivery: WebhookDelivery,
        result: SendResult,
        now: datetime,
        *,
        status: DeliveryStatus,
        next_attempt_at: datetime | None,
    ) -> bool:
        attempt = DeliveryAttempt(
            at=now,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error=result.error,
            response_body=result.body,
        )
        changes: dict[str, Any] = {"status": status, "next_attempt_at": next_attempt_at}
        if status == DeliveryStatus.DELIVERED:
            changes["delivered_at"] = now
        updated = await WebhookDelivery.get_pymongo_collection().update_one(
            {"_id": delivery.id, "attempt_count": delivery.attempt_count},
            {"$push": {"attempts": attempt.model_dump()}, "$inc": {"attempt_count": 1}, "$set": changes},
        )
        return updated.modified_count == 1

    async def send(self, endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> SendResult:
        """POST the delivery's payload, signed, to the endpoint, over a connection to a checked address."""
        started = time.monotonic()

        def elapsed() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            url = self.urls.check_text(endpoint.url)
        except InvalidInput as exc:
            return SendResult(status_code=None, error=exc.detail, body=None, latency_ms=elapsed())
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "TrailRoom-Webhooks/1.0",
            "webhook-id": delivery.webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(endpoint.secret, delivery.webhook_id, timestamp, delivery.payload),
        }
        try:
            async with self.urls.outbound.stream(
                "POST", url, headers=headers, content=delivery.payload.encode()
            ) as response:
                body = (await read_head(response, RESPONSE_BODY_LIMIT)).decode("utf-8", errors="replace")
            return SendResult(
                status_code=response.status_code,
                error=None if response.is_success else f"HTTP {response.status_code}",
                body=body,
                latency_ms=elapsed(),
            )
        except ConnectFailed as exc:
            cause = exc.cause
            error = "no address" if cause is None else f"connection failed: {str(cause) or type(cause).__name__}"
        except OutboundRefused as exc:
            error = self.urls.refusal(exc).detail
        except TimeoutError:
            error = f"timed out after {self.timeout_s:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        return SendResult(status_code=None, error=error, body=None, latency_ms=elapsed())
