"""The Saleor app's manifest and its install handshake against a fake Saleor over loopback HTTP."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest
from flask import Flask

from tests.plugin_saleor.conftest import APP_TOKEN, APP_URL, SaleorAppFactory, in_thread, register
from tests.plugin_saleor.fake_saleor import FakeSaleor
from trailroom.embedded.process import free_port
from trailroom_saleor import app_state, create_app


def test_the_manifest_describes_the_app_as_saleor_expects(saleor_app: Flask) -> None:
    response = saleor_app.test_client().get("/api/manifest")
    assert response.status_code == 200
    manifest = response.get_json()
    assert manifest["id"] == "trailroom.tryon"
    assert manifest["version"] == "0.1.0"
    assert manifest["name"]
    assert manifest["about"]
    assert manifest["permissions"] == ["MANAGE_PRODUCTS"]
    assert manifest["appUrl"] == f"{APP_URL}/app"
    assert manifest["tokenTargetUrl"] == f"{APP_URL}/api/register"

    by_name = {webhook["name"]: webhook for webhook in manifest["webhooks"]}
    products = by_name["TrailRoom product try-on settings"]
    assert set(products["asyncEvents"]) >= {"PRODUCT_CREATED", "PRODUCT_UPDATED", "PRODUCT_DELETED"}
    assert "syncEvents" not in products
    assert products["query"].startswith("subscription ")
    for typename in ("ProductCreated", "ProductUpdated", "ProductDeleted", "ProductMetadataUpdated"):
        assert f"... on {typename} " in products["query"]
    assert "__typename" in products["query"]
    assert "metadata { key value }" in products["query"]
    assert by_name["TrailRoom app uninstalled"]["asyncEvents"] == ["APP_DELETED"]
    [extension] = manifest["extensions"]
    assert extension["mount"] == "PRODUCT_DETAILS_MORE_ACTIONS"
    assert extension["permissions"] == ["MANAGE_PRODUCTS"]

    # Every URL the manifest gives Saleor is a route of this app.
    client = saleor_app.test_client()
    for webhook in manifest["webhooks"]:
        path = webhook["targetUrl"].removeprefix(APP_URL)
        answer = client.post(path, data=b"{}", headers={"content-type": "application/json"})
        assert answer.status_code == 400
        assert answer.content_type == "application/problem+json"
    assert client.get(manifest["appUrl"].removeprefix(APP_URL)).status_code == 200


async def test_registration_checks_the_token_with_the_shop_and_stores_it_owner_only(
    saleor_app: Flask, fake_saleor: FakeSaleor, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await register(saleor_app.test_client(), fake_saleor)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"success": True}

    [call] = fake_saleor.calls("TrailRoomAppId")
    assert call["token"] == APP_TOKEN
    auth = app_state(saleor_app).apl.get(fake_saleor.api_url)
    assert auth is not None
    assert auth.app_id == fake_saleor.app_id
    assert auth.token == APP_TOKEN
    assert auth.domain == fake_saleor.domain
    assert json.loads(auth.jwks)["keys"][0]["kid"] == fake_saleor.kid
    assert fake_saleor.jwks_requests == 1

    apl_file = tmp_path / "saleor-app.sqlite3"
    assert stat.S_IMODE(apl_file.stat().st_mode) == 0o600
    assert APP_TOKEN not in caplog.text
    assert APP_TOKEN not in repr(auth)
    assert APP_TOKEN not in response.get_data(as_text=True)


async def test_registration_from_a_shop_not_allowed_is_refused_without_calling_it(
    saleor_app: Flask, fake_saleor: FakeSaleor
) -> None:
    other = "https://evil.example.net/graphql/"
    response = await register(saleor_app.test_client(), fake_saleor, api_url=other)
    assert response.status_code == 403
    assert response.content_type == "application/problem+json"
    assert response.get_json()["code"] == "saleor_url_prohibited"
    assert fake_saleor.graphql_calls == []
    assert app_state(saleor_app).apl.all() == []


async def test_registration_with_a_token_the_shop_rejects_stores_nothing(
    saleor_app: Flask, fake_saleor: FakeSaleor
) -> None:
    response = await register(saleor_app.test_client(), fake_saleor, token="not-a-token-of-this-shop")
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.get_json()["code"] == "unknown_app_id"
    assert len(fake_saleor.calls("TrailRoomAppId")) == 1
    assert app_state(saleor_app).apl.all() == []


async def test_malformed_registrations_are_problems(saleor_app: Flask, fake_saleor: FakeSaleor) -> None:
    client = saleor_app.test_client()
    no_header = await in_thread(client.post, "/api/register", json={"auth_token": APP_TOKEN})
    assert no_header.status_code == 400
    assert no_header.get_json()["code"] == "missing_saleor_api_url"
    no_token = await in_thread(
        client.post, "/api/register", data=b"not json", headers={"saleor-api-url": fake_saleor.api_url}
    )
    assert no_token.status_code == 400
    assert no_token.content_type == "application/problem+json"
    assert no_token.get_json()["code"] == "missing_auth_token"
    assert fake_saleor.graphql_calls == []
    assert app_state(saleor_app).apl.all() == []


async def test_an_allowed_shop_that_cannot_be_reached_is_a_502(make_saleor_app: SaleorAppFactory) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}/graphql/"
    app = make_saleor_app(SALEOR_ALLOWED_API_URLS=unreachable)  # a comma-separated string works too
    response = await in_thread(
        app.test_client().post, "/api/register", json={"auth_token": APP_TOKEN}, headers={"saleor-api-url": unreachable}
    )
    assert response.status_code == 502
    assert response.get_json()["code"] == "saleor_unavailable"
    assert app_state(app).apl.all() == []


def test_the_app_refuses_to_start_without_its_settings(make_saleor_app: SaleorAppFactory) -> None:
    with pytest.raises(RuntimeError, match="SALEOR_APP_URL"):
        make_saleor_app(SALEOR_APP_URL="not a url")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        make_saleor_app(SECRET_KEY="")
    with pytest.raises(RuntimeError, match="secret key"):
        make_saleor_app(api_key="tr_pk_publishable")


def test_settings_come_from_the_environment_under_the_given_mapping(
    tmp_path: Path, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("TRAILROOM_API_KEY", "tr_sk_from_env")
    monkeypatch.setenv("TRAILROOM_BASE_URL", base_url)
    monkeypatch.setenv("SALEOR_APP_URL", "https://env-app.example.com/")
    monkeypatch.setenv("SALEOR_ALLOWED_API_URLS", "https://a.example.com/graphql/, https://b.example.com/graphql")
    monkeypatch.setenv("SALEOR_APL_PATH", str(tmp_path / "env.sqlite3"))
    app = create_app({"SALEOR_APP_ID": "shop.tryon"})
    config = app_state(app).config
    assert config.app_url == "https://env-app.example.com"
    assert config.allows("https://b.example.com/graphql/")
    assert config.allows("https://a.example.com/graphql")
    assert not config.allows("https://c.example.com/graphql/")
    manifest = app.test_client().get("/api/manifest").get_json()
    assert manifest["id"] == "shop.tryon"
    assert manifest["tokenTargetUrl"] == "https://env-app.example.com/api/register"
    assert (tmp_path / "env.sqlite3").exists()
