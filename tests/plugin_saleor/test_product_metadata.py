"""Attaching a try-on garment to a product from the app's dashboard page: the dashboard user's token
is checked, and the metadata is written in the fake Saleor with the app token."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.test import TestResponse

from tests.plugin_saleor.conftest import APP_TOKEN, in_thread
from tests.plugin_saleor.fake_saleor import FakeSaleor, new_key
from trailroom_saleor import GARMENT_IMAGE_KEY, MODE_KEY, app_state

PRODUCT_ID = "UHJvZHVjdDoxMDE="
GARMENT = "https://cdn.example.com/linen-dress.png"


async def call(
    app: Flask, saleor: FakeSaleor, method: str, token: str | None, json: Any = None, product_id: str = PRODUCT_ID
) -> TestResponse:
    headers = {"saleor-api-url": saleor.api_url}
    if token is not None:
        headers["authorization-bearer"] = token
    client = app.test_client()
    return await in_thread(client.open, f"/api/products/{product_id}/tryon", method=method, json=json, headers=headers)


async def test_setting_a_garment_writes_product_metadata_with_the_app_token(
    registered_app: Flask, fake_saleor: FakeSaleor
) -> None:
    fake_saleor.add_product(PRODUCT_ID, {"season": "summer"})
    user_token = fake_saleor.dashboard_token()
    response = await call(registered_app, fake_saleor, "PUT", user_token, {"garment_image": GARMENT, "mode": "dress"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"product_id": PRODUCT_ID, "garment_image": GARMENT, "mode": "dress"}

    [mutation] = fake_saleor.calls("TrailRoomSetGarment")
    assert mutation["token"] == APP_TOKEN  # the app's token, never the staff user's
    assert mutation["variables"] == {
        "id": PRODUCT_ID,
        "input": [{"key": GARMENT_IMAGE_KEY, "value": GARMENT}, {"key": MODE_KEY, "value": "dress"}],
    }
    assert fake_saleor.products[PRODUCT_ID]["metadata"] == {
        "season": "summer",
        GARMENT_IMAGE_KEY: GARMENT,
        MODE_KEY: "dress",
    }
    # The storefront sees it at once, before Saleor's webhook arrives.
    widget = registered_app.test_client().get(f"/storefront/products/{PRODUCT_ID}/widget")
    assert widget.status_code == 200
    assert f'garment-image="{GARMENT}"' in widget.get_data(as_text=True)

    read = await call(registered_app, fake_saleor, "GET", user_token)
    assert read.status_code == 200
    assert read.get_json()["garment_image"] == GARMENT
    assert fake_saleor.calls("TrailRoomProduct")[0]["token"] == APP_TOKEN

    removed = await call(registered_app, fake_saleor, "DELETE", user_token)
    assert removed.status_code == 200
    assert removed.get_json() == {"product_id": PRODUCT_ID, "garment_image": None, "mode": None}
    [deletion] = fake_saleor.calls("TrailRoomClearGarment")
    assert deletion["variables"] == {"id": PRODUCT_ID, "keys": [GARMENT_IMAGE_KEY, MODE_KEY]}
    assert fake_saleor.products[PRODUCT_ID]["metadata"] == {"season": "summer"}
    assert app_state(registered_app).products.get(fake_saleor.api_url, PRODUCT_ID) is None


async def test_only_a_dashboard_user_of_this_app_with_manage_products_may_set_it(
    registered_app: Flask, fake_saleor: FakeSaleor
) -> None:
    fake_saleor.add_product(PRODUCT_ID)
    body = {"garment_image": GARMENT, "mode": "top"}
    cases = [
        (None, 401, "missing_dashboard_token"),
        ("not-a-jwt", 401, "invalid_dashboard_token"),
        (fake_saleor.dashboard_token(key=new_key()), 401, "invalid_dashboard_token"),  # not signed by the shop
        (fake_saleor.dashboard_token(app="QXBwOjk5"), 401, "invalid_dashboard_token"),  # for another app
        (fake_saleor.dashboard_token(expires_in=-60), 401, "invalid_dashboard_token"),
        (fake_saleor.dashboard_token(permissions=["MANAGE_ORDERS"]), 403, "missing_permissions"),
    ]
    for token, status, code in cases:
        response = await call(registered_app, fake_saleor, "PUT", token, body)
        assert response.status_code == status, (code, response.get_data(as_text=True))
        assert response.content_type == "application/problem+json"
        assert response.get_json()["code"] == code
    assert fake_saleor.calls("TrailRoomSetGarment") == []
    assert fake_saleor.products[PRODUCT_ID]["metadata"] == {}


async def test_bad_settings_and_unknown_products_are_problems(registered_app: Flask, fake_saleor: FakeSaleor) -> None:
    fake_saleor.add_product(PRODUCT_ID)
    token = fake_saleor.dashboard_token()
    for body, code in [
        ({"garment_image": "javascript:alert(1)", "mode": "top"}, "invalid_garment_image"),
        ({"garment_image": "", "mode": "top"}, "garment_image_missing"),
        ({"garment_image": GARMENT, "mode": "hat"}, "invalid_mode"),
    ]:
        response = await call(registered_app, fake_saleor, "PUT", token, body)
        assert response.status_code == 422
        assert response.get_json()["code"] == code
    assert fake_saleor.calls("TrailRoomSetGarment") == []

    missing = await call(registered_app, fake_saleor, "PUT", token, {"garment_image": GARMENT}, product_id="nope")
    assert missing.status_code == 404
    assert missing.get_json()["code"] == "product_not_found"
    assert fake_saleor.products[PRODUCT_ID]["metadata"] == {}


async def test_a_shop_that_did_not_install_the_app_cannot_use_the_dashboard_api(
    saleor_app: Flask, fake_saleor: FakeSaleor
) -> None:
    fake_saleor.add_product(PRODUCT_ID)
    response = await call(saleor_app, fake_saleor, "PUT", fake_saleor.dashboard_token(), {"garment_image": GARMENT})
    assert response.status_code == 401
    assert response.get_json()["code"] == "not_registered"
    assert fake_saleor.graphql_calls == []
