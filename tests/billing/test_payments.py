"""Payments in test mode (no Razorpay keys), through the real API: orders from the server's quote,
verification, webhooks, credits exactly once, forgeries refused, failures and refunds."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import httpx
import pytest
from beanie import PydanticObjectId

from tests.helpers import PASSWORD, Account, login, signed_up
from tests.test_credits import assert_ledger_matches, spend, user_of
from trailroom.core.config import DEV_RAZORPAY_WEBHOOK_SECRET, Settings
from trailroom.domain.accounts.models import Role, User
from trailroom.domain.billing import testmode
from trailroom.domain.billing.models import GatewayEvent, Payment
from trailroom.domain.billing.pricing import FIXED_PLAN_CREDITS, PriceList
from trailroom.domain.billing.testmode import gateway_id
from trailroom.domain.credits.models import CreditTransaction, TransactionKind
from trailroom.domain.events.models import PAYMENT_COMPLETED, DomainEvent
from trailroom.domain.invoices.models import Invoice
from trailroom.domain.mail.models import OutgoingMail
from trailroom.domain.services import Services


def gateway_of(services: Services) -> testmode.TestModeGateway:
    gateway = services.payments.gateway
    assert isinstance(gateway, testmode.TestModeGateway)
    return gateway


async def create_order(client: httpx.AsyncClient, account: Account, **body: object) -> dict:
    response = await client.post("/api/v1/payments/create-order", headers=account.auth, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def signed_webhook(event: str, payload: dict, *, event_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"entity": "event", "event": event, "contains": list(payload), "payload": payload}).encode()
    signature = hmac.new(DEV_RAZORPAY_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {
        "Content-Type": "application/json",
        "X-Razorpay-Signature": signature,
        "X-Razorpay-Event-Id": event_id or gateway_id("evt_"),
    }


async def captured_webhook(services: Services, order_id: str, payment_id: str) -> tuple[bytes, dict[str, str]]:
    entity = (await gateway_of(services).fetch_payment(payment_id)).__dict__
    entity = {**entity, "entity": "payment", "status": "captured"}
    return signed_webhook("payment.captured", {"payment": {"entity": entity}})


async def purchases(user_id: object) -> list[CreditTransaction]:
    return await CreditTransaction.find({"account_id": user_id, "kind": TransactionKind.PURCHASE}).to_list()


async def test_create_order_uses_the_server_quote(client: httpx.AsyncClient, settings: Settings) -> None:
    account = await signed_up(client, "buyer@example.com")
    order = await create_order(client, account, plan="fixed")
    quote = PriceList.of(settings).quote(FIXED_PLAN_CREDITS)
    assert order["mode"] == "test"
    assert order["amount"] == quote.amount == quote.taxable + quote.tax
    assert order["price"]["credits"] == FIXED_PLAN_CREDITS
    assert order["order_id"].startswith("order_")
    assert order["test_checkout_url"].endswith(f"/app/billing/checkout/{order['order_id']}")
    custom = await create_order(client, account, credits=5000)
    assert custom["amount"] == PriceList.of(settings).quote(5000).amount
    stored = await Payment.find_one(Payment.order_id == custom["order_id"])
    assert stored is not None
    assert stored.price.amount == custom["amount"]
    assert stored.status == "created"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "plan_or_credits"),
        ({"plan": "fixed", "credits": 500}, "plan_or_credits"),
        ({"plan": "gold"}, "unknown_plan"),
        ({"credits": 299}, "validation_failed"),
        ({"credits": 500, "amount": 1}, "validation_failed"),  # no amount from the client, ever
    ],
)
async def test_bad_orders_are_refused(client: httpx.AsyncClient, body: dict, code: str) -> None:
    account = await signed_up(client, "picky@example.com")
    response = await client.post("/api/v1/payments/create-order", headers=account.auth, json=body)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert await Payment.count() == 0


async def test_verify_credits_the_account_once(client: httpx.AsyncClient, services: Services) -> None:
    account = await signed_up(client, "once@example.com")
    user = await user_of(account)
    order = await create_order(client, account, credits=1000)
    checkout = await gateway_of(services).pay(order["order_id"])
    first = await client.post("/api/v1/payments/verify", headers=account.auth, json=checkout)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "paid"
    assert first.json()["credits"] == 1000
    # The one invoice of the payment, numbered in the financial year's sequence.
    assert first.json()["invoice_number"].startswith("TR/")
    invoices = (await client.get("/api/v1/invoices", headers=account.auth)).json()["data"]
    assert [i["number"] for i in invoices] == [first.json()["invoice_number"]]
    again = await client.post("/api/v1/payments/verify", headers=account.auth, json=checkout)
    assert again.status_code == 200
    assert again.json()["status"] == "paid"
    fresh = await User.get(user.id)
    assert fresh is not None
    assert fresh.purchased_credits == 1000
    assert fresh.is_paying
    assert len(await purchases(user.id)) == 1
    events = await DomainEvent.find(DomainEvent.type == PAYMENT_COMPLETED).to_list()
    assert len(events) == 1
    assert events[0].data["credits"] == 1000
    assert events[0].data["amount"] == order["amount"]
    balance = (await client.get("/api/v1/credits", headers=account.auth)).json()
    assert balance["purchased"] == 1000
    history = (await client.get("/api/v1/payments/history", headers=account.auth)).json()
    assert [p["order_id"] for p in history["data"]] == [order["order_id"]]
    await assert_ledger_matches(user.id)  # type: ignore[arg-type]


async def test_verify_twice_and_three_webhooks_at_once_add_credits_once(
    client: httpx.AsyncClient, services: Services
) -> None:
    account = await signed_up(client, "race@example.com")
    user = await user_of(account)
    order = await create_order(client, account, plan="fixed")
    checkout = await gateway_of(services).pay(order["order_id"])
    body, headers = await captured_webhook(services, order["order_id"], checkout["razorpay_payment_id"])
    # Three deliveries of webhooks (each with its own event id, as distinct events would have).
    webhooks = []
    for _ in range(3):
        _, fresh_headers = signed_webhook("x", {})
        webhooks.append({**headers, "X-Razorpay-Event-Id": fresh_headers["X-Razorpay-Event-Id"]})
    answers = await asyncio.gather(
        client.post("/api/v1/payments/verify", headers=account.auth, json=checkout),
        client.post("/api/v1/payments/verify", headers=account.auth, json=checkout),
        *(client.post("/api/v1/payments/webhook", content=body, headers=h) for h in webhooks),
    )
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    fresh = await User.get(user.id)
    assert fresh is not None
    assert fresh.purchased_credits == FIXED_PLAN_CREDITS
    assert len(await purchases(user.id)) == 1
    assert await DomainEvent.find(DomainEvent.type == PAYMENT_COMPLETED).count() == 1
    await assert_ledger_matches(user.id)  # type: ignore[arg-type]


async def test_the_webhook_alone_settles_and_a_replay_is_a_no_op(client: httpx.AsyncClient, services: Services) -> None:
    account = await signed_up(client, "hook@example.com")
    user = await user_of(account)
    order = await create_order(client, account, credits=300)
    checkout = await gateway_of(services).pay(order["order_id"])
    body, headers = await captured_webhook(services, order["order_id"], checkout["razorpay_payment_id"])
    first = await client.post("/api/v1/payments/webhook", content=body, headers=headers)
    assert first.status_code == 200
    assert first.json()["outcome"] == "settled"
    replay = await client.post("/api/v1/payments/webhook", content=body, headers=headers)
    assert replay.status_code == 200
    assert replay.json()["outcome"] == "duplicate"
    fresh = await User.get(user.id)
    assert fresh is not None
    assert fresh.purchased_credits == 300
    assert len(await purchases(user.id)) == 1


async def test_forgeries_are_refused_and_add_nothing(client: httpx.AsyncClient, services: Services) -> None:
    account = await signed_up(client, "forger@example.com")
    other = await signed_up(client, "victim@example.com")
    user = await user_of(account)
    order = await create_order(client, account, credits=500)
    victims_order = await create_order(client, other, credits=500)
    checkout = await gateway_of(services).pay(order["order_id"])

    forged = {**checkout, "razorpay_signature": "0" * 64}
    response = await client.post("/api/v1/payments/verify", headers=account.auth, json=forged)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_signature"

    # A signature made with a guessed secret.
    guessed = hmac.new(b"guess", f"{order['order_id']}|{checkout['razorpay_payment_id']}".encode(), hashlib.sha256)
    response = await client.post(
        "/api/v1/payments/verify", headers=account.auth, json={**checkout, "razorpay_signature": guessed.hexdigest()}
    )
    assert response.json()["code"] == "invalid_signature"

    # Someone else's order id, with a payment of ours.
    response = await client.post(
        "/api/v1/payments/verify",
        headers=account.auth,
        json={**checkout, "razorpay_order_id": victims_order["order_id"]},
    )
    assert response.status_code == 404
    assert response.json()["code"] == "order_not_found"

    # A webhook with a bad signature, and one signed over a different body.
    body, headers = await captured_webhook(services, order["order_id"], checkout["razorpay_payment_id"])
    bad = await client.post(
        "/api/v1/payments/webhook", content=body, headers={**headers, "X-Razorpay-Signature": "ab" * 32}
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_signature"
    tampered = body.replace(b'"captured"', b'"captured" ')
    bad = await client.post("/api/v1/payments/webhook", content=tampered, headers=headers)
    assert bad.status_code == 422
    unsigned = await client.post("/api/v1/payments/webhook", content=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 422

    fresh = await User.get(user.id)
    assert fresh is not None
    assert fresh.purchased_credits == 0
    assert not fresh.is_paying
    assert await CreditTransaction.find({"kind": TransactionKind.PURCHASE}).count() == 0
    payment = await Payment.find_one(Payment.order_id == order["order_id"])
    assert payment is not None
    assert payment.status == "created"


async def test_an_amount_changed_on_the_client_is_refused(client: httpx.AsyncClient, services: Services) -> None:
    """A payment for a different amount than the order's quote (say, a tampered checkout) settles nothing."""
    account = await signed_up(client, "tamper@example.com")
    user = await user_of(account)
    order = await create_order(client, account, credits=2000)
    checkout = await gateway_of(services).pay(order["order_id"])
    entity = {**(await gateway_of(services).fetch_payment(checkout["razorpay_payment_id"])).__dict__}
    entity.update(entity="payment", amount=100)
    body, headers = signed_webhook("payment.captured", {"payment": {"entity": entity}})
    answer = await client.post("/api/v1/payments/webhook", content=body, headers=headers)
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "mismatch"
    # The stored order's amount is the gateway's too: lower it there and verify refuses.
    await Payment.get_pymongo_collection().update_one(
        {"order_id": order["order_id"]}, {"$set": {"price.amount": order["amount"] + 1}}
    )
    response = await client.post("/api/v1/payments/verify", headers=account.auth, json=checkout)
    assert response.status_code == 422
    assert response.json()["code"] == "payment_mismatch"
    fresh = await User.get(user.id)
    assert fresh is not None
    assert fresh.purchased_credits == 0


async def test_a_failed_attempt_then_a_paid_one(client: httpx.AsyncClient, services: Services) -> None:
    account = await signed_up(client, "retry@example.com")
    order = await create_order(client, account, credits=400)
    gateway = gateway_of(services)
    failed_id = await gateway.fail(order["order_id"], "Card declined by the bank.")
    failed = (await gateway.fetch_payment(failed_id)).__dict__
    body, headers = signed_webhook("payment.failed", {"payment": {"entity": {**failed, "entity": "payment"}}})
    answer = await client.post("/api/v1/payments/webhook", content=body, headers=headers)
    assert answer.json()["outcome"] == "failure_recorded"
    payment = await Payment.find_one(Payment.order_id == order["order_id"])
    assert payment is not None
    assert payment.status == "failed"
    assert payment.failure_reason == "Card declined by the bank."
    checkout = await gateway.pay(order["order_id"])
    response = await client.post("/api/v1/payments/verify", headers=account.auth, json=checkout)
    assert response.status_code == 200
    assert response.json()["status"] == "paid"
    assert response.json()["failure_reason"] is None


async def make_finance(client: httpx.AsyncClient, services: Services, email: str) -> Account:
    await services.accounts.create_user(email=email, password=PASSWORD, name="Finance", role=Role.FINANCE_ADMIN)
    return await login(client, email)


async def paid_order(client: httpx.AsyncClient, services: Services, account: Account, credits: int) -> dict:
    order = await create_order(client, account, credits=credits)
    checkout = await gateway_of(services).pay(order["order_id"])
    response = await client.post("/api/v1/payments/verify", headers=account.auth, json=checkout)
    assert response.status_code == 200, response.text
    return response.json()


async def test_refunds_take_back_only_unspent_credits(client: httpx.AsyncClient, services: Services) -> None:
    buyer = await signed_up(client, "refund-me@example.com")
    finance = await make_finance(client, services, "finance@example.com")
    user = await user_of(buyer)
    payment = await paid_order(client, services, buyer, 1000)

    # Not allowed for the buyer (a user) or with a bad amount.
    response = await client.post(
        f"/api/v1/admin/payments/{payment['id']}/refund", headers=buyer.auth, json={"reason": "mine"}
    )
    assert response.status_code == 403
    response = await client.post(
        f"/api/v1/admin/payments/{payment['id']}/refund",
        headers=finance.auth,
        json={"reason": "too much", "amount": payment["amount"] + 1},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_refund_amount"

    # A partial refund of 40% takes back 400 credits.
    part = payment["amount"] * 2 // 5
    response = await client.post(
        f"/api/v1/admin/payments/{payment['id']}/refund",
        headers=finance.auth,
        json={"reason": "partly unhappy", "amount": part},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "partially_refunded"
    assert response.json()["refunds"][0]["credits_reclaimed"] == 1000 * part // payment["amount"]
    fresh = await User.get(user.id)
    assert fresh is not None
    left = fresh.purchased_credits
    assert left == 1000 - 1000 * part // payment["amount"]

    # Spend most of the rest; the full refund of the remainder can only take what is unspent.
    await spend(services, user.id, services.credits.balance_of(fresh).balance - 50)  # type: ignore[arg-type]
    response = await client.post(
        f"/api/v1/admin/payments/{payment['id']}/refund", headers=finance.auth, json={"reason": "all of it"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "refunded"
    assert body["amount_refunded"] == payment["amount"]
    assert body["refunds"][1]["credits_reclaimed"] == 50
    fresh = await User.get(user.id)
    assert fresh is not None
    assert fresh.purchased_credits == 0
    entries = await CreditTransaction.find({"kind": TransactionKind.PAYMENT_REFUND}).to_list()
    assert len(entries) == 2
    assert "the rest were spent" in entries[1].description
    notes = await Invoice.find({"kind": "credit_note", "payment_id": PydanticObjectId(payment["id"])}).to_list()
    assert sorted(n.amount for n in notes) == sorted([part, payment["amount"] - part])
    await assert_ledger_matches(user.id)  # type: ignore[arg-type]

    # Nothing left to refund.
    response = await client.post(
        f"/api/v1/admin/payments/{payment['id']}/refund", headers=finance.auth, json={"reason": "again"}
    )
    assert response.status_code == 422


async def test_concurrent_refunds_never_exceed_the_payment(client: httpx.AsyncClient, services: Services) -> None:
    buyer = await signed_up(client, "double-refund@example.com")
    finance = await make_finance(client, services, "finance2@example.com")
    payment = await paid_order(client, services, buyer, 600)
    answers = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/admin/payments/{payment['id']}/refund",
                headers=finance.auth,
                json={"reason": "race", "amount": payment["amount"] * 2 // 3},
            )
            for _ in range(3)
        )
    )
    assert sorted(a.status_code for a in answers).count(200) == 1, [a.text for a in answers]
    stored = await Payment.find_one(Payment.order_id == payment["order_id"])
    assert stored is not None
    assert stored.amount_refunded == payment["amount"] * 2 // 3
    assert stored.refund_pending == 0


async def test_a_refund_webhook_is_recorded_once(client: httpx.AsyncClient, services: Services) -> None:
    """A refund made on Razorpay's side arrives as `refund.processed`: recorded once, however often."""
    buyer = await signed_up(client, "dash-refund@example.com")
    user = await user_of(buyer)
    payment = await paid_order(client, services, buyer, 300)
    refund = {
        "id": gateway_id("rfnd_"),
        "entity": "refund",
        "amount": payment["amount"],
        "payment_id": payment["gateway_payment_id"],
        "status": "processed",
    }
    body, headers = signed_webhook("refund.processed", {"refund": {"entity": refund}})
    for _ in range(2):
        _, fresh = signed_webhook("x", {})
        answer = await client.post(
            "/api/v1/payments/webhook",
            content=body,
            headers={**headers, "X-Razorpay-Event-Id": fresh["X-Razorpay-Event-Id"]},
        )
        assert answer.status_code == 200
    stored = await Payment.find_one(Payment.order_id == payment["order_id"])
    assert stored is not None
    assert stored.status == "refunded"
    assert len(stored.refunds) == 1
    fresh_user = await User.get(user.id)
    assert fresh_user is not None
    assert fresh_user.purchased_credits == 0
    await assert_ledger_matches(user.id)  # type: ignore[arg-type]


async def test_someone_elses_payment_is_not_found(client: httpx.AsyncClient, services: Services) -> None:
    owner = await signed_up(client, "owner@example.com")
    stranger = await signed_up(client, "stranger@example.com")
    payment = await paid_order(client, services, owner, 300)
    mine = await client.get(f"/api/v1/payments/{payment['id']}", headers=owner.auth)
    assert mine.status_code == 200
    assert mine.json()["credits"] == 300
    theirs = await client.get(f"/api/v1/payments/{payment['id']}", headers=stranger.auth)
    assert theirs.status_code == 404
    assert theirs.json()["code"] == "payment_not_found"
    assert (await client.get("/api/v1/payments/history", headers=stranger.auth)).json()["data"] == []


def test_production_without_keys_takes_no_payments() -> None:
    production = Settings(_env_file=None, env="production", secret_key="x" * 40)  # type: ignore[call-arg]
    assert production.payments_test_mode
    assert not production.payments_enabled


async def wait_for(predicate: object, timeout_s: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await predicate():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_the_receipt_goes_out_once_with_the_invoice_attached(
    client: httpx.AsyncClient, services: Services
) -> None:
    from tests.conftest import running_workers

    buyer = await signed_up(client, "receipt@example.com")
    async with running_workers(services):
        payment = await paid_order(client, services, buyer, 2100)

        async def receipt_mailed() -> bool:
            return await OutgoingMail.find({"template": "receipt", "status": "outbox"}).count() == 1

        await wait_for(receipt_mailed)
        # The test-mode webhooks (payment.captured, order.paid) arrive through the worker too.

        async def webhooks_seen() -> bool:
            return await GatewayEvent.count() >= 2

        await wait_for(webhooks_seen)
    assert await services.payments.send_receipt(payment["id"]) is False  # sent already: never twice
    mails = await OutgoingMail.find({"template": "receipt"}).to_list()
    assert len(mails) == 1
    mail = mails[0]
    assert mail.to == "receipt@example.com"
    assert payment["invoice_number"] in mail.subject
    assert "2,100" in mail.text
    assert mail.attachments[0].content_type == "application/pdf"
    assert mail.attachments[0].content.startswith(b"%PDF")
    stored = await Payment.get(payment["id"])
    assert stored is not None
    assert stored.receipt_sent
    assert await CreditTransaction.find({"kind": TransactionKind.PURCHASE}).count() == 1


async def test_a_failed_payment_is_mailed_once_per_attempt(client: httpx.AsyncClient, services: Services) -> None:
    account = await signed_up(client, "failed-mail@example.com")
    order = await create_order(client, account, credits=300)
    gateway = gateway_of(services)
    failed_id = await gateway.fail(order["order_id"], "Insufficient funds.")
    entity = {**(await gateway.fetch_payment(failed_id)).__dict__, "entity": "payment"}
    for _ in range(2):
        body, headers = signed_webhook("payment.failed", {"payment": {"entity": entity}})
        assert (await client.post("/api/v1/payments/webhook", content=body, headers=headers)).status_code == 200
    mails = await OutgoingMail.find({"template": "payment_failed"}).to_list()
    assert len(mails) == 1
    assert "Insufficient funds." in mails[0].text
