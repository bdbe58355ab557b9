"""Webhooks page without JavaScript: create (secret shown once), a signed test send that lands in the
receiver and in the delivery log, disable and enable, rotate, delete; bad URLs and events refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from tests.web.conftest import FormBrowser
from tests.web.page_forms import post_page_form
from tests.webhooks.conftest import Receiver, receiver  # noqa: F401 - fixture
from trailroom.domain.webhooks.models import WebhookDelivery, WebhookEndpoint

SECRET = re.compile(r"<code id=\"new-webhook-secret\" data-secret-value>(whsec_[A-Za-z0-9+/=]+)</code>")


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body.decode()}".encode()
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return expected in headers["webhook-signature"].split(" ")


async def create(browser: FormBrowser, url: str, events: list[str]) -> str:
    data = [("url", url), ("description", "Shop"), *[("events", e) for e in events]]
    response = await post_page_form(browser, "/app/webhooks", "/app/webhooks", data)
    assert response.status_code == 201, response.text
    return response.text


async def test_create_test_send_toggle_rotate_and_delete(signed_in: FormBrowser, receiver: Receiver) -> None:  # noqa: F811
    page = await create(signed_in, receiver.url("shop"), ["tryon.completed", "tryon.failed"])
    match = SECRET.search(page)
    assert match is not None
    secret = match.group(1)
    endpoint = await WebhookEndpoint.find_one(WebhookEndpoint.url == receiver.url("shop"))
    assert endpoint is not None
    assert endpoint.secret == secret
    assert endpoint.events == ["tryon.completed", "tryon.failed"]
    # The secret is shown once: the list page afterwards does not carry it.
    listing = await signed_in.get("/app/webhooks")
    assert secret not in listing.text
    assert receiver.url("shop") in listing.text

    sent = await post_page_form(signed_in, "/app/webhooks", f"/app/webhooks/{endpoint.id}/test", {})
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/app/webhooks/{endpoint.id}"
    [received] = receiver.received
    assert verify(secret, received.headers, received.body)
    log = await signed_in.get(sent.headers["location"])
    assert "Test event delivered: HTTP 200" in log.text
    assert "webhook.test" in log.text
    assert 'badge badge-success">HTTP 200' in log.text

    # Disable and enable again (from the detail page, which it returns to).
    off = await post_page_form(
        signed_in,
        f"/app/webhooks/{endpoint.id}",
        f"/app/webhooks/{endpoint.id}/enabled",
        {"enabled": "false", "back": "detail"},
    )
    assert off.headers["location"] == f"/app/webhooks/{endpoint.id}"
    refreshed = await WebhookEndpoint.get(endpoint.id)
    assert refreshed is not None
    assert refreshed.enabled is False
    assert ">Enable</button>" in (await signed_in.get("/app/webhooks")).text
    await post_page_form(signed_in, "/app/webhooks", f"/app/webhooks/{endpoint.id}/enabled", {"enabled": "true"})
    refreshed = await WebhookEndpoint.get(endpoint.id)
    assert refreshed is not None
    assert refreshed.enabled is True

    asked = await post_page_form(signed_in, "/app/webhooks", f"/app/webhooks/{endpoint.id}/rotate", {})
    assert "Rotate the secret?" in asked.text
    unchanged = await WebhookEndpoint.get(endpoint.id)
    assert unchanged is not None
    assert unchanged.secret == secret
    rotated = await post_page_form(
        signed_in, "/app/webhooks", f"/app/webhooks/{endpoint.id}/rotate", {"confirm": "yes"}
    )
    assert rotated.status_code == 200
    new = SECRET.search(rotated.text)
    assert new is not None
    assert new.group(1) != secret
    refreshed = await WebhookEndpoint.get(endpoint.id)
    assert refreshed is not None
    assert refreshed.secret == new.group(1)

    gone = await post_page_form(signed_in, "/app/webhooks", f"/app/webhooks/{endpoint.id}/delete", {"confirm": "yes"})
    assert gone.status_code == 303
    assert await WebhookEndpoint.get(endpoint.id) is None
    assert await WebhookDelivery.find(WebhookDelivery.endpoint_id == endpoint.id).count() == 0
    assert "No endpoints yet" in (await signed_in.get("/app/webhooks")).text


async def test_bad_urls_and_events_are_refused_with_the_form_kept(signed_in: FormBrowser) -> None:
    token = await signed_in.csrf("/app/webhooks")
    no_events = await signed_in.http.post(
        "/app/webhooks", data={"csrf_token": token, "url": "https://shop.example/hook", "description": "Mine"}
    )
    assert no_events.status_code == 422
    assert "events must be a non-empty list" in no_events.text
    assert 'value="https://shop.example/hook"' in no_events.text
    bad_url = await signed_in.http.post(
        "/app/webhooks",
        data={"csrf_token": token, "url": "ftp://shop.example/hook", "events": "tryon.completed"},
    )
    assert bad_url.status_code == 422
    assert "url must be an https:// URL" in bad_url.text
    forged = await signed_in.http.post(
        "/app/webhooks", data={"url": "https://shop.example/hook", "events": "tryon.completed"}
    )
    assert forged.status_code == 403
    assert await WebhookEndpoint.count() == 0


async def test_a_failing_receiver_is_shown_in_the_log(signed_in: FormBrowser, receiver: Receiver) -> None:  # noqa: F811
    await create(signed_in, receiver.url("down"), ["tryon.completed"])
    endpoint = await WebhookEndpoint.find_one(WebhookEndpoint.url == receiver.url("down"))
    assert endpoint is not None
    receiver.status = 500
    receiver.answer = "boom"
    sent = await post_page_form(signed_in, "/app/webhooks", f"/app/webhooks/{endpoint.id}/test", {})
    log = await signed_in.get(sent.headers["location"])
    assert "Test event not delivered: HTTP 500" in log.text
    assert 'badge badge-danger">HTTP 500' in log.text
    assert "boom" in log.text
