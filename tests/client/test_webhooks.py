"""Webhook management through the client, and `verify_webhook` on deliveries the server really sent."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook as StandardWebhook

from tests.client.conftest import Merchant
from tests.webhooks.conftest import Receiver
from trailroom_client import (
    AsyncTrailRoom,
    TrailRoom,
    Webhook,
    WebhookVerificationError,
    sign_webhook,
    verify_webhook,
)

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


async def test_a_delivery_from_the_server_verifies_and_tampering_does_not(
    base_url: str, merchant: Merchant, receiver: Receiver
) -> None:
    # A shop's server manages its own endpoint with its secret key.
    async with AsyncTrailRoom(api_key=merchant.secret_key, base_url=base_url) as trailroom:
        endpoint = await trailroom.create_webhook(receiver.url(), ["tryon.completed"], description="shop")
        assert endpoint.secret is not None
        assert endpoint.secret.startswith("whsec_")
        assert [w.id for w in await trailroom.list_webhooks()] == [endpoint.id]
        assert (await trailroom.list_webhooks())[0].secret is None
        delivery = await trailroom.send_test_webhook(endpoint.id)
        assert delivery.event_type == "webhook.test"
        assert delivery.attempts[0].status_code == 200
        [received] = receiver.received
        event = verify_webhook(received.body, received.headers, endpoint.secret)
        assert event["type"] == "webhook.test"
        assert event["data"]["endpoint_id"] == endpoint.id
        assert verify_webhook(received.body.decode(), received.headers, endpoint.secret) == event
        with pytest.raises(WebhookVerificationError):
            verify_webhook(received.body.replace(b"webhook.test", b"webhook.tost"), received.headers, endpoint.secret)
        with pytest.raises(WebhookVerificationError):
            verify_webhook(received.body, received.headers, SECRET)

        rotated = await trailroom.rotate_webhook_secret(endpoint.id)
        assert rotated.secret is not None
        assert rotated.secret != endpoint.secret
        await trailroom.send_test_webhook(endpoint.id)
        fresh = receiver.received[-1]
        assert verify_webhook(fresh.body, fresh.headers, rotated.secret)["type"] == "webhook.test"
        with pytest.raises(WebhookVerificationError):
            verify_webhook(fresh.body, fresh.headers, endpoint.secret)

        deliveries = await trailroom.list_webhook_deliveries(endpoint.id, limit=1)
        assert [d.event_type for d in deliveries.data] == ["webhook.test"]
        assert deliveries.next_cursor is not None  # two test events were sent
        older = await trailroom.list_webhook_deliveries(endpoint.id, cursor=deliveries.next_cursor)
        assert [d.id for d in older.data] == [delivery.id]
        assert older.next_cursor is None

        paused = await trailroom.update_webhook(endpoint.id, enabled=False, description="paused")
        assert (paused.enabled, paused.description, paused.events) == (False, "paused", ("tryon.completed",))
        both = await asyncio.to_thread(_sync_update, base_url, merchant.secret_key, endpoint.id)
        assert (both.enabled, both.events, both.description) == (True, ("tryon.completed", "tryon.failed"), "paused")

        await trailroom.delete_webhook(endpoint.id)
        assert await trailroom.list_webhooks() == []


def _sync_update(base_url: str, key: str, webhook_id: str) -> Webhook:
    with TrailRoom(api_key=key, base_url=base_url) as trailroom:
        return trailroom.update_webhook(webhook_id, enabled=True, events=["tryon.completed", "tryon.failed"])


def test_signatures_of_the_standard_webhooks_library_verify() -> None:
    body = json.dumps({"type": "tryon.completed", "data": {"tryon_id": "t1"}})
    now = datetime.now(UTC)
    signature = StandardWebhook(SECRET).sign("msg_1", now, body)
    headers = {"Webhook-Id": "msg_1", "Webhook-Timestamp": str(int(now.timestamp())), "Webhook-Signature": signature}
    assert verify_webhook(body, headers, SECRET)["data"] == {"tryon_id": "t1"}
    # Ours signs the same way theirs does, and theirs accepts it.
    assert sign_webhook(SECRET, "msg_1", int(now.timestamp()), body) == signature
    StandardWebhook(SECRET).verify(body, {k.lower(): v for k, v in headers.items()})
    # Several signatures (a rotation): any one match is enough.
    other = sign_webhook("whsec_" + base64.b64encode(b"another key").decode(), "msg_1", int(now.timestamp()), body)
    assert verify_webhook(body, {**headers, "Webhook-Signature": f"{other} {signature}"}, SECRET)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, {**headers, "Webhook-Signature": other}, SECRET)


def test_old_or_future_timestamps_and_missing_headers_are_refused() -> None:
    body = b'{"type": "webhook.test", "data": {}}'
    for when in (datetime.now(UTC) - timedelta(minutes=6), datetime.now(UTC) + timedelta(minutes=6)):
        signed = StandardWebhook(SECRET).sign("msg_2", when, body.decode())
        headers = {"webhook-id": "msg_2", "webhook-timestamp": str(int(when.timestamp())), "webhook-signature": signed}
        with pytest.raises(WebhookVerificationError, match="tolerance"):
            verify_webhook(body, headers, SECRET)
        assert verify_webhook(body, headers, SECRET, tolerance_s=600)["type"] == "webhook.test"
    now = str(int(time.time()))
    with pytest.raises(WebhookVerificationError, match="webhook-signature"):
        verify_webhook(body, {"webhook-id": "m", "webhook-timestamp": now}, SECRET)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, {"webhook-id": "m", "webhook-timestamp": "soon", "webhook-signature": "v1,x"}, SECRET)
