"""The Django app against the real TrailRoom app over loopback: the CSRF-protected upload proxy
(size and session limits, per-session status), verified webhooks sending signals, the widget tag
and the settings checks."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.dispatch import Signal
from django.http import HttpResponse
from django.template import engines
from django.test import Client, RequestFactory, override_settings
from standardwebhooks import Webhook as StandardWebhook

from tests.plugin_django.conftest import WEBHOOK_SECRET, Merchant, in_thread
from tests.plugin_django.helpers import ALL_SIGNALS, PROXY, Recorder, shopper, upload
from tests.tryon.conftest import fund
from trailroom.domain.services import Services
from trailroom_client import AsyncTrailRoom
from trailroom_django import signals
from trailroom_django.apps import trailroom_app
from trailroom_django.conf import load_settings


async def job_ids(base_url: str, merchant: Merchant) -> list[str]:
    async with AsyncTrailRoom(api_key=merchant.secret_key, base_url=base_url) as trailroom:
        return [job.id for job in (await trailroom.list_tryons()).data]


async def test_an_upload_creates_the_job_in_trailroom_and_never_shows_the_key(
    base_url: str, merchant: Merchant, trailroom_settings: dict[str, Any], person_png: bytes, garment_png: bytes
) -> None:
    def scenario() -> tuple[HttpResponse, HttpResponse]:
        with override_settings(TRAILROOM=trailroom_settings):
            browser, token = shopper()
            created = upload(browser, token, person_png, garment_png, mode="top")
            status = browser.get(f"{PROXY}{created.json()['id']}/")
            return created, status

    created, status = await in_thread(scenario)
    assert created.status_code == 202, created.content
    body = created.json()
    assert body["status"] == "queued"
    assert body["mode"] == "top"
    assert body["links"]["status"] == f"{PROXY}{body['id']}/"
    for response in (created, status):
        assert merchant.secret_key.encode() not in response.content
        assert b"tr_sk_" not in response.content
        assert b"whsec_" not in response.content
    async with AsyncTrailRoom(api_key=merchant.secret_key, base_url=base_url) as trailroom:
        job = await trailroom.get_tryon(body["id"])  # the job is really in TrailRoom, under the merchant
    assert (job.status, job.mode, job.credits_charged) == ("queued", "top", 1)
    assert status.status_code == 200
    assert status.json()["id"] == job.id
    assert status.json()["status"] == "queued"


async def test_a_garment_url_is_forwarded_and_bad_fields_are_refused_before_the_api(
    base_url: str, merchant: Merchant, trailroom_settings: dict[str, Any], person_png: bytes
) -> None:
    def scenario() -> list[HttpResponse]:
        with override_settings(TRAILROOM=trailroom_settings):
            browser, token = shopper()
            return [
                upload(browser, token, person_png, "ftp://shop.example/shirt.png"),
                upload(browser, token, person_png, "https://shop.example/shirt.png", mode="hat"),
                browser.post(PROXY, {"mode": "top"}, headers={"X-CSRFToken": token}),
            ]

    responses = await in_thread(scenario)
    for response in responses:
        assert response.status_code == 422, response.content
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "validation_error"
    assert await job_ids(base_url, merchant) == []


async def test_an_upload_without_the_csrf_token_is_forbidden(
    base_url: str, merchant: Merchant, trailroom_settings: dict[str, Any], person_png: bytes, garment_png: bytes
) -> None:
    def scenario() -> tuple[int, int]:
        with override_settings(TRAILROOM=trailroom_settings):
            browser, _ = shopper()  # has the CSRF cookie, but does not send the token
            forged = Client(enforce_csrf_checks=True)  # another site's form: no cookie, no token
            return (
                upload(browser, None, person_png, garment_png).status_code,
                upload(forged, None, person_png, garment_png).status_code,
            )

    assert await in_thread(scenario) == (403, 403)
    assert await job_ids(base_url, merchant) == []


async def test_oversize_uploads_are_refused_and_create_nothing(
    base_url: str, merchant: Merchant, trailroom_settings: dict[str, Any], person_png: bytes, garment_png: bytes
) -> None:
    limit = 50_000

    def scenario() -> tuple[HttpResponse, HttpResponse]:
        with override_settings(TRAILROOM={**trailroom_settings, "MAX_UPLOAD_BYTES": limit}):
            browser, token = shopper()
            # Just over the limit: stopped by the upload handler while the body is read.
            streamed = upload(browser, token, person_png + b"\0" * limit, garment_png)
            # Far over it: refused from Content-Length before the body is read.
            declared = upload(browser, token, person_png, garment_png + b"\0" * (3 * limit))
            return streamed, declared

    for response in await in_thread(scenario):
        assert response.status_code == 413, response.content
        assert response["Content-Type"] == "application/problem+json"
        problem = response.json()
        assert (problem["code"], problem["max_bytes"]) == ("image_too_large", limit)
    assert await job_ids(base_url, merchant) == []


async def test_a_session_is_limited_and_another_session_is_not(
    base_url: str,
    merchant: Merchant,
    services: Services,
    trailroom_settings: dict[str, Any],
    person_png: bytes,
    garment_png: bytes,
) -> None:
    await fund(services, merchant.account, 10)

    def scenario() -> list[HttpResponse]:
        with override_settings(TRAILROOM={**trailroom_settings, "SESSION_LIMIT": 2, "SESSION_WINDOW_S": 600}):
            browser, token = shopper()
            first = [upload(browser, token, person_png, garment_png) for _ in range(3)]
            other, other_token = shopper()
            return [*first, upload(other, other_token, person_png, garment_png)]

    one, two, three, other = await in_thread(scenario)
    assert [one.status_code, two.status_code, three.status_code, other.status_code] == [202, 202, 429, 202]
    assert three["Content-Type"] == "application/problem+json"
    assert three.json()["code"] == "rate_limited"
    assert 590 <= int(three["Retry-After"]) <= 600
    created = {one.json()["id"], two.json()["id"], other.json()["id"]}
    assert set(await job_ids(base_url, merchant)) == created


async def test_a_session_sees_only_its_own_jobs(
    base_url: str, merchant: Merchant, trailroom_settings: dict[str, Any], person_png: bytes, garment_png: bytes
) -> None:
    def scenario() -> tuple[str, int, HttpResponse, int]:
        with override_settings(TRAILROOM=trailroom_settings):
            owner, token = shopper()
            job_id = upload(owner, token, person_png, garment_png).json()["id"]
            stranger, _ = shopper()
            return (
                job_id,
                owner.get(f"{PROXY}{job_id}/").status_code,
                stranger.get(f"{PROXY}{job_id}/"),
                owner.get(f"{PROXY}{uuid.uuid4().hex}/").status_code,
            )

    job_id, owner_status, stranger_response, unknown_status = await in_thread(scenario)
    assert job_id in await job_ids(base_url, merchant)
    assert owner_status == 200
    assert stranger_response.status_code == 404
    assert stranger_response.json()["code"] == "not_found"
    assert job_id not in stranger_response.content.decode()
    assert unknown_status == 404


def signed(payload: dict[str, Any], secret: str = WEBHOOK_SECRET) -> tuple[bytes, dict[str, str]]:
    """A delivery signed by the reference Standard Webhooks library (not our own code)."""
    body = json.dumps(payload).encode()
    message_id = f"msg_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    signature = StandardWebhook(secret).sign(message_id, now, body.decode())
    return body, {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


@pytest.mark.parametrize(
    ("event_type", "signal"),
    [
        ("tryon.completed", signals.tryon_completed),
        ("tryon.failed", signals.tryon_failed),
        ("credits.low", signals.credits_low),
        ("payment.completed", signals.payment_completed),
    ],
)
async def test_a_signed_webhook_sends_its_signal_with_the_payload(
    trailroom_settings: dict[str, Any], event_type: str, signal: Signal
) -> None:
    payload = {"type": event_type, "timestamp": "2026-11-25T00:00:00Z", "data": {"tryon_id": "abc123", "n": 1}}
    body, headers = signed(payload)

    def scenario() -> tuple[int, list[tuple[Signal, dict[str, Any]]]]:
        with override_settings(TRAILROOM=trailroom_settings), Recorder(*ALL_SIGNALS) as recorder:
            browser = Client(enforce_csrf_checks=True)  # the webhook is CSRF-exempt
            response = browser.post("/trailroom/webhooks/", body, content_type="application/json", headers=headers)
            return response.status_code, recorder.calls

    status, calls = await in_thread(scenario)
    assert status == 204
    assert [sent for sent, _ in calls] == [signals.webhook_received, signal]
    for _, kwargs in calls:
        assert kwargs["event_type"] == event_type
        assert kwargs["data"] == {"tryon_id": "abc123", "n": 1}
        assert kwargs["event"] == payload
        assert kwargs["webhook_id"] == headers["webhook-id"]


async def test_an_unknown_event_type_sends_only_the_generic_signal(trailroom_settings: dict[str, Any]) -> None:
    body, headers = signed({"type": "webhook.test", "timestamp": "2026-11-25T00:00:00Z", "data": {}})

    def scenario() -> tuple[int, list[Signal]]:
        with override_settings(TRAILROOM=trailroom_settings), Recorder(*ALL_SIGNALS) as recorder:
            response = Client().post("/trailroom/webhooks/", body, content_type="application/json", headers=headers)
            return response.status_code, [sent for sent, _ in recorder.calls]

    assert await in_thread(scenario) == (204, [signals.webhook_received])


async def test_tampered_or_unsigned_webhooks_are_refused_without_signals(trailroom_settings: dict[str, Any]) -> None:
    body, headers = signed({"type": "tryon.completed", "timestamp": "2026-11-25T00:00:00Z", "data": {"tryon_id": "a"}})
    other_secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="
    _, wrong_headers = signed(json.loads(body), secret=other_secret)
    old = {**headers, "webhook-timestamp": str(int(time.time()) - 3600)}
    deliveries = [
        (body.replace(b'"a"', b'"b"'), headers),  # body changed after signing
        (body, wrong_headers),  # signed with another secret
        (body, old),  # replayed an hour later
        (body, {}),  # no signature at all
    ]

    def scenario() -> tuple[list[HttpResponse], list[tuple[Signal, dict[str, Any]]]]:
        with override_settings(TRAILROOM=trailroom_settings), Recorder(*ALL_SIGNALS) as recorder:
            browser = Client()
            responses = [
                browser.post("/trailroom/webhooks/", raw, content_type="application/json", headers=sent)
                for raw, sent in deliveries
            ]
            return responses, recorder.calls

    responses, calls = await in_thread(scenario)
    assert [r.status_code for r in responses] == [400, 400, 400, 400]
    assert all(r.json()["code"] == "invalid_signature" for r in responses)
    assert calls == []


async def test_the_widget_tag_renders_the_script_once_and_the_element_without_keys(
    merchant: Merchant, trailroom_settings: dict[str, Any]
) -> None:
    def scenario() -> tuple[str, str]:
        with override_settings(TRAILROOM=trailroom_settings):
            page = Client().get("/product/").content.decode()
            template = engines["django"].from_string(
                '{% load trailroom %}{% trailroom_widget a mode="dress" %}{% trailroom_widget b mode="bottom" %}'
            )
            request = RequestFactory().get("/")
            twice = template.render({"a": 'x" onmouseover="alert(1)', "b": "<b>"}, request)
            return page, twice

    page, twice = await in_thread(scenario)
    assert page.count('<script src="https://cdn.trailroom.example/widget/v1/trailroom.js" defer></script>') == 1
    element = re.search(r"<trailroom-try-on ([^>]*)></trailroom-try-on>", page)
    assert element is not None
    attributes = dict(re.findall(r'([\w-]+)="([^"]*)"', element.group(1)))
    assert attributes["garment-image"] == "https://shop.example/shirt.jpg"
    assert attributes["mode"] == "top"
    assert attributes["proxy-url"] == PROXY
    assert attributes["label"] == "Try it"
    assert len(attributes["csrf-token"]) >= 32
    assert twice.count("<script") == 1
    assert twice.count("<trailroom-try-on ") == 2
    assert 'garment-image="x&quot; onmouseover=&quot;alert(1)"' in twice
    assert 'garment-image="&lt;b&gt;"' in twice
    assert 'onmouseover="' not in twice
    for html in (page, twice):
        assert merchant.secret_key not in html
        assert "tr_sk_" not in html
        assert "whsec_" not in html


async def test_missing_or_wrong_settings_are_improperly_configured(trailroom_settings: dict[str, Any]) -> None:
    def scenario() -> list[str]:
        messages = []
        for broken in (
            {k: v for k, v in trailroom_settings.items() if k != "API_KEY"},
            {k: v for k, v in trailroom_settings.items() if k != "BASE_URL"},
            {k: v for k, v in trailroom_settings.items() if k != "WEBHOOK_SECRET"},
            {**trailroom_settings, "API_KEY": "tr_pk_publishable"},
            {**trailroom_settings, "MAX_UPLOAD_BYTES": "10MB"},
            {**trailroom_settings, "APIKEY": "typo"},
        ):
            with pytest.raises(ImproperlyConfigured) as caught, override_settings(TRAILROOM=broken):
                pass
            messages.append(str(caught.value))
        with pytest.raises(ImproperlyConfigured) as missing:
            load_settings({})
        messages.append(str(missing.value))
        # A failed override leaves the app on the settings it had.
        assert trailroom_app().settings.api_key == "tr_sk_placeholder"
        return messages

    messages = await in_thread(scenario)
    assert "API_KEY" in messages[0]
    assert "BASE_URL" in messages[1]
    assert "WEBHOOK_SECRET" in messages[2]
    assert "publishable" in messages[3]
    assert "MAX_UPLOAD_BYTES" in messages[4]
    assert "APIKEY" in messages[5]
    assert "API_KEY" in messages[6]


def test_settings_are_read_once_with_defaults() -> None:
    config = load_settings({"API_KEY": "tr_sk_x", "BASE_URL": "http://api.example/", "WEBHOOK_SECRET": WEBHOOK_SECRET})
    assert config.base_url == "http://api.example"
    assert config.public_url == "http://api.example"
    assert (config.max_upload_bytes, config.session_limit, config.session_window_s) == (10 * 1024 * 1024, 10, 3600)
