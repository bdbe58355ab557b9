"""The /api/v1/webhooks HTTP API: endpoints CRUD, secrets shown once, rotation, test events, delivery
history, and isolation between accounts. Runs against the real app once `WebhookController` is
registered; until then against a stand-in app (see `webhooks_base_url`)."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from tests.helpers import Account, new_key, signed_up
from tests.webhooks.conftest import Receiver, record_events
from trailroom.domain.accounts.models import User
from trailroom.domain.events.models import TRYON_COMPLETED, TRYON_FAILED
from trailroom.domain.webhooks.models import WebhookEndpoint
from trailroom.domain.webhooks.services import WebhookService


async def create(api: httpx.AsyncClient, account: Account, **body: Any) -> httpx.Response:
    return await api.post("/api/v1/webhooks", headers=account.auth, json=body)


async def user_id(account: Account) -> Any:
    user = await User.find_one(User.email == account.email)
    assert user is not None
    return user.id


async def test_create_list_update_delete(client: httpx.AsyncClient, api: httpx.AsyncClient, receiver: Receiver) -> None:
    account = await signed_up(client, "merchant@example.com")
    created = await create(
        api, account, url=receiver.url(), events=[TRYON_FAILED, TRYON_COMPLETED], description="  orders  "
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"][len("whsec_") :])) == 24
    assert body["events"] == [TRYON_COMPLETED, TRYON_FAILED]
    assert body["description"] == "orders"
    assert body["enabled"] is True

    listed = (await api.get("/api/v1/webhooks", headers=account.auth)).json()["data"]
    assert [e["id"] for e in listed] == [body["id"]]
    assert "secret" not in listed[0]  # shown once, on creation

    updated = await api.put(
        f"/api/v1/webhooks/{body['id']}",
        headers=account.auth,
        json={"events": [TRYON_FAILED], "enabled": False, "url": receiver.url("v2")},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["events"] == [TRYON_FAILED]
    assert updated.json()["enabled"] is False
    assert updated.json()["url"] == receiver.url("v2")
    assert "secret" not in updated.json()

    deleted = await api.delete(f"/api/v1/webhooks/{body['id']}", headers=account.auth)
    assert deleted.status_code == 204
    assert (await api.get("/api/v1/webhooks", headers=account.auth)).json()["data"] == []
    assert await WebhookEndpoint.count() == 0
    again = await api.delete(f"/api/v1/webhooks/{body['id']}", headers=account.auth)
    assert again.status_code == 404
    assert again.json()["code"] == "webhook_not_found"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"events": ["tryon.exploded"]}, 422, "invalid_event_types"),
        ({"events": []}, 400, "validation_failed"),
        ({"url": "ftp://example.com/hook"}, 422, "invalid_webhook_url"),
        ({"url": "https://user:pw@example.com/hook"}, 422, "invalid_webhook_url"),
        ({"surprise": True}, 400, "validation_failed"),
    ],
)
async def test_invalid_endpoints_are_refused(
    client: httpx.AsyncClient,
    api: httpx.AsyncClient,
    receiver: Receiver,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    account = await signed_up(client, "merchant@example.com")
    response = await create(api, account, **{"url": receiver.url(), "events": [TRYON_COMPLETED], **body})
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert await WebhookEndpoint.count() == 0


async def test_another_accounts_endpoint_is_not_found(
    client: httpx.AsyncClient, api: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner = await signed_up(client, "owner@example.com")
    intruder = await signed_up(client, "intruder@example.com")
    endpoint = (await create(api, owner, url=receiver.url(), events=[TRYON_COMPLETED])).json()
    path = f"/api/v1/webhooks/{endpoint['id']}"
    attempts = [
        await api.put(path, headers=intruder.auth, json={"url": receiver.url("mine")}),
        await api.delete(path, headers=intruder.auth),
        await api.post(f"{path}/rotate-secret", headers=intruder.auth),
        await api.get(f"{path}/deliveries", headers=intruder.auth),
        await api.post(f"{path}/test", headers=intruder.auth),
        await api.get("/api/v1/webhooks/not-an-id/deliveries", headers=intruder.auth),
    ]
    for response in attempts:
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "webhook_not_found"
    assert (await api.get("/api/v1/webhooks", headers=intruder.auth)).json()["data"] == []
    assert receiver.received == []
    stored = await WebhookEndpoint.find_one()
    assert stored is not None
    assert stored.url == receiver.url()
    assert stored.secret == endpoint["secret"]


async def test_a_secret_key_manages_its_accounts_webhooks_and_a_publishable_key_cannot(
    client: httpx.AsyncClient, api: httpx.AsyncClient, receiver: Receiver
) -> None:
    account = await signed_up(client, "merchant@example.com")
    secret = {"Authorization": f"Bearer {(await new_key(client, account))['key']}"}
    created = await api.post(
        "/api/v1/webhooks", headers=secret, json={"url": receiver.url(), "events": [TRYON_COMPLETED]}
    )
    assert created.status_code == 201, created.text
    endpoint = created.json()
    # The endpoint is the account's: the signed-in user sees the one the key registered.
    listed = (await api.get("/api/v1/webhooks", headers=account.auth)).json()["data"]
    assert [e["id"] for e in listed] == [endpoint["id"]]
    updated = await api.put(
        f"/api/v1/webhooks/{endpoint['id']}", headers=secret, json={"events": [TRYON_FAILED, TRYON_COMPLETED]}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["events"] == [TRYON_COMPLETED, TRYON_FAILED]
    rotated = await api.post(f"/api/v1/webhooks/{endpoint['id']}/rotate-secret", headers=secret)
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != endpoint["secret"]
    sent = await api.post(f"/api/v1/webhooks/{endpoint['id']}/test", headers=secret)
    assert sent.status_code == 200
    assert sent.json()["status"] == "delivered"
    [delivered] = receiver.received
    assert Webhook(rotated.json()["secret"]).verify(delivered.body, delivered.headers)["type"] == "webhook.test"
    deliveries = await api.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=secret)
    assert [d["id"] for d in deliveries.json()["data"]] == [sent.json()["id"]]

    # A publishable key lives in shoppers' browsers: it may not read or change webhooks, from its origin or not.
    publishable = await new_key(client, account, kind="publishable", origins=["https://shop.example"])
    widget = {"Authorization": f"Bearer {publishable['key']}", "Origin": "https://shop.example"}
    for method, path in (
        ("POST", "/api/v1/webhooks"),
        ("GET", "/api/v1/webhooks"),
        ("POST", f"/api/v1/webhooks/{endpoint['id']}/rotate-secret"),
        ("GET", f"/api/v1/webhooks/{endpoint['id']}/deliveries"),
        ("DELETE", f"/api/v1/webhooks/{endpoint['id']}"),
    ):
        body = {"url": receiver.url("pk"), "events": [TRYON_COMPLETED]} if method == "POST" else None
        refused = await api.request(method, path, headers=widget, json=body)
        assert refused.status_code == 403, (method, path, refused.text)
        assert refused.json()["code"] == "publishable_key_not_allowed"
        without_origin = await api.request(method, path, headers={"Authorization": widget["Authorization"]}, json=body)
        assert without_origin.status_code == 403, (method, path, without_origin.text)
    assert await WebhookEndpoint.count() == 1
    stored = await WebhookEndpoint.find_one()
    assert stored is not None
    assert stored.secret == rotated.json()["secret"]

    deleted = await api.delete(f"/api/v1/webhooks/{endpoint['id']}", headers=secret)
    assert deleted.status_code == 204
    assert await WebhookEndpoint.count() == 0
    assert (await api.get("/api/v1/webhooks")).status_code == 401


async def test_test_event_and_secret_rotation(
    client: httpx.AsyncClient, api: httpx.AsyncClient, receiver: Receiver
) -> None:
    account = await signed_up(client, "merchant@example.com")
    endpoint = (await create(api, account, url=receiver.url(), events=[TRYON_COMPLETED])).json()
    sent = await api.post(f"/api/v1/webhooks/{endpoint['id']}/test", headers=account.auth)
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "delivered"
    assert sent.json()["attempts"][0]["status_code"] == 200
    [first] = receiver.received
    assert Webhook(endpoint["secret"]).verify(first.body, first.headers)["type"] == "webhook.test"
    assert first.headers["webhook-id"] == sent.json()["webhook_id"]

    rotated = await api.post(f"/api/v1/webhooks/{endpoint['id']}/rotate-secret", headers=account.auth)
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_")
    assert new_secret != endpoint["secret"]
    assert rotated.json()["secret_rotated_at"] is not None
    await api.post(f"/api/v1/webhooks/{endpoint['id']}/test", headers=account.auth)
    second = receiver.received[1]
    assert Webhook(new_secret).verify(second.body, second.headers)["data"]["endpoint_id"] == endpoint["id"]
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint["secret"]).verify(second.body, second.headers)

    receiver.status = 500
    failed = (await api.post(f"/api/v1/webhooks/{endpoint['id']}/test", headers=account.auth)).json()
    assert failed["status"] == "abandoned"
    assert failed["attempts"][0]["status_code"] == 500
    assert failed["attempts"][0]["error"] == "HTTP 500"


async def test_delivery_history_in_cursor_pages(
    client: httpx.AsyncClient, api: httpx.AsyncClient, webhooks: WebhookService, receiver: Receiver
) -> None:
    account = await signed_up(client, "merchant@example.com")
    endpoint = (await create(api, account, url=receiver.url(), events=[TRYON_COMPLETED])).json()
    await record_events(await user_id(account), *[TRYON_COMPLETED] * 5)
    await webhooks.fanout.dispatch_pending(enqueue=False)
    await webhooks.delivery.deliver_endpoint(endpoint["id"])

    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await api.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=account.auth, params=params)
        assert page.status_code == 200, page.text
        seen.extend(page.json()["data"])
        pages += 1
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len({d["id"] for d in seen}) == 5
    # Newest first: the last event delivered is on top.
    indexes = [json.loads(d["payload"])["data"]["index"] for d in seen]
    assert indexes == [4, 3, 2, 1, 0]
    assert all(d["status"] == "delivered" and d["webhook_id"].startswith("msg_") for d in seen)
    assert all(len(d["attempts"]) == 1 and d["attempts"][0]["latency_ms"] >= 0 for d in seen)
    bad = await api.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries?cursor=zzz", headers=account.auth)
    assert bad.status_code == 422
