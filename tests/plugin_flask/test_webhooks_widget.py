"""The Flask extension's webhook route (signature verified, blinker signals sent) and its widget helper."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from standardwebhooks import Webhook as StandardWebhook

from tests.plugin_flask.conftest import PUBLIC_URL, WEBHOOK_SECRET, Shop
from trailroom_client import sign_webhook
from trailroom_flask import credits_low, trailroom_widget, tryon_completed, tryon_failed, webhook_received


def signed(body: bytes, secret: str = WEBHOOK_SECRET, message_id: str = "msg_1") -> dict[str, str]:
    now = int(time.time())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(now),
        "webhook-signature": sign_webhook(secret, message_id, now, body),
        "content-type": "application/json",
    }


EVENT = {
    "type": "tryon.completed",
    "timestamp": "2026-11-25T00:00:00Z",
    "data": {"tryon_id": "t_123", "status": "completed", "mode": "top", "credits_charged": 1},
}


def test_a_signed_delivery_sends_the_signals_with_the_payload(flask_app: Flask) -> None:
    received: list[tuple[str, Any, dict[str, Any]]] = []

    def on(name: str) -> Any:
        def receiver(sender: Any, **kwargs: Any) -> None:
            received.append((name, sender, kwargs))

        return receiver

    on_any, on_completed, on_failed = on("any"), on("completed"), on("failed")
    body = json.dumps(EVENT).encode()
    with (
        webhook_received.connected_to(on_any),
        tryon_completed.connected_to(on_completed),
        tryon_failed.connected_to(on_failed),
    ):
        response = flask_app.test_client().post("/trailroom/webhooks", data=body, headers=signed(body))
    assert response.status_code == 204
    assert [name for name, _, _ in received] == ["any", "completed"]
    for _, sender, kwargs in received:
        assert sender is flask_app
        assert kwargs["event"] == EVENT
        assert kwargs["data"] == EVENT["data"]


def test_a_credits_low_delivery_signed_by_standard_webhooks_sends_credits_low(flask_app: Flask) -> None:
    event = {"type": "credits.low", "timestamp": "2026-11-25T00:00:00Z", "data": {"balance": 2, "threshold": 5}}
    body = json.dumps(event)
    now = datetime.now(UTC)
    headers = {
        "Webhook-Id": "msg_2",
        "Webhook-Timestamp": str(int(now.timestamp())),
        "Webhook-Signature": StandardWebhook(WEBHOOK_SECRET).sign("msg_2", now, body),
    }
    seen: list[dict[str, Any]] = []
    with credits_low.connected_to(lambda sender, **kw: seen.append(kw["data"])):
        response = flask_app.test_client().post("/trailroom/webhooks", data=body, headers=headers)
    assert response.status_code == 204
    assert seen == [{"balance": 2, "threshold": 5}]


def test_a_tampered_or_unsigned_delivery_is_400_and_sends_nothing(flask_app: Flask) -> None:
    body = json.dumps(EVENT).encode()
    headers = signed(body)
    seen: list[Any] = []
    client = flask_app.test_client()
    with webhook_received.connected_to(lambda sender, **kw: seen.append(kw)):
        tampered = client.post("/trailroom/webhooks", data=body.replace(b"t_123", b"t_999"), headers=headers)
        wrong_key = "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
        forged = client.post("/trailroom/webhooks", data=body, headers=signed(body, secret=wrong_key))
        unsigned = client.post("/trailroom/webhooks", data=body, headers={"content-type": "application/json"})
    for response in (tampered, forged, unsigned):
        assert response.status_code == 400
        assert response.content_type == "application/problem+json"
        assert response.get_json()["code"] == "invalid_signature"
    assert seen == []


def test_the_webhook_route_needs_no_csrf_header(flask_app: Flask) -> None:
    body = json.dumps(EVENT).encode()
    response = flask_app.test_client().post(
        "/trailroom/webhooks", data=body, headers={**signed(body), "Origin": "https://trailroom.example"}
    )
    assert response.status_code == 204


def test_the_widget_helper_renders_the_script_once_and_escaped_elements_without_a_key(
    flask_app: Flask, shop: Shop
) -> None:
    response = flask_app.test_client().get("/product/linen-shirt")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    script = f'<script src="{PUBLIC_URL}/widget/v1/trailroom.js" defer></script>'
    assert html.count(script) == 1
    assert html.index(script) < html.index("<trailroom-try-on")
    assert html.count("<trailroom-try-on ") == 2
    assert html.count('endpoint="/trailroom/tryon"') == 2
    assert 'garment-image="https://cdn.example.com/linen-shirt.jpg?a=1&amp;b=2"' in html
    assert 'mode="dress"' in html
    assert 'mode="top"' in html
    assert 'button-label="Try &#34;it&#34; &lt;now&gt;"' in html
    assert shop.secret_key not in html
    assert "tr_sk_" not in html
    assert "whsec_" not in html
    # A new page (request) renders the script again.
    assert flask_app.test_client().get("/product/dress").get_data(as_text=True).count(script) == 1


def test_the_widget_helper_refuses_a_secret_value(flask_app: Flask, shop: Shop) -> None:
    with flask_app.test_request_context("/"), pytest.raises(ValueError, match="secret"):
        trailroom_widget("https://cdn.example.com/a.jpg", api_key=shop.secret_key)
