"""Fixtures for the Python client: a merchant with a secret key and a user token, made through the API."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from tests.helpers import Account, new_key, signed_up
from tests.tryon.conftest import garment_png, person_png, receiver, scripted, use_scripted  # noqa: F401


@dataclass
class Merchant:
    account: Account
    secret_key: str  # tr_sk_… for the try-on and credits routes
    access_token: str  # a signed-in user's token, for the account pages


@pytest.fixture
async def merchant(client: httpx.AsyncClient) -> Merchant:
    account = await signed_up(client, "client-merchant@example.com")
    key = await new_key(client, account)
    return Merchant(account=account, secret_key=key["key"], access_token=account.access_token)
