"""Saleor webhooks signed as Saleor signs them (RS256 JWS, detached body) and verified against the
fake shop's JWKS served over loopback HTTP."""

from __future__ import annotations

import json

from flask import Flask
from werkzeug.test import TestResponse

from tests.plugin_saleor.conftest import SaleorAppFactory, in_thread, product_event, register, webhook_headers
from tests.plugin_saleor.fake_saleor import FakeSaleor, new_key
from trailroom_saleor import GARMENT_IMAGE_KEY, MODE_KEY, app_state

GARMENT = "https://cdn.example.com/shirt.png"
PRODUCT_ID = "UHJvZHVjdDo3Mg=="


async def deliver(app: Flask, saleor: FakeSaleor, event: str, body: bytes, signature: str | None) -> TestResponse:
    return await in_thread(
        app.test_client().post, "/api/webhooks/saleor", data=body, headers=webhook_headers(saleor, event, signature)
    )


def stored(app: Flask, saleor: FakeSaleor, product_id: str = PRODUCT_ID) -> tuple[str, str] | None:
    row = app_state(app).products.get(saleor.api_url, product_id)
    return None if row is None else (row.garment_image, row.mode)


def assert_refused(response: TestResponse, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    assert response.get_json()["code"] == code


async def test_a_signed_product_update_stores_the_garment_and_the_storefront_renders_it(
    registered_app: Flask, fake_saleor: FakeSaleor
) -> None:
    product = fake_saleor.add_product(PRODUCT_ID, {GARMENT_IMAGE_KEY: GARMENT, MODE_KEY: "dress", "color": "red"})
    body = product_event("ProductUpdated", product)
    response = await deliver(registered_app, fake_saleor, "PRODUCT_UPDATED", body, fake_saleor.sign(body))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"event": "PRODUCT_UPDATED", "applied": True}
    assert stored(registered_app, fake_saleor) == (GARMENT, "dress")

    widget = registered_app.test_client().get(f"/storefront/products/{PRODUCT_ID}/widget")
    assert widget.status_code == 200
    html = widget.get_data(as_text=True)
    assert f'garment-image="{GARMENT}"' in html
    assert 'mode="dress"' in html
    assert 'endpoint="/trailroom/tryon"' in html
    assert "/widget/v1/trailroom.js" in html
    assert "tr_sk_" not in html

    # The metadata keys removed: the product no longer offers a try-on.
    fake_saleor.products[PRODUCT_ID]["metadata"] = {"color": "red"}
    fake_saleor.products[PRODUCT_ID]["updatedAt"] = fake_saleor.tick()
    body = product_event("ProductMetadataUpdated", fake_saleor.product_json(PRODUCT_ID))
    response = await deliver(registered_app, fake_saleor, "PRODUCT_METADATA_UPDATED", body, fake_saleor.sign(body))
    assert response.status_code == 200
    assert stored(registered_app, fake_saleor) is None
    gone = registered_app.test_client().get(f"/storefront/products/{PRODUCT_ID}/widget")
    assert gone.status_code == 404
    assert gone.get_json()["code"] == "no_tryon"


async def test_created_and_deleted_products_are_followed(registered_app: Flask, fake_saleor: FakeSaleor) -> None:
    product = fake_saleor.add_product(PRODUCT_ID, {GARMENT_IMAGE_KEY: GARMENT})
    body = product_event("ProductCreated", product)
    assert (
        await deliver(registered_app, fake_saleor, "PRODUCT_CREATED", body, fake_saleor.sign(body))
    ).status_code == 200
    assert stored(registered_app, fake_saleor) == (GARMENT, "top")  # no mode key: the widget's default

    body = product_event("ProductDeleted", product)
    response = await deliver(registered_app, fake_saleor, "PRODUCT_DELETED", body, fake_saleor.sign(body))
    assert response.status_code == 200
    assert stored(registered_app, fake_saleor) is None


async def test_a_delayed_or_replayed_older_delivery_does_not_undo_a_newer_one(
    registered_app: Flask, fake_saleor: FakeSaleor
) -> None:
    older = fake_saleor.add_product(PRODUCT_ID, {GARMENT_IMAGE_KEY: "https://cdn.example.com/old.png"})
    newer = fake_saleor.add_product(PRODUCT_ID, {GARMENT_IMAGE_KEY: GARMENT, MODE_KEY: "bottom"})
    newer_body, older_body = product_event("ProductUpdated", newer), product_event("ProductUpdated", older)
    assert (
        await deliver(registered_app, fake_saleor, "PRODUCT_UPDATED", newer_body, fake_saleor.sign(newer_body))
    ).status_code == 200
    replay = await deliver(registered_app, fake_saleor, "PRODUCT_UPDATED", older_body, fake_saleor.sign(older_body))
    assert replay.status_code == 200  # acknowledged, so Saleor does not retry it
    assert replay.get_json()["applied"] is False
    assert stored(registered_app, fake_saleor) == (GARMENT, "bottom")


async def test_forged_tampered_and_unsigned_deliveries_are_refused(
    registered_app: Flask, fake_saleor: FakeSaleor
) -> None:
    product = fake_saleor.add_product(PRODUCT_ID, {GARMENT_IMAGE_KEY: GARMENT})
    body = product_event("ProductUpdated", product)

    forged = fake_saleor.sign(body, key=new_key())  # the shop's kid, someone else's key
    assert_refused(
        await deliver(registered_app, fake_saleor, "PRODUCT_UPDATED", body, forged), 401, "invalid_signature"
    )

    tampered = json.loads(body)
    tampered["product"]["metadata"] = [{"key": GARMENT_IMAGE_KEY, "value": "https://evil.example.net/x.png"}]
    signature = fake_saleor.sign(body)
    tampered_body = json.dumps(tampered).encode()
    response = await deliver(registered_app, fake_saleor, "PRODUCT_UPDATED", tampered_body, signature)
    assert_refused(response, 401, "invalid_signature")

    assert_refused(await deliver(registered_app, fake_saleor, "PRODUCT_UPDATED", body, None), 401, "invalid_signature")
    response = await deliver(registered_app, fake_saleor, "PRODUCT_UPDATED", body, "not.a-jws")
    assert_refused(response, 401, "invalid_signature")
    assert stored(registered_app, fake_saleor) is None


async def test_an_unknown_kid_refetches_the_jwks_once_and_a_rotated_key_is_accepted(
    registered_app: Flask, fake_saleor: FakeSaleor
) -> None:
    product = fake_saleor.add_product(PRODUCT_ID, {GARMENT_IMAGE_KEY: GARMENT})
    body = product_event("ProductUpdated", product)
    assert fake_saleor.jwks_requests == 1  # at registration

    # Saleor rotated its key: the cached JWKS lacks the new kid, one refetch finds it.
    fake_saleor.key, fake_saleor.kid = new_key(), "saleor-key-2"
    response = await deliver(registered_app, fake_saleor, "PRODUCT_UPDATED", body, fake_saleor.sign(body))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert fake_saleor.jwks_requests == 2
    auth = app_state(registered_app).apl.get(fake_saleor.api_url)
    assert auth is not None
    assert json.loads(auth.jwks)["keys"][0]["kid"] == "saleor-key-2"  # the APL keeps the new set

    # A kid the shop never published is refused; so soon after a refetch, without fetching again
    # (made-up kids cannot make the app hammer the shop).
    response = await deliver(
        registered_app, fake_saleor, "PRODUCT_UPDATED", body, fake_saleor.sign(body, new_key(), "made-up")
    )
    assert_refused(response, 401, "invalid_signature")
    assert fake_saleor.jwks_requests == 2


async def test_each_unknown_kid_is_looked_up_once_in_a_fresh_jwks(
    make_saleor_app: SaleorAppFactory, fake_saleor: FakeSaleor
) -> None:
    app = make_saleor_app(SALEOR_JWKS_MIN_REFRESH_SECONDS=0)
    assert (await register(app.test_client(), fake_saleor)).status_code == 200
    product = fake_saleor.add_product(PRODUCT_ID, {GARMENT_IMAGE_KEY: GARMENT})
    body = product_event("ProductUpdated", product)
    stranger = new_key()
    for attempt, kid in enumerate(("made-up-1", "made-up-2"), start=2):
        response = await deliver(app, fake_saleor, "PRODUCT_UPDATED", body, fake_saleor.sign(body, stranger, kid))
        assert_refused(response, 401, "invalid_signature")
        assert fake_saleor.jwks_requests == attempt  # one refetch per miss, not more
    assert stored(app, fake_saleor) is None


async def test_deliveries_for_a_shop_that_did_not_install_the_app_are_refused(
    saleor_app: Flask, fake_saleor: FakeSaleor
) -> None:
    product = fake_saleor.add_product(PRODUCT_ID, {GARMENT_IMAGE_KEY: GARMENT})
    body = product_event("ProductUpdated", product)
    response = await deliver(saleor_app, fake_saleor, "PRODUCT_UPDATED", body, fake_saleor.sign(body))
    assert_refused(response, 401, "not_registered")
    assert fake_saleor.jwks_requests == 0
    assert stored(saleor_app, fake_saleor) is None


async def test_an_event_header_that_disagrees_with_the_signed_body_is_refused(
    registered_app: Flask, fake_saleor: FakeSaleor
) -> None:
    product = fake_saleor.add_product(PRODUCT_ID, {GARMENT_IMAGE_KEY: GARMENT})
    body = product_event("ProductUpdated", product)
    assert (
        await deliver(registered_app, fake_saleor, "PRODUCT_UPDATED", body, fake_saleor.sign(body))
    ).status_code == 200
    # A genuine update replayed as a deletion: the header is not signed, the typename is.
    response = await deliver(registered_app, fake_saleor, "PRODUCT_DELETED", body, fake_saleor.sign(body))
    assert_refused(response, 400, "event_mismatch")
    assert stored(registered_app, fake_saleor) == (GARMENT, "top")

    headers = {
        **webhook_headers(fake_saleor, "PRODUCT_UPDATED", fake_saleor.sign(body)),
        "saleor-domain": "evil.example.net",
    }
    response = await in_thread(registered_app.test_client().post, "/api/webhooks/saleor", data=body, headers=headers)
    assert_refused(response, 400, "domain_mismatch")


async def test_app_deleted_forgets_the_installation(registered_app: Flask, fake_saleor: FakeSaleor) -> None:
    product = fake_saleor.add_product(PRODUCT_ID, {GARMENT_IMAGE_KEY: GARMENT})
    body = product_event("ProductUpdated", product)
    await deliver(registered_app, fake_saleor, "PRODUCT_UPDATED", body, fake_saleor.sign(body))

    body = json.dumps({"__typename": "AppDeleted", "app": {"id": fake_saleor.app_id}}).encode()
    response = await deliver(registered_app, fake_saleor, "APP_DELETED", body, fake_saleor.sign(body))
    assert response.status_code == 200
    assert response.get_json()["applied"] is True
    assert app_state(registered_app).apl.get(fake_saleor.api_url) is None
    assert stored(registered_app, fake_saleor) is None
    # Once uninstalled, the shop's deliveries are refused.
    again = await deliver(registered_app, fake_saleor, "APP_DELETED", body, fake_saleor.sign(body))
    assert_refused(again, 401, "not_registered")


async def test_an_oversize_body_is_refused_before_it_is_verified(
    registered_app: Flask, fake_saleor: FakeSaleor
) -> None:
    product = fake_saleor.add_product(PRODUCT_ID, {GARMENT_IMAGE_KEY: GARMENT, "padding": "x" * (1024 * 1024)})
    body = product_event("ProductUpdated", product)
    response = await deliver(registered_app, fake_saleor, "PRODUCT_UPDATED", body, fake_saleor.sign(body))
    assert_refused(response, 413, "payload_too_large")
    assert stored(registered_app, fake_saleor) is None


async def test_events_the_app_cannot_act_on_are_acknowledged_without_changes(
    registered_app: Flask, fake_saleor: FakeSaleor
) -> None:
    # Saleor leaves `product` null when the app may not see it: acknowledged so it is not retried.
    body = json.dumps({"__typename": "ProductUpdated", "product": None}).encode()
    response = await deliver(registered_app, fake_saleor, "PRODUCT_UPDATED", body, fake_saleor.sign(body))
    assert response.status_code == 200
    assert response.get_json() == {"event": "PRODUCT_UPDATED", "applied": False}

    # An APP_DELETED about another app does not uninstall this one.
    body = json.dumps({"__typename": "AppDeleted", "app": {"id": "QXBwOjk5"}}).encode()
    response = await deliver(registered_app, fake_saleor, "APP_DELETED", body, fake_saleor.sign(body))
    assert response.status_code == 200
    assert response.get_json()["applied"] is False
    assert app_state(registered_app).apl.get(fake_saleor.api_url) is not None
