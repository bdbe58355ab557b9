"""Fan-out and delivery, at the service level: signatures any Standard Webhooks verifier accepts,
in-order delivery to a receiver that was down, retries, abandonment, disabling, deletion, SSRF."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from tests.webhooks.conftest import Received, Receiver, new_account, record_events, strict_settings
from trailroom.core.clock import utcnow
from trailroom.core.errors import InvalidInput, NotFound
from trailroom.domain.events.models import CREDITS_LOW, TRYON_COMPLETED, TRYON_FAILED, DomainEvent
from trailroom.domain.services import Services
from trailroom.domain.webhooks.delivery import ENDPOINT_DISABLED_EVENT, RETRY_SCHEDULE, SendResult, retry_delay
from trailroom.domain.webhooks.messages import sign
from trailroom.domain.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from trailroom.domain.webhooks.services import WebhookService


def verified(secret: str, received: Received) -> dict[str, Any]:
    """The payload, after the reference Standard Webhooks verifier accepted the request."""
    payload: dict[str, Any] = Webhook(secret).verify(received.body, received.headers)
    return payload


async def deliveries_of(endpoint: WebhookEndpoint) -> list[WebhookDelivery]:
    return await WebhookDelivery.find(WebhookDelivery.endpoint_id == endpoint.id).sort("created_at", "_id").to_list()


async def test_events_are_delivered_signed_to_subscribed_endpoints_only(
    services: Services, webhooks: WebhookService, receiver: Receiver
) -> None:
    owner = await new_account(services, "owner@example.com")
    other = await new_account(services, "other@example.com")
    completed = await webhooks.create(owner, url=receiver.url("completed"), events=[TRYON_COMPLETED])
    everything = await webhooks.create(owner, url=receiver.url("all"), events=[TRYON_COMPLETED, TRYON_FAILED])
    await webhooks.create(other, url=receiver.url("other"), events=[TRYON_COMPLETED, TRYON_FAILED])
    off = await webhooks.create(owner, url=receiver.url("off"), events=[TRYON_FAILED])
    await webhooks.update(owner, str(off.id), enabled=False)
    await record_events(owner, TRYON_COMPLETED, TRYON_FAILED, CREDITS_LOW)

    assert await webhooks.fanout.dispatch_pending(enqueue=False) == 3
    assert await DomainEvent.find(DomainEvent.dispatched_at == None).count() == 0  # noqa: E711
    for endpoint in (completed, everything):
        await webhooks.delivery.deliver_endpoint(str(endpoint.id))

    by_path: dict[str, list[dict[str, Any]]] = {}
    for request in receiver.received:
        secret = completed.secret if request.path == "/hook/completed" else everything.secret
        by_path.setdefault(request.path, []).append(verified(secret, request))
    assert set(by_path) == {"/hook/completed", "/hook/all"}
    assert [p["type"] for p in by_path["/hook/completed"]] == [TRYON_COMPLETED]
    assert [p["type"] for p in by_path["/hook/all"]] == [TRYON_COMPLETED, TRYON_FAILED]
    first = by_path["/hook/all"][0]
    assert set(first) == {"type", "timestamp", "data"}
    assert first["data"] == {"tryon_id": "job-0", "index": 0}
    # A signature made with another endpoint's secret is refused by the verifier.
    [only] = [r for r in receiver.received if r.path == "/hook/completed"]
    with pytest.raises(WebhookVerificationError):
        Webhook(everything.secret).verify(only.body, only.headers)
    [delivered] = await deliveries_of(completed)
    assert delivered.status == DeliveryStatus.DELIVERED
    assert delivered.webhook_id.startswith("msg_")
    assert only.headers["webhook-id"] == delivered.webhook_id
    assert delivered.attempts[0].status_code == 200
    assert delivered.attempts[0].response_body == "ok"


def test_signature_matches_the_standard_webhooks_reference() -> None:
    secret = "whsec_" + base64.b64encode(b"0123456789abcdefghijklmn").decode()
    from datetime import UTC, datetime

    reference = Webhook(secret).sign("msg_1", datetime.fromtimestamp(1_700_000_000, UTC), '{"a":1}')
    assert sign(secret, "msg_1", 1_700_000_000, '{"a":1}') == reference


async def test_secret_format(services: Services, webhooks: WebhookService, receiver: Receiver) -> None:
    owner = await new_account(services, "owner@example.com")
    endpoint = await webhooks.create(owner, url=receiver.url(), events=[TRYON_COMPLETED])
    assert endpoint.secret.startswith("whsec_")
    assert len(base64.b64decode(endpoint.secret.removeprefix("whsec_"))) == 24
    another = await webhooks.create(owner, url=receiver.url(), events=[TRYON_COMPLETED])
    assert another.secret != endpoint.secret


async def test_receiver_down_then_back_gets_every_event_in_order(
    services: Services, webhooks: WebhookService, receiver: Receiver
) -> None:
    owner = await new_account(services, "owner@example.com")
    endpoint = await webhooks.create(owner, url=receiver.url(), events=[TRYON_COMPLETED, TRYON_FAILED])
    events = await record_events(owner, TRYON_COMPLETED, TRYON_FAILED, TRYON_COMPLETED, TRYON_COMPLETED)
    await webhooks.fanout.dispatch_pending(enqueue=False)
    receiver.status = 503
    t0 = utcnow()

    assert await webhooks.delivery.deliver_endpoint(str(endpoint.id), now=t0) == 1
    # Later deliveries wait behind the failing one; it is retried on the schedule, not before.
    assert await webhooks.delivery.deliver_endpoint(str(endpoint.id), now=t0 + timedelta(seconds=1)) == 0
    assert await webhooks.delivery.deliver_endpoint(str(endpoint.id), now=t0 + timedelta(seconds=10)) == 1
    assert await webhooks.delivery.deliver_endpoint(str(endpoint.id), now=t0 + timedelta(minutes=1)) == 0
    receiver.status = 500
    assert await webhooks.delivery.deliver_endpoint(str(endpoint.id), now=t0 + timedelta(minutes=10)) == 1
    head, *waiting = await deliveries_of(endpoint)
    assert head.status == DeliveryStatus.FAILED
    assert [a.status_code for a in head.attempts] == [503, 503, 500]
    assert all(a.error == f"HTTP {a.status_code}" for a in head.attempts)
    assert all(d.status == DeliveryStatus.PENDING and not d.attempts for d in waiting)
    assert (await WebhookEndpoint.get(endpoint.id)).failing_since is not None  # type: ignore[union-attr]

    receiver.status = 200
    assert await webhooks.delivery.deliver_endpoint(str(endpoint.id), now=t0 + timedelta(hours=1)) == 4

    ids = [r.headers["webhook-id"] for r in receiver.received]
    payloads = [verified(endpoint.secret, r) for r in receiver.received]
    stored = await deliveries_of(endpoint)
    assert [d.status for d in stored] == [DeliveryStatus.DELIVERED] * 4
    # The first event was sent 4 times with one webhook-id, then the others once each, in order.
    assert ids == [stored[0].webhook_id] * 4 + [d.webhook_id for d in stored[1:]]
    assert len(set(ids)) == 4
    assert [p["data"]["index"] for p in payloads] == [0, 0, 0, 0, 1, 2, 3]
    assert [p["type"] for p in payloads[3:]] == [e.type for e in events]
    assert (await WebhookEndpoint.get(endpoint.id)).failing_since is None  # type: ignore[union-attr]


async def test_retry_schedule_has_jitter_and_ends_in_abandoned(
    services: Services, webhooks: WebhookService, receiver: Receiver
) -> None:
    assert retry_delay(1, lambda a, b: a) == RETRY_SCHEDULE[0] * 0.9
    assert retry_delay(1, lambda a, b: b) == RETRY_SCHEDULE[0] * 1.1
    assert retry_delay(len(RETRY_SCHEDULE) + 1) is None
    assert timedelta(hours=20) < sum(RETRY_SCHEDULE, timedelta()) < timedelta(hours=36)

    owner = await new_account(services, "owner@example.com")
    endpoint = await webhooks.create(owner, url=receiver.url(), events=[TRYON_COMPLETED])
    await record_events(owner, TRYON_COMPLETED, TRYON_COMPLETED)
    await webhooks.fanout.dispatch_pending(enqueue=False)
    receiver.status = 500
    now = utcnow()
    for expected in RETRY_SCHEDULE:
        await webhooks.delivery.deliver_endpoint(str(endpoint.id), now=now)
        [head, _] = await deliveries_of(endpoint)
        assert head.status == DeliveryStatus.FAILED
        assert head.next_attempt_at is not None
        wait = head.next_attempt_at - now
        assert expected * 0.89 <= wait <= expected * 1.11
        now = head.next_attempt_at
    # The last attempt fails: the first delivery is abandoned and the second one goes out at once.
    receiver.status = 200
    receiver.answer = "x" * 5000
    await webhooks.delivery.deliver_endpoint(str(endpoint.id), now=now)
    first, second = await deliveries_of(endpoint)
    assert first.status == DeliveryStatus.DELIVERED  # the receiver answered 200 on the 8th attempt
    assert len(first.attempts) == len(RETRY_SCHEDULE) + 1
    assert len(first.attempts[-1].response_body or "") == 1024  # truncated to 1 KiB
    assert second.status == DeliveryStatus.DELIVERED

    await record_events(owner, TRYON_COMPLETED, TRYON_COMPLETED)
    await webhooks.fanout.dispatch_pending(enqueue=False)
    receiver.status = 500
    for _ in range(len(RETRY_SCHEDULE) + 1):
        await webhooks.delivery.deliver_endpoint(str(endpoint.id), now=now)
        third = (await deliveries_of(endpoint))[2]
        now = third.next_attempt_at or now
    third, fourth = (await deliveries_of(endpoint))[2:]
    assert (await WebhookEndpoint.get(endpoint.id)).enabled  # type: ignore[union-attr]
    assert third.status == DeliveryStatus.ABANDONED
    assert third.next_attempt_at is None
    assert len(third.attempts) == len(RETRY_SCHEDULE) + 1
    assert fourth.attempts, "the delivery behind an abandoned one is attempted"


async def test_an_endpoint_failing_for_days_is_disabled_and_the_owner_noted(
    services: Services, webhooks: WebhookService, receiver: Receiver
) -> None:
    owner = await new_account(services, "owner@example.com")
    endpoint = await webhooks.create(owner, url=receiver.url(), events=[TRYON_COMPLETED])
    receiver.status = 500
    now = utcnow()
    for _day in range(5):
        await record_events(owner, TRYON_COMPLETED, start=now)
        await webhooks.fanout.dispatch_pending(enqueue=False)
        for _ in range(len(RETRY_SCHEDULE) + 1):
            await webhooks.delivery.deliver_endpoint(str(endpoint.id), now=now)
            now += timedelta(hours=11)
        if not (await WebhookEndpoint.get(endpoint.id)).enabled:  # type: ignore[union-attr]
            break
    stored = await WebhookEndpoint.get(endpoint.id)
    assert stored is not None
    assert not stored.enabled
    assert stored.disabled_reason
    assert "3 days" in stored.disabled_reason
    [note] = await DomainEvent.find(DomainEvent.type == ENDPOINT_DISABLED_EVENT).to_list()
    assert note.account_id == owner
    assert note.data["endpoint_id"] == str(endpoint.id)
    # A disabled endpoint gets no new deliveries and no attempts.
    sent = len(receiver.received)
    await record_events(owner, TRYON_COMPLETED)
    assert await webhooks.fanout.dispatch_pending(enqueue=False) == 0
    assert await webhooks.delivery.deliver_endpoint(str(endpoint.id), now=now + timedelta(days=1)) == 0
    assert await webhooks.delivery.deliver_due(now=now + timedelta(days=1), inline=True) == 0
    assert len(receiver.received) == sent
    # Re-enabling clears its health and delivers what was still open.
    receiver.status = 200
    enabled = await webhooks.update(owner, str(endpoint.id), enabled=True)
    assert enabled.enabled
    assert enabled.failing_since is None
    assert enabled.disabled_reason is None
    await webhooks.delivery.deliver_endpoint(str(endpoint.id), now=now + timedelta(days=1))
    assert all(d.status != DeliveryStatus.PENDING for d in await deliveries_of(endpoint))


async def test_nothing_is_delivered_to_a_deleted_endpoint(
    services: Services, webhooks: WebhookService, receiver: Receiver
) -> None:
    owner = await new_account(services, "owner@example.com")
    endpoint = await webhooks.create(owner, url=receiver.url(), events=[TRYON_COMPLETED])
    await webhooks.create(owner, url=receiver.url("kept"), events=[TRYON_COMPLETED])
    await record_events(owner, TRYON_COMPLETED, TRYON_COMPLETED)
    assert await webhooks.fanout.dispatch_pending(enqueue=False) == 4
    await webhooks.delete(owner, str(endpoint.id))
    assert await WebhookDelivery.find(WebhookDelivery.endpoint_id == endpoint.id).count() == 0
    await record_events(owner, TRYON_COMPLETED)
    assert await webhooks.fanout.dispatch_pending(enqueue=False) == 1  # only the endpoint that is left
    later = utcnow() + timedelta(days=1)
    await webhooks.delivery.deliver_due(now=later, inline=True)
    assert await webhooks.delivery.deliver_endpoint(str(endpoint.id), now=later) == 0
    assert [r.path for r in receiver.received] == ["/hook/kept"] * 3
    with pytest.raises(NotFound) as missing:
        await webhooks.get(owner, str(endpoint.id))
    assert missing.value.code == "webhook_not_found"


async def test_a_delivery_racing_the_deletion_is_not_sent(
    services: Services, webhooks: WebhookService, receiver: Receiver
) -> None:
    """A delivery left behind by a fan-out that raced the endpoint's deletion goes nowhere."""
    owner = await new_account(services, "owner@example.com")
    endpoint = await webhooks.create(owner, url=receiver.url(), events=[TRYON_COMPLETED])
    await record_events(owner, TRYON_COMPLETED)
    assert await webhooks.fanout.dispatch_pending(enqueue=False) == 1
    # The endpoint disappears without its deliveries (as if the fan-out inserted after the delete).
    await WebhookEndpoint.get_pymongo_collection().delete_one({"_id": endpoint.id})
    assert await WebhookDelivery.find(WebhookDelivery.endpoint_id == endpoint.id).count() == 1
    assert await webhooks.delivery.deliver_endpoint(str(endpoint.id)) == 0
    assert await webhooks.delivery.deliver_due(now=utcnow() + timedelta(hours=1), inline=True) == 0
    assert receiver.received == []
    # The cron drops deliveries whose endpoint is gone.
    assert await WebhookDelivery.find(WebhookDelivery.endpoint_id == endpoint.id).count() == 0


async def test_two_dispatchers_never_double_dispatch(
    services: Services, webhooks: WebhookService, receiver: Receiver
) -> None:
    owner = await new_account(services, "owner@example.com")
    endpoints = [await webhooks.create(owner, url=receiver.url(str(i)), events=[TRYON_COMPLETED]) for i in range(2)]
    events = await record_events(owner, *[TRYON_COMPLETED] * 10)
    created = await asyncio.gather(*(webhooks.fanout.dispatch_pending(enqueue=False) for _ in range(4)))
    assert sum(created) == 20
    for endpoint in endpoints:
        stored = await deliveries_of(endpoint)
        assert [d.event_id for d in stored] == [e.id for e in events]
    assert await DomainEvent.find(DomainEvent.dispatched_at == None).count() == 0  # noqa: E711


async def test_two_deliverers_keep_one_endpoint_in_order(
    services: Services, webhooks: WebhookService, receiver: Receiver
) -> None:
    owner = await new_account(services, "owner@example.com")
    endpoint = await webhooks.create(owner, url=receiver.url(), events=[TRYON_COMPLETED])
    await record_events(owner, *[TRYON_COMPLETED] * 8)
    await webhooks.fanout.dispatch_pending(enqueue=False)
    receiver.delay_s = 0.02
    await asyncio.gather(*(webhooks.delivery.deliver_endpoint(str(endpoint.id)) for _ in range(4)))
    await webhooks.delivery.deliver_endpoint(str(endpoint.id))
    indexes = [json.loads(r.body)["data"]["index"] for r in receiver.received]
    assert indexes == list(range(8))


async def test_rotation_changes_the_signing_secret(
    services: Services, webhooks: WebhookService, receiver: Receiver
) -> None:
    owner = await new_account(services, "owner@example.com")
    endpoint = await webhooks.create(owner, url=receiver.url(), events=[TRYON_COMPLETED])
    rotated = await webhooks.rotate_secret(owner, str(endpoint.id))
    assert rotated.secret != endpoint.secret
    assert rotated.secret.startswith("whsec_")
    await record_events(owner, TRYON_COMPLETED)
    await webhooks.fanout.dispatch_pending(enqueue=False)
    await webhooks.delivery.deliver_endpoint(str(endpoint.id))
    [request] = receiver.received
    assert verified(rotated.secret, request)["type"] == TRYON_COMPLETED
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(request.body, request.headers)


async def test_redirects_are_not_followed_and_timeouts_are_failures(
    services: Services, webhooks: WebhookService, receiver: Receiver
) -> None:
    owner = await new_account(services, "owner@example.com")
    endpoint = await webhooks.create(owner, url=receiver.url(), events=[TRYON_COMPLETED])
    await record_events(owner, TRYON_COMPLETED)
    await webhooks.fanout.dispatch_pending(enqueue=False)
    receiver.redirect_to = receiver.url("elsewhere")
    await webhooks.delivery.deliver_endpoint(str(endpoint.id))
    assert [r.path for r in receiver.received] == ["/hook/a"]
    [delivery] = await deliveries_of(endpoint)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts[0].status_code == 302

    quick = WebhookService(services.resources, timeout_s=0.3)
    try:
        receiver.redirect_to = None
        receiver.delay_s = 1.5
        await quick.delivery.deliver_endpoint(str(endpoint.id), now=utcnow() + timedelta(minutes=1))
    finally:
        await quick.aclose()
    [delivery] = await deliveries_of(endpoint)
    last = delivery.attempts[-1]
    assert delivery.status == DeliveryStatus.FAILED
    assert last.status_code is None
    assert last.error is not None
    assert "timed out" in last.error
    assert last.latency_ms < 1400


async def test_connection_refused_is_a_recorded_failure(services: Services, webhooks: WebhookService) -> None:
    from trailroom.embedded.process import free_port

    owner = await new_account(services, "owner@example.com")
    endpoint = await webhooks.create(owner, url=f"http://127.0.0.1:{free_port()}/nobody", events=[TRYON_COMPLETED])
    await record_events(owner, TRYON_COMPLETED)
    await webhooks.fanout.dispatch_pending(enqueue=False)
    await webhooks.delivery.deliver_endpoint(str(endpoint.id))
    [delivery] = await deliveries_of(endpoint)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts[0].status_code is None
    assert "connection failed" in (delivery.attempts[0].error or "")


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://10.0.0.1/hook", "webhook_url_forbidden"),
        ("https://169.254.169.254/latest/meta-data", "webhook_url_forbidden"),
        ("https://localhost/hook", "webhook_url_forbidden"),
        ("https://127.0.0.1:8443/hook", "webhook_url_forbidden"),
        ("https://[::1]/hook", "webhook_url_forbidden"),
        ("https://[::ffff:192.168.1.1]/hook", "webhook_url_forbidden"),
        ("https://100.64.0.1/hook", "webhook_url_forbidden"),
        ("http://example.com/hook", "invalid_webhook_url"),
        ("ftp://example.com/hook", "invalid_webhook_url"),
        ("https://user:pw@example.com/hook", "invalid_webhook_url"),
        ("not a url", "invalid_webhook_url"),
    ],
)
async def test_ssrf_targets_are_refused_at_creation(services: Services, url: str, code: str) -> None:
    strict = WebhookService(services.resources, settings=strict_settings(services.resources.settings))
    owner = await new_account(services, "owner@example.com")
    with pytest.raises(InvalidInput) as refused:
        await strict.create(owner, url=url, events=[TRYON_COMPLETED])
    assert refused.value.code == code
    assert await WebhookEndpoint.count() == 0


async def test_ssrf_is_checked_again_at_delivery(
    services: Services, webhooks: WebhookService, receiver: Receiver
) -> None:
    """A URL that was fine at creation but resolves to a refused address when sending is not contacted."""
    owner = await new_account(services, "owner@example.com")
    endpoint = await webhooks.create(owner, url=receiver.url(), events=[TRYON_COMPLETED])
    await record_events(owner, TRYON_COMPLETED)
    await webhooks.fanout.dispatch_pending(enqueue=False)
    strict = WebhookService(
        services.resources,
        settings=services.resources.settings.model_copy(update={"url_fetch_allow_loopback": False}),
    )
    try:
        await strict.delivery.deliver_endpoint(str(endpoint.id))
    finally:
        await strict.aclose()
    assert receiver.received == []
    [delivery] = await deliveries_of(endpoint)
    assert delivery.status == DeliveryStatus.FAILED
    assert "loopback" in (delivery.attempts[0].error or "")


async def test_unknown_event_types_are_refused(
    services: Services, webhooks: WebhookService, receiver: Receiver
) -> None:
    owner = await new_account(services, "owner@example.com")
    for events in ([], ["tryon.exploded"], [TRYON_COMPLETED, "webhook.disabled"]):
        with pytest.raises(InvalidInput) as refused:
            await webhooks.create(owner, url=receiver.url(), events=events)
        assert refused.value.code == "invalid_event_types"
    assert await WebhookEndpoint.count() == 0


async def test_test_event_is_sent_at_once_and_not_retried(
    services: Services, webhooks: WebhookService, receiver: Receiver
) -> None:
    owner = await new_account(services, "owner@example.com")
    endpoint = await webhooks.create(owner, url=receiver.url(), events=[TRYON_COMPLETED])
    delivery = await webhooks.send_test(owner, str(endpoint.id))
    assert delivery.status == DeliveryStatus.DELIVERED
    [request] = receiver.received
    payload = verified(endpoint.secret, request)
    assert payload["type"] == "webhook.test"
    assert payload["data"]["endpoint_id"] == str(endpoint.id)
    receiver.status = 500
    failed = await webhooks.send_test(owner, str(endpoint.id))
    assert failed.status == DeliveryStatus.ABANDONED
    assert failed.attempts[0].status_code == 500
    assert await webhooks.delivery.deliver_due(now=utcnow() + timedelta(days=2), inline=True) == 0
    assert len(receiver.received) == 2
    stored = await WebhookEndpoint.get(endpoint.id)
    assert stored is not None
    assert stored.failing_since is None


async def test_an_attempt_is_recorded_once(services: Services, webhooks: WebhookService, receiver: Receiver) -> None:
    """Two deliverers holding the same snapshot of a delivery cannot both record their attempt."""
    owner = await new_account(services, "owner@example.com")
    endpoint = await webhooks.create(owner, url=receiver.url(), events=[TRYON_COMPLETED])
    await record_events(owner, TRYON_COMPLETED)
    await webhooks.fanout.dispatch_pending(enqueue=False)
    [snapshot] = await deliveries_of(endpoint)
    result = SendResult(status_code=500, error="HTTP 500", body="", latency_ms=3)
    now = utcnow()
    outcomes = await asyncio.gather(
        *(webhooks.delivery._after_attempt(endpoint, snapshot, result, now) for _ in range(3))
    )
    assert outcomes == [False, False, False]
    [stored] = await deliveries_of(endpoint)
    assert stored.attempt_count == 1
    assert len(stored.attempts) == 1
    assert stored.status == DeliveryStatus.FAILED
