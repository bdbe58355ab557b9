"""Fixtures for the Saleor app: a fake Saleor over loopback HTTP, and the app built by
`create_app` whose storefront proxy forwards to the real TrailRoom app with a funded merchant's key.

Flask's test client is synchronous and the fake Saleor and TrailRoom are served in the test's event
loop: calls that reach either go through `in_thread` so the loop keeps answering them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import serve
from tests.helpers import new_key, signed_up
from tests.plugin_flask.conftest import PUBLIC_URL, WEBHOOK_SECRET, Shop
from tests.plugin_saleor.fake_saleor import FakeSaleor
from tests.tryon.conftest import fund, garment_png, person_png, scripted, use_scripted  # noqa: F401
from trailroom.domain.services import Services
from trailroom.embedded.process import free_port
from trailroom_saleor import create_app

APP_URL = "https://tryon-app.example.com"
APP_TOKEN = "saleor-app-token-0123456789"


async def in_thread(call: Callable[..., TestResponse], *args: Any, **kwargs: Any) -> TestResponse:
    return await asyncio.to_thread(partial(call, *args, **kwargs))


@pytest.fixture(scope="session")
async def fake_saleor_server() -> AsyncIterator[FakeSaleor]:
    port = free_port()
    saleor = FakeSaleor(base_url=f"http://127.0.0.1:{port}")
    async with serve(saleor.app(), "127.0.0.1", port):
        yield saleor


@pytest.fixture
def fake_saleor(fake_saleor_server: FakeSaleor) -> FakeSaleor:
    fake_saleor_server.reset()
    fake_saleor_server.tokens.add(APP_TOKEN)
    return fake_saleor_server


@pytest.fixture
async def shop(client: httpx.AsyncClient, services: Services) -> Shop:
    account = await signed_up(client, "saleor-shop@example.com")
    key = await new_key(client, account)
    await fund(services, account, 20)
    return Shop(account=account, secret_key=key["key"])


SaleorAppFactory = Callable[..., Flask]


@pytest.fixture
def make_saleor_app(tmp_path: Path, base_url: str, fake_saleor: FakeSaleor) -> SaleorAppFactory:
    """The Saleor app; keyword arguments override config keys (`api_key=` → `TRAILROOM_API_KEY`)."""

    def make(api_key: str = "tr_sk_not_used_by_this_test", **overrides: Any) -> Flask:
        config: dict[str, Any] = {
            "SECRET_KEY": "saleor-app-session-key",
            "TRAILROOM_API_KEY": api_key,
            "TRAILROOM_BASE_URL": base_url,
            "TRAILROOM_PUBLIC_URL": PUBLIC_URL,
            "TRAILROOM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SALEOR_APP_URL": APP_URL,
            "SALEOR_ALLOWED_API_URLS": [fake_saleor.api_url],
            "SALEOR_APL_PATH": str(tmp_path / "saleor-app.sqlite3"),
        }
        config.update(overrides)
        return create_app(config)

    return make


@pytest.fixture
def saleor_app(make_saleor_app: SaleorAppFactory) -> Flask:
    return make_saleor_app()


async def register(
    client: FlaskClient, saleor: FakeSaleor, token: str = APP_TOKEN, api_url: str | None = None
) -> TestResponse:
    return await in_thread(
        client.post,
        "/api/register",
        json={"auth_token": token},
        headers={"saleor-api-url": api_url or saleor.api_url, "saleor-domain": saleor.domain},
    )


@pytest.fixture
async def registered_app(saleor_app: Flask, fake_saleor: FakeSaleor) -> Flask:
    response = await register(saleor_app.test_client(), fake_saleor)
    assert response.status_code == 200, response.get_data(as_text=True)
    return saleor_app


def webhook_headers(saleor: FakeSaleor, event: str, signature: str | None) -> dict[str, str]:
    headers = {
        "content-type": "application/json",
        "saleor-event": event.lower(),
        "saleor-domain": saleor.domain,
        "saleor-api-url": saleor.api_url,
    }
    if signature is not None:
        headers["saleor-signature"] = signature
    return headers


def product_event(typename: str, product: dict[str, Any]) -> bytes:
    """A body as Saleor sends it for the manifest's subscription: the `event` selection."""
    return json.dumps({"__typename": typename, "product": product}).encode()
