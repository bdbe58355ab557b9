"""Live mode: the payment service talks to Razorpay through the official SDK, here pointed at the
local Razorpay (tests/fakes/razorpay_server.py), over the real API of the running app."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.billing.conftest import RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, RAZORPAY_WEBHOOK_SECRET
from tests.fakes.razorpay_server import RazorpayFake
from tests.helpers import PASSWORD, Account, login, signed_up
from tests.test_credits import assert_ledger_matches, user_of
from trailroom.domain.accounts.models import Role, User
from trailroom.domain.billing.gateway import RazorpayGateway
from trailroom.domain.billing.models import Payment
from trailroom.domain.billing.pricing import PriceList
from trailroom.domain.credits.models import CreditTransaction, TransactionKind
from trailroom.domain.services import Services


@pytest.fixture
def live(services: Services, razorpay_fake: RazorpayFake) -> Iterator[RazorpayFake]:
    """The app's payments in live mode against the local Razorpay, for one test."""
    test_gateway = services.payments.gateway
    services.payments.gateway = RazorpayGateway(
        key_id=RAZORPAY_KEY_ID,
        key_secret=RAZORPAY_KEY_SECRET,
        webhook_secret=RAZORPAY_WEBHOOK_SECRET,
        base_url=razorpay_fake.base_url,
    )
    try:
        yield razorpay_fake
    finally:
        services.payments.gateway = test_gateway


async def order(client: httpx.AsyncClient, account: Account, credits: int) -> dict:
    response = await client.post("/api/v1/payments/create-order", headers=account.auth, json={"credits": credits})
    assert response.status_code == 201, response.text
    return response.json()


async def verify(client: httpx.AsyncClient, account: Account, fields: dict) -> httpx.Response:
    return await client.post("/api/v1/payments/verify", headers=account.auth, json=fields)


async def test_an_order_is_created_at_razorpay_for_the_servers_quote(
    client: httpx.AsyncClient, live: RazorpayFake, services: Services
) -> None:
    account = await signed_up(client, "live@example.com")
    user = await user_of(account)
    created = await order(client, account, 2500)
    assert created["mode"] == "live"
    assert created["key_id"] == RAZORPAY_KEY_ID
    assert created["test_checkout_url"] is None
    sent = [r for r in live.requests if r.method == "POST" and r.path == "/v1/orders"]
    assert len(sent) == 1
    body = sent[0].body
    assert body["amount"] == PriceList.of(services.payments.settings).quote(2500).amount == created["amount"]
    assert body["currency"] == "INR"
    assert len(body["receipt"]) <= 40
    assert body["notes"]["account_id"] == str(user.id)
    assert live.orders[created["order_id"]]["amount"] == created["amount"]


async def test_paid_verified_and_delivered_by_webhook_credits_once(
    client: httpx.AsyncClient, live: RazorpayFake
) -> None:
    account = await signed_up(client, "live-once@example.com")
    user = await user_of(account)
    created = await order(client, account, 1200)
    fields = live.pay(created["order_id"])
    first = await verify(client, account, fields)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "paid"
    assert first.json()["gateway_payment_id"] == fields["razorpay_payment_id"]
    assert first.json()["method"] == "card"
    assert (await verify(client, account, fields)).status_code == 200
    for event in ("payment.captured", "order.paid"):
        body, headers = live.webhook(event, payment_id=fields["razorpay_payment_id"])
        answer = await client.post("/api/v1/payments/webhook", content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["outcome"] == "settled"
    fresh = await User.get(user.id)
    assert fresh is not None
    assert fresh.purchased_credits == 1200
    assert await CreditTransaction.find({"kind": TransactionKind.PURCHASE}).count() == 1
    await assert_ledger_matches(user.id)  # type: ignore[arg-type]


async def test_an_authorized_payment_is_captured_on_verify(client: httpx.AsyncClient, live: RazorpayFake) -> None:
    account = await signed_up(client, "authorized@example.com")
    created = await order(client, account, 300)
    fields = live.pay(created["order_id"], capture=False)
    response = await verify(client, account, fields)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "paid"
    assert live.payments[fields["razorpay_payment_id"]]["status"] == "captured"
    assert any(r.path.endswith("/capture") for r in live.requests)


async def test_the_webhook_settles_when_razorpay_was_down_at_verify(
    client: httpx.AsyncClient, live: RazorpayFake
) -> None:
    account = await signed_up(client, "down@example.com")
    user = await user_of(account)
    created = await order(client, account, 700)
    fields = live.pay(created["order_id"])
    live.fail_next(503)
    response = await verify(client, account, fields)
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "payment_gateway_unavailable"
    fresh = await User.get(user.id)
    assert fresh is not None
    assert fresh.purchased_credits == 0
    body, headers = live.webhook("payment.captured", payment_id=fields["razorpay_payment_id"])
    answer = await client.post("/api/v1/payments/webhook", content=body, headers=headers)
    assert answer.json()["outcome"] == "settled"
    fresh = await User.get(user.id)
    assert fresh is not None
    assert fresh.purchased_credits == 700


async def test_razorpay_down_at_order_time_stores_nothing(client: httpx.AsyncClient, live: RazorpayFake) -> None:
    account = await signed_up(client, "no-order@example.com")
    live.fail_next(500)
    response = await client.post("/api/v1/payments/create-order", headers=account.auth, json={"plan": "fixed"})
    assert response.status_code == 503
    assert response.json()["code"] == "payment_gateway_unavailable"
    assert await Payment.count() == 0


async def test_forged_and_tampered_live_payments_are_refused(client: httpx.AsyncClient, live: RazorpayFake) -> None:
    account = await signed_up(client, "live-forger@example.com")
    user = await user_of(account)
    created = await order(client, account, 900)
    fields = live.pay(created["order_id"])
    wrong = {**fields, "razorpay_signature": live.signature(created["order_id"], "pay_SomeoneElses01")}
    assert (await verify(client, account, wrong)).json()["code"] == "invalid_signature"
    # A webhook signed with a secret that is not ours.
    body, headers = live.webhook("payment.captured", payment_id=fields["razorpay_payment_id"])
    forged = {**headers, "X-Razorpay-Signature": "00" * 32}
    assert (await client.post("/api/v1/payments/webhook", content=body, headers=forged)).status_code == 422
    fresh = await User.get(user.id)
    assert fresh is not None
    assert fresh.purchased_credits == 0


async def test_a_failed_payment_is_recorded_and_the_order_stays_payable(
    client: httpx.AsyncClient, live: RazorpayFake
) -> None:
    account = await signed_up(client, "declined@example.com")
    created = await order(client, account, 500)
    failed_id = live.fail(created["order_id"], description="Your bank declined the payment")
    body, headers = live.webhook("payment.failed", payment_id=failed_id)
    answer = await client.post("/api/v1/payments/webhook", content=body, headers=headers)
    assert answer.json()["outcome"] == "failure_recorded"
    payment = await Payment.find_one(Payment.order_id == created["order_id"])
    assert payment is not None
    assert payment.status == "failed"
    assert payment.failure_reason == "Your bank declined the payment"
    fields = live.pay(created["order_id"])
    assert (await verify(client, account, fields)).json()["status"] == "paid"


async def test_refunds_go_through_razorpay(client: httpx.AsyncClient, live: RazorpayFake, services: Services) -> None:
    buyer = await signed_up(client, "live-refund@example.com")
    await services.accounts.create_user(
        email="live-finance@example.com", password=PASSWORD, name="Finance", role=Role.FINANCE_ADMIN
    )
    finance = await login(client, "live-finance@example.com")
    created = await order(client, buyer, 1000)
    paid = (await verify(client, buyer, live.pay(created["order_id"]))).json()
    url = f"/api/v1/admin/payments/{paid['id']}/refund"

    live.fail_next(502, "GATEWAY_ERROR")
    down = await client.post(url, headers=finance.auth, json={"reason": "try", "amount": 10_000})
    assert down.status_code == 503
    assert down.json()["code"] == "payment_gateway_unavailable"
    stored = await Payment.get(paid["id"])
    assert stored is not None
    assert stored.refund_pending == 0  # the reservation was released
    assert stored.amount_refunded == 0

    half = paid["amount"] // 2
    response = await client.post(url, headers=finance.auth, json={"reason": "half", "amount": half})
    assert response.status_code == 200, response.text
    refund_id = response.json()["refunds"][0]["refund_id"]
    assert live.refunds[refund_id]["amount"] == half
    # Razorpay's own refund.processed for the same refund changes nothing more.
    body, headers = live.webhook("refund.processed", refund_id=refund_id)
    assert (await client.post("/api/v1/payments/webhook", content=body, headers=headers)).status_code == 200
    stored = await Payment.get(paid["id"])
    assert stored is not None
    assert stored.amount_refunded == half
    assert len(stored.refunds) == 1
    assert stored.status == "partially_refunded"
    assert live.payments[paid["gateway_payment_id"]]["amount_refunded"] == half


async def test_the_live_checkout_page_loads_razorpay_with_its_csp_alone(
    client: httpx.AsyncClient, live: RazorpayFake, base_url: str
) -> None:
    from tests.web.conftest import FormBrowser

    await client.post(
        "/api/v1/auth/register",
        json={"email": "page@example.com", "password": PASSWORD, "name": "Page", "accept_terms": True},
    )
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        browser = FormBrowser(http)
        await browser.sign_in("page@example.com")
        started = await browser.post_form("/app/billing/checkout", {"plan": "fixed"}, from_page="/app/billing")
        page = await browser.get(started.headers["location"])
        assert "https://checkout.razorpay.com/v1/checkout.js" in page.text
        assert "TEST MODE" not in page.text
        assert "script-src 'self' https://checkout.razorpay.com" in page.headers["content-security-policy"]
        billing = await browser.get("/app/billing")
        assert "checkout.razorpay.com" not in billing.headers["content-security-policy"]
