"""The extension's setup: `TrailRoom(app)` and `init_app`, config read into `app.extensions`, a prefix."""

from __future__ import annotations

import json
import time

import pytest
from flask import Flask, render_template_string

from tests.plugin_flask.conftest import WEBHOOK_SECRET
from trailroom_client import sign_webhook
from trailroom_flask import TrailRoom, TrailRoomState, webhook_received


def test_the_app_form_mounts_the_blueprint_under_the_configured_prefix() -> None:
    app = Flask("custom")
    app.config.update(
        TRAILROOM_API_KEY="tr_sk_not_used_here",
        TRAILROOM_BASE_URL="http://127.0.0.1:9/",
        TRAILROOM_URL_PREFIX="/shop/tryon-proxy/",
        TRAILROOM_WEBHOOK_SECRET=WEBHOOK_SECRET,
        TRAILROOM_SESSION_LIMIT=3,
    )
    TrailRoom(app)
    state = app.extensions["trailroom"]
    assert isinstance(state, TrailRoomState)
    assert state.config.base_url == "http://127.0.0.1:9"
    assert state.config.public_url == "http://127.0.0.1:9"  # defaults to the base URL
    assert state.config.session_limit == 3
    assert state.config.max_upload_bytes == 10 * 1024 * 1024
    assert state.client.api_key == "tr_sk_not_used_here"
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert {"/shop/tryon-proxy/tryon", "/shop/tryon-proxy/tryon/<job_id>", "/shop/tryon-proxy/webhooks"} <= rules

    with app.test_request_context("/"):
        html = render_template_string("{{ trailroom_widget('https://cdn.example.com/a.jpg') }}")
    assert 'endpoint="/shop/tryon-proxy/tryon"' in html
    assert 'src="http://127.0.0.1:9/widget/v1/trailroom.js"' in html
    assert "tr_sk_" not in html

    body = json.dumps({"type": "webhook.test", "data": {"endpoint_id": "e1"}}).encode()
    now = int(time.time())
    headers = {
        "webhook-id": "m",
        "webhook-timestamp": str(now),
        "webhook-signature": sign_webhook(WEBHOOK_SECRET, "m", now, body),
    }
    seen: list[str] = []
    with webhook_received.connected_to(lambda sender, **kw: seen.append(kw["event"]["type"])):
        assert app.test_client().post("/shop/tryon-proxy/webhooks", data=body, headers=headers).status_code == 204
    assert seen == ["webhook.test"]


def test_init_app_refuses_a_missing_or_publishable_key() -> None:
    with pytest.raises(RuntimeError, match="TRAILROOM_API_KEY"):
        TrailRoom().init_app(Flask("no-key"))
    app = Flask("publishable")
    app.config["TRAILROOM_API_KEY"] = "tr_pk_browser_key"
    with pytest.raises(RuntimeError, match="secret key"):
        TrailRoom(app)


def test_without_a_webhook_secret_the_webhook_route_sends_nothing() -> None:
    app = Flask("no-webhooks")
    app.config["TRAILROOM_API_KEY"] = "tr_sk_x"
    TrailRoom(app)
    body = json.dumps({"type": "tryon.completed", "data": {}}).encode()
    now = int(time.time())
    headers = {
        "webhook-id": "m",
        "webhook-timestamp": str(now),
        "webhook-signature": sign_webhook(WEBHOOK_SECRET, "m", now, body),
    }
    seen: list[object] = []
    with webhook_received.connected_to(lambda sender, **kw: seen.append(kw)):
        assert app.test_client().post("/trailroom/webhooks", data=body, headers=headers).status_code == 404
    assert seen == []
