"""Billing tests: a local Razorpay (tests/fakes/razorpay_server.py) served for the session on a free
loopback port, emptied before every test here."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import serve
from tests.fakes.razorpay_server import RazorpayFake
from trailroom.embedded.process import free_port

RAZORPAY_KEY_ID = "rzp_test_TrailRoom0001"
RAZORPAY_KEY_SECRET = "rzp-test-key-secret-0123456789"
RAZORPAY_WEBHOOK_SECRET = "rzp-test-webhook-secret-0123456789"


@pytest.fixture(scope="session")
async def razorpay_fake() -> AsyncIterator[RazorpayFake]:
    """Razorpay's API on 127.0.0.1; point the SDK at it with
    `razorpay.Client(auth=(fake.key_id, fake.key_secret), base_url=fake.base_url)`."""
    fake = RazorpayFake(RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, RAZORPAY_WEBHOOK_SECRET)
    port = free_port()
    fake.base_url = f"http://127.0.0.1:{port}"
    async with serve(fake.app(), "127.0.0.1", port):
        yield fake


@pytest.fixture(autouse=True)
def fresh_razorpay(razorpay_fake: RazorpayFake) -> None:
    """No orders, payments, refunds, recorded calls or pending faults carry over between tests."""
    razorpay_fake.reset()
