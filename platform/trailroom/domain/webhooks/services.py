"""Webhook endpoints: what an account registers, reads and changes (the API's and the pages' side).

Delivery runs are in `delivery.py`, the fan-out of outbox events in `fanout.py`, the URL rules in
`urls.py`, and what goes on the wire in `messages.py`; `WebhookService` holds one of each.
Nothing is sent to a deleted endpoint: its open deliveries are deleted with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from beanie import PydanticObjectId, SortDirection
from pymongo import ReturnDocument

from trailroom.core.clock import utcnow
from trailroom.core.config import Settings
from trailroom.core.errors import Conflict, InvalidInput, NotFound
from trailroom.core.ids import parse_object_id
from trailroom.core.pagination import NEWEST_FIRST, after_cursor, page_cursor
from trailroom.domain.events.models import EVENT_TYPES
from trailroom.domain.webhooks.delivery import WebhookDeliverer
from trailroom.domain.webhooks.fanout import EventFanOut
from trailroom.domain.webhooks.messages import TEST_EVENT, event_payload, new_secret, new_webhook_id
from trailroom.domain.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from trailroom.domain.webhooks.urls import WebhookUrls
from trailroom.resources import Resources

MAX_ENDPOINTS_PER_ACCOUNT = 20


@dataclass(frozen=True)
class DeliveryPage:
    items: list[WebhookDelivery]
    next_cursor: str | None


class WebhookService:
    def __init__(
        self,
        resources: Resources,
        http: httpx.AsyncClient | None = None,
        *,
        settings: Settings | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.resources = resources
        self.urls = WebhookUrls(settings or resources.settings, http, timeout_s=timeout_s)
        self.delivery = WebhookDeliverer(resources, self.urls, timeout_s=timeout_s)
        self.fanout = EventFanOut(resources, self.delivery)

    async def aclose(self) -> None:
        await self.urls.aclose()

    def _check_events(self, events: list[str]) -> list[str]:
        unknown = sorted(set(events) - set(EVENT_TYPES))
        if unknown or not events:
            raise InvalidInput(
                f"events must be a non-empty list of {', '.join(EVENT_TYPES)}"
                + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
                code="invalid_event_types",
                field="events",
            )
        return [e for e in EVENT_TYPES if e in set(events)]

    async def create(
        self, account_id: PydanticObjectId, *, url: str, events: list[str], description: str = ""
    ) -> WebhookEndpoint:
        checked_events = self._check_events(events)
        checked_url = await self.urls.check_url(url)
        if await WebhookEndpoint.find(WebhookEndpoint.account_id == account_id).count() >= MAX_ENDPOINTS_PER_ACCOUNT:
            raise Conflict(
                f"An account can have at most {MAX_ENDPOINTS_PER_ACCOUNT} webhook endpoints.", code="too_many_webhooks"
            )
        endpoint = WebhookEndpoint(
            account_id=account_id,
            url=checked_url,
            events=checked_events,
            description=description.strip(),
            secret=new_secret(),
        )
        await endpoint.insert()
        return endpoint

    async def list_for(self, account_id: PydanticObjectId) -> list[WebhookEndpoint]:
        return (
            await WebhookEndpoint.find(WebhookEndpoint.account_id == account_id)
            .sort([("created_at", SortDirection.DESCENDING)])
            .to_list()
        )

    async def get(self, account_id: PydanticObjectId, endpoint_id: str) -> WebhookEndpoint:
        object_id = parse_object_id(endpoint_id)
        endpoint = (
            await WebhookEndpoint.find_one(WebhookEndpoint.id == object_id, WebhookEndpoint.account_id == account_id)
            if object_id
            else None
        )
        if endpoint is None:
            # Another account's endpoint and a missing one look the same.
            raise NotFound("No such webhook endpoint.", code="webhook_not_found")
        return endpoint

    async def update(
        self,
        account_id: PydanticObjectId,
        endpoint_id: str,
        *,
        url: str | None = None,
        events: list[str] | None = None,
        description: str | None = None,
        enabled: bool | None = None,
    ) -> WebhookEndpoint:
        endpoint = await self.get(account_id, endpoint_id)
        changes: dict[str, Any] = {"updated_at": utcnow()}
        if url is not None:
            changes["url"] = await self.urls.check_url(url)
        if events is not None:
            changes["events"] = self._check_events(events)
        if description is not None:
            changes["description"] = description.strip()
        if enabled is not None:
            changes["enabled"] = enabled
            if enabled:
                changes.update(failing_since=None, abandoned_in_a_row=0, disabled_at=None, disabled_reason=None)
        await WebhookEndpoint.get_pymongo_collection().update_one({"_id": endpoint.id}, {"$set": changes})
        if enabled:
            await self.delivery.kick(endpoint.oid)
        return await self.get(account_id, endpoint_id)

    async def delete(self, account_id: PydanticObjectId, endpoint_id: str) -> None:
        endpoint = await self.get(account_id, endpoint_id)
        # The endpoint first: a deliverer re-reads it before every send and stops once it is gone.
        await WebhookEndpoint.get_pymongo_collection().delete_one({"_id": endpoint.id})
        await WebhookDelivery.get_pymongo_collection().delete_many({"endpoint_id": endpoint.id})

    async def rotate_secret(self, account_id: PydanticObjectId, endpoint_id: str) -> WebhookEndpoint:
        endpoint = await self.get(account_id, endpoint_id)
        secret = new_secret()
        updated = await WebhookEndpoint.get_pymongo_collection().find_one_and_update(
            {"_id": endpoint.id, "secret": endpoint.secret},
            {"$set": {"secret": secret, "secret_rotated_at": utcnow(), "updated_at": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )
        if updated is None:
            raise Conflict("The secret changed meanwhile; try again.", code="concurrent_update")
        rotated: WebhookEndpoint = WebhookEndpoint.model_validate(updated)
        return rotated

    async def deliveries(
        self, account_id: PydanticObjectId, endpoint_id: str, *, cursor: str | None, limit: int
    ) -> DeliveryPage:
        endpoint = await self.get(account_id, endpoint_id)
        query = {"endpoint_id": endpoint.id, **after_cursor(cursor)}
        fetched = await WebhookDelivery.find(query).sort(NEWEST_FIRST).limit(limit + 1).to_list()  # type: ignore[arg-type]
        items, next_cursor = page_cursor(fetched, limit)
        return DeliveryPage(items=items, next_cursor=next_cursor)

    async def send_test(self, account_id: PydanticObjectId, endpoint_id: str) -> WebhookDelivery:
        """One `webhook.test` event, attempted at once and never retried (it does not count towards
        the endpoint's health and does not wait behind its queue)."""
        endpoint = await self.get(account_id, endpoint_id)
        now = utcnow()
        delivery = WebhookDelivery(
            endpoint_id=endpoint.oid,
            account_id=account_id,
            event_type=TEST_EVENT,
            webhook_id=new_webhook_id(),
            payload=event_payload(
                TEST_EVENT, now, {"endpoint_id": str(endpoint.id), "message": "A test event from TrailRoom."}
            ),
            next_attempt_at=None,
            created_at=now,
        )
        await delivery.insert()
        result = await self.delivery.send(endpoint, delivery)
        status = DeliveryStatus.DELIVERED if result.ok else DeliveryStatus.ABANDONED
        await self.delivery.record(delivery, result, now, status=status, next_attempt_at=None)
        stored = await WebhookDelivery.get(delivery.id)
        assert stored is not None
        return stored
