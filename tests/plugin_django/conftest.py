"""Django configured once for these tests (signed-cookie sessions, no database), and a merchant
with a secret key made through the real API. Django's test client is sync: tests call it through
`in_thread` so the event loop serving TrailRoom keeps running, and every Django call stays off it."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import django
import httpx
import pytest
from django.conf import settings

from tests.helpers import Account, new_key, signed_up

T = TypeVar("T")

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"django-plugin-webhook-secret-32b").decode()

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="trailroom-django-tests-not-a-real-secret",
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=["trailroom_django"],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
        ],
        SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
        ROOT_URLCONF="tests.plugin_django.urls",
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
            }
        ],
        DATABASES={},
        USE_TZ=True,
        # Valid placeholders for start-up; each test points them at the real app with `trailroom_settings`.
        TRAILROOM={"API_KEY": "tr_sk_placeholder", "BASE_URL": "http://127.0.0.1:9", "WEBHOOK_SECRET": WEBHOOK_SECRET},
    )
    django.setup()


async def in_thread(fn: Callable[[], T]) -> T:
    return await asyncio.to_thread(fn)


@dataclass
class Merchant:
    account: Account
    secret_key: str


@pytest.fixture
async def merchant(client: httpx.AsyncClient) -> Merchant:
    account = await signed_up(client, "django-merchant@example.com")
    key = await new_key(client, account)
    return Merchant(account=account, secret_key=key["key"])


@pytest.fixture
def trailroom_settings(base_url: str, merchant: Merchant) -> dict[str, Any]:
    """The `TRAILROOM` setting for this test: the real app, the merchant's secret key."""
    return {
        "API_KEY": merchant.secret_key,
        "BASE_URL": base_url,
        "PUBLIC_URL": "https://cdn.trailroom.example",
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


from tests.tryon.conftest import garment_png, person_png, scripted, use_scripted  # noqa: E402, F401 - fixtures
