"""Shapes of the webhooks API, and the payloads receivers get.

Every delivery is a POST of `{"type": …, "timestamp": …, "data": {…}}` (JSON, UTF-8) signed per the
Standard Webhooks spec (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,…`). `timestamp`
is when the event happened (ISO 8601, UTC). `data` by type, version 1 (fields are only ever added):

| type | data |
| --- | --- |
| `tryon.completed` | `tryon_id`, `status` ("completed"), `mode`, `batch_id`, `credits_charged`, `status_url` |
| `tryon.failed` | the same with `status` "failed" and `error` (`code`, `detail`); the credits were refunded |
| `credits.low` | `balance`, `threshold` |
| `payment.completed` | `payment_id`, `credits`, `amount` (minor units), `currency`, `balance` |
| `webhook.test` | `endpoint_id`, `message` (only from "send test event") |

Payloads carry ids and URLs, never image bytes: fetch results with the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from trailroom.domain.events.models import EVENT_TYPES
from trailroom.domain.webhooks.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint

PAYLOAD_VERSION = 1
Url = Annotated[str, msgspec.Meta(min_length=1, max_length=2000, examples=["https://shop.example/hooks/trailroom"])]
EventList = Annotated[
    # The enum documents the types; an unknown one is refused by the service (`invalid_event_types`).
    list[Annotated[str, msgspec.Meta(max_length=64, extra_json_schema={"enum": list(EVENT_TYPES)})]],
    msgspec.Meta(min_length=1, max_length=20, examples=[["tryon.completed", "tryon.failed"]]),
]
Description = Annotated[str, msgspec.Meta(max_length=200)]


class CreateWebhookRequest(msgspec.Struct, forbid_unknown_fields=True):
    url: Url
    events: EventList
    description: Description = ""


class UpdateWebhookRequest(msgspec.Struct, forbid_unknown_fields=True):
    url: Url | None = None
    events: EventList | None = None
    description: Description | None = None
    enabled: bool | None = None


class WebhookResponse(msgspec.Struct):
    id: str
    url: str
    events: list[str]
    description: str
    enabled: bool
    created_at: datetime
    updated_at: datetime
    secret_rotated_at: datetime | None
    failing_since: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> WebhookResponse:
        return cls(
            id=str(endpoint.id),
            url=endpoint.url,
            events=endpoint.events,
            description=endpoint.description,
            enabled=endpoint.enabled,
            created_at=endpoint.created_at,
            updated_at=endpoint.updated_at,
            secret_rotated_at=endpoint.secret_rotated_at,
            failing_since=endpoint.failing_since,
            disabled_at=endpoint.disabled_at,
            disabled_reason=endpoint.disabled_reason,
        )


class NewWebhookResponse(WebhookResponse):
    """The endpoint plus its signing `secret`, shown only on creation and rotation."""

    secret: str

    @classmethod
    def of_new(cls, endpoint: WebhookEndpoint) -> NewWebhookResponse:
        return cls(**msgspec.structs.asdict(WebhookResponse.of(endpoint)), secret=endpoint.secret)


class WebhookList(msgspec.Struct):
    data: list[WebhookResponse]


class AttemptResponse(msgspec.Struct):
    at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    response_body: str | None

    @classmethod
    def of(cls, attempt: DeliveryAttempt) -> AttemptResponse:
        return cls(
            at=attempt.at,
            status_code=attempt.status_code,
            latency_ms=attempt.latency_ms,
            error=attempt.error,
            response_body=attempt.response_body,
        )


class DeliveryResponse(msgspec.Struct):
    id: str
    webhook_id: str
    event_id: str | None
    event_type: str
    status: str
    attempts: list[AttemptResponse]
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    payload: str

    @classmethod
    def of(cls, delivery: WebhookDelivery) -> DeliveryResponse:
        return cls(
            id=str(delivery.id),
            webhook_id=delivery.webhook_id,
            event_id=str(delivery.event_id) if delivery.event_id else None,
            event_type=delivery.event_type,
            status=delivery.status.value,
            attempts=[AttemptResponse.of(a) for a in delivery.attempts],
            next_attempt_at=delivery.next_attempt_at,
            created_at=delivery.created_at,
            delivered_at=delivery.delivered_at,
            payload=delivery.payload,
        )


class DeliveryList(msgspec.Struct):
    data: list[DeliveryResponse]
    next_cursor: str | None
