"""Fixtures for the Flask extension: a real Flask app whose proxy forwards over loopback HTTP to the
real TrailRoom app, with a funded merchant's secret key."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from flask import Flask, render_template_string

from tests.helpers import Account, new_key, signed_up
from tests.tryon.conftest import fund, garment_png, person_png, receiver, scripted, use_scripted  # noqa: F401
from trailroom.domain.services import Services
from trailroom_flask import TrailRoom

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"flask-plugin-webhook-secret-0123").decode()
PUBLIC_URL = "https://tryon.example.com"


@dataclass
class Shop:
    account: Account
    secret_key: str


@pytest.fixture
async def shop(client: httpx.AsyncClient, services: Services) -> Shop:
    account = await signed_up(client, "flask-shop@example.com")
    key = await new_key(client, account)
    await fund(services, account, 20)
    return Shop(account=account, secret_key=key["key"])


FlaskFactory = Callable[..., Flask]


@pytest.fixture
def make_flask_app(base_url: str, shop: Shop) -> FlaskFactory:
    """A shop's Flask app using the extension (init_app style); keyword arguments override TRAILROOM_* config."""

    def make(**overrides: Any) -> Flask:
        app = Flask("shop")
        app.secret_key = "flask-session-signing-key"
        app.config.update(
            TRAILROOM_API_KEY=shop.secret_key,
            TRAILROOM_BASE_URL=base_url,
            TRAILROOM_PUBLIC_URL=PUBLIC_URL,
            TRAILROOM_WEBHOOK_SECRET=WEBHOOK_SECRET,
        )
        app.config.update({f"TRAILROOM_{k.upper()}": v for k, v in overrides.items()})
        trailroom = TrailRoom()
        trailroom.init_app(app)

        @app.get("/product/<name>")
        def product(name: str) -> str:
            return render_template_string(
                "<h1>{{ name }}</h1>{{ trailroom_widget(garment, mode='dress', button_label=label) }}"
                "{{ trailroom_widget(garment, mode='top') }}",
                name=name,
                garment=f"https://cdn.example.com/{name}.jpg?a=1&b=2",
                label='Try "it" <now>',
            )

        return app

    return make


@pytest.fixture
def flask_app(make_flask_app: FlaskFactory) -> Flask:
    return make_flask_app()
