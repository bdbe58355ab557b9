"""Fan-out: each outbox event becomes one delivery per subscribed, enabled endpoint of its account.

Invariant: an outbox event is fanned out once. Marking it dispatched and inserting its deliveries is
one transaction whose first write is a conditional update on `dispatched_at: null`, so of two
dispatchers only one creates deliveries (and a unique (endpoint, event) index backs it up).
"""

from __future__ import annotations

from beanie import PydanticObjectId
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from trailroom.core.clock import utcnow
from trailroom.core.logging import get_logger
from trailroom.core.transactions import in_transaction
from trailroom.domain.events.models import DomainEvent
from trailroom.domain.webhooks.delivery import OLDEST_FIRST, WebhookDeliverer
from trailroom.domain.webhooks.messages import event_payload, new_webhook_id
from trailroom.domain.webhooks.models import WebhookDelivery, WebhookEndpoint
from trailroom.resources import Resources

log = get_logger("trailroom.webhooks")

DISPATCH_BATCH = 100


class EventFanOut:
    def __init__(self, resources: Resources, delivery: WebhookDeliverer) -> None:
        self.resources = resources
        self.delivery = delivery

    async def dispatch_pending(self, *, limit: int = 1000, enqueue: bool = True) -> int:
        """Fan undispatched outbox events out to the subscribed, enabled endpoints of their account, in
        order of creation. Returns how many deliveries were created."""
        created = 0
        seen = 0
        touched: set[PydanticObjectId] = set()
        while seen < limit:
            events = (
                await DomainEvent.find({"dispatched_at": None})
                .sort(OLDEST_FIRST)
                .limit(min(DISPATCH_BATCH, limit - seen))
                .to_list()
            )
            if not events:
                break
            for event in events:
                seen += 1
                endpoint_ids = await self._dispatch_one(event)
                created += len(endpoint_ids)
                touched.update(endpoint_ids)
        if enqueue:
            for endpoint_id in touched:
                await self.delivery.kick(endpoint_id)
        return created

    async def _dispatch_one(self, event: DomainEvent) -> list[PydanticObjectId]:
        endpoints = await WebhookEndpoint.find(
            {"account_id": event.account_id, "enabled": True, "events": event.type}
        ).to_list()
        timestamp = event.created_at
        body = event_payload(event.type, timestamp, event.data)

        async def work(session: AsyncClientSession) -> list[PydanticObjectId]:
            claimed = await DomainEvent.get_pymongo_collection().update_one(
                {"_id": event.id, "dispatched_at": None}, {"$set": {"dispatched_at": utcnow()}}, session=session
            )
            if claimed.modified_count != 1:
                return []  # another dispatcher has it
            ids = []
            for endpoint in endpoints:
                await WebhookDelivery(
                    endpoint_id=endpoint.oid,
                    account_id=event.account_id,
                    event_id=event.id,
                    event_type=event.type,
                    webhook_id=new_webhook_id(),
                    payload=body,
                ).insert(session=session)
                ids.append(endpoint.oid)
            return ids

        try:
            return await in_transaction(self.resources.mongo, work)
        except DuplicateKeyError:
            # Deliveries of this event exist already (its dispatched mark was reset by hand): keep them.
            log.warning("webhook event fanned out before", event_id=str(event.id))
            await DomainEvent.get_pymongo_collection().update_one(
                {"_id": event.id, "dispatched_at": None}, {"$set": {"dispatched_at": utcnow()}}
            )
            return []
