"""The local Razorpay answers the official SDK as Razorpay does: its entities, its signatures, its
errors (and the SDK's exceptions for them). The billing tests rely on it, so it is proved here.

The SDK is synchronous and the fake is served in this event loop, so every SDK call runs in a thread."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pytest
import razorpay  # type: ignore[import-untyped]  # the SDK ships no type information
from razorpay.errors import BadRequestError, GatewayError, ServerError, SignatureVerificationError  # type: ignore[import-untyped]

from tests.fakes.razorpay_server import RazorpayFake, Received

T = TypeVar("T")

ORDER_KEYS = {
    "id",
    "entity",
    "amount",
    "amount_paid",
    "amount_due",
    "currency",
    "receipt",
    "offer_id",
    "status",
    "attempts",
    "notes",
    "created_at",
}
PAYMENT_KEYS = {
    "id",
    "entity",
    "amount",
    "currency",
    "status",
    "order_id",
    "invoice_id",
    "international",
    "method",
    "amount_refunded",
    "refund_status",
    "captured",
    "description",
    "card_id",
    "bank",
    "wallet",
    "vpa",
    "email",
    "contact",
    "notes",
    "fee",
    "tax",
    "error_code",
    "error_description",
    "error_source",
    "error_step",
    "error_reason",
    "acquirer_data",
    "created_at",
}
REFUND_KEYS = {
    "id",
    "entity",
    "amount",
    "currency",
    "payment_id",
    "notes",
    "receipt",
    "acquirer_data",
    "created_at",
    "batch_id",
    "status",
    "speed_processed",
    "speed_requested",
}


@pytest.fixture(autouse=True)
def clean_state() -> None:
    """Replaces the suite-wide fixture that empties the database: these tests use only the fake."""


@pytest.fixture
def client(razorpay_fake: RazorpayFake) -> razorpay.Client:
    return razorpay.Client(auth=(razorpay_fake.key_id, razorpay_fake.key_secret), base_url=razorpay_fake.base_url)


async def sdk(call: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(call, *args)


async def new_order(client: razorpay.Client, amount: int = 50_000, **extra: Any) -> dict[str, Any]:
    order: dict[str, Any] = await sdk(client.order.create, {"amount": amount, "currency": "INR", **extra})
    return order


async def refused(error: type[Exception], call: Callable[..., Any], *args: Any) -> str:
    """The SDK raises `error` for the call; returns its message (Razorpay's `description`)."""
    with pytest.raises(error) as raised:
        await sdk(call, *args)
    return str(raised.value)


def hmac_hex(secret: str, message: str | bytes) -> str:
    data = message.encode() if isinstance(message, str) else message
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


# --- orders ---------------------------------------------------------------------------------------


async def test_order_create_and_fetch_return_razorpays_order_entity(
    client: razorpay.Client, razorpay_fake: RazorpayFake
) -> None:
    before = int(time.time())
    order = await new_order(client, 50_000, receipt="TR-ord-1", notes={"account_id": "acc-42"})
    assert set(order) == ORDER_KEYS
    assert re.fullmatch(r"order_[A-Za-z0-9]{14}", order["id"])
    assert order["entity"] == "order"
    assert (order["amount"], order["amount_paid"], order["amount_due"]) == (50_000, 0, 50_000)
    assert (order["currency"], order["receipt"]) == ("INR", "TR-ord-1")
    assert (order["status"], order["attempts"]) == ("created", 0)
    assert order["notes"] == {"account_id": "acc-42"}
    assert order["offer_id"] is None
    assert before <= order["created_at"] <= int(time.time())

    assert await sdk(client.order.fetch, order["id"]) == order
    assert razorpay_fake.requests == [
        Received(
            "POST",
            "/v1/orders",
            {"amount": 50_000, "currency": "INR", "receipt": "TR-ord-1", "notes": {"account_id": "acc-42"}},
        ),
        Received("GET", f"/v1/orders/{order['id']}", None),
    ]


async def test_order_without_notes_shows_them_as_an_empty_list(client: razorpay.Client) -> None:
    """Razorpay serialises an empty notes map as `[]`; code reading notes must cope."""
    order = await new_order(client)
    assert order["notes"] == []
    assert order["receipt"] is None


async def test_partial_payment_is_echoed_when_asked(client: razorpay.Client) -> None:
    order = await new_order(client, partial_payment=False)
    assert order["partial_payment"] is False


@pytest.mark.parametrize(
    ("body", "description"),
    [
        ({"amount": 99, "currency": "INR"}, "The amount must be at least INR 1.00"),
        ({"currency": "INR"}, "The amount field is required."),
        ({"amount": 100.5, "currency": "INR"}, "The amount must be an integer."),
        ({"amount": 50_000_001, "currency": "INR"}, "Amount exceeds maximum amount allowed."),
        ({"amount": 1000}, "The currency field is required."),
        ({"amount": 1000, "currency": "USD"}, "Currency is not supported"),
        (
            {"amount": 1000, "currency": "INR", "receipt": "r" * 41},
            "The receipt may not be greater than 40 characters.",
        ),
        (
            {"amount": 1000, "currency": "INR", "notes": {f"k{i}": "v" for i in range(16)}},
            "Number of fields in notes should be less than or equal to 15",
        ),
        ({"amount": 1000, "currency": "INR", "notes": {"k": ["v"]}}, "Notes values themselves should not be an array"),
        ({"amount": 1000, "currency": "INR", "colour": "red"}, "colour is/are not required and should not be sent"),
    ],
)
async def test_order_validation_errors_raise_the_sdks_bad_request_error(
    client: razorpay.Client, razorpay_fake: RazorpayFake, body: dict[str, Any], description: str
) -> None:
    with pytest.raises(BadRequestError) as raised:
        await sdk(client.order.create, body)
    assert str(raised.value) == description
    assert razorpay_fake.orders == {}


async def test_a_40_character_receipt_is_accepted(client: razorpay.Client) -> None:
    order = await new_order(client, 100, receipt="r" * 40)
    assert order["receipt"] == "r" * 40


async def test_validation_error_body_has_razorpays_shape(razorpay_fake: RazorpayFake) -> None:
    auth = (razorpay_fake.key_id, razorpay_fake.key_secret)
    async with httpx.AsyncClient(base_url=razorpay_fake.base_url, auth=auth) as http:
        response = await http.post("/v1/orders", json={"amount": 50, "currency": "INR"})
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "BAD_REQUEST_ERROR",
            "description": "The amount must be at least INR 1.00",
            "source": "business",
            "step": "payment_initiation",
            "reason": "input_validation_failed",
            "metadata": {},
            "field": "amount",
        }
    }


@pytest.mark.parametrize(
    ("entity_id", "description"),
    [("order_AAAAAAAAAAAAAA", "The id provided does not exist"), ("nope", "nope is not a valid id")],
)
async def test_unknown_order_id(client: razorpay.Client, entity_id: str, description: str) -> None:
    assert await refused(BadRequestError, client.order.fetch, entity_id) == description


# --- payments through Checkout ----------------------------------------------------------------------


async def test_pay_captures_the_whole_order_and_payment_fetch_shows_it(
    client: razorpay.Client, razorpay_fake: RazorpayFake
) -> None:
    order = await new_order(client, 123_400)
    checkout = razorpay_fake.pay(order["id"])
    assert set(checkout) == {"razorpay_payment_id", "razorpay_order_id", "razorpay_signature"}
    assert checkout["razorpay_order_id"] == order["id"]
    assert re.fullmatch(r"pay_[A-Za-z0-9]{14}", checkout["razorpay_payment_id"])

    payment = await sdk(client.payment.fetch, checkout["razorpay_payment_id"])
    assert set(payment) == PAYMENT_KEYS | {"card"}
    assert payment["entity"] == "payment"
    assert (payment["status"], payment["captured"], payment["amount"], payment["currency"]) == (
        "captured",
        True,
        123_400,
        "INR",
    )
    assert (payment["order_id"], payment["method"]) == (order["id"], "card")
    assert (payment["amount_refunded"], payment["refund_status"], payment["error_code"]) == (0, None, None)
    assert (payment["fee"], payment["tax"]) == (2468 + 444, 444)  # 2% of the amount, plus 18% GST on it
    assert payment["card"]["entity"] == "card"
    assert payment["card_id"] == payment["card"]["id"]

    paid = await sdk(client.order.fetch, order["id"])
    assert (paid["status"], paid["amount_paid"], paid["amount_due"], paid["attempts"]) == ("paid", 123_400, 0, 1)
    listed = await sdk(client.order.payments, order["id"])
    assert listed == {"entity": "collection", "count": 1, "items": [payment]}


@pytest.mark.parametrize(
    ("method", "field", "value"), [("upi", "vpa", "success@razorpay"), ("netbanking", "bank", "HDFC")]
)
async def test_pay_by_other_methods(
    client: razorpay.Client, razorpay_fake: RazorpayFake, method: str, field: str, value: str
) -> None:
    order = await new_order(client)
    payment = await sdk(client.payment.fetch, razorpay_fake.pay(order["id"], method=method)["razorpay_payment_id"])
    assert (payment["method"], payment[field], payment["card_id"]) == (method, value, None)


async def test_checkout_signature_is_what_the_sdk_verifies(
    client: razorpay.Client, razorpay_fake: RazorpayFake
) -> None:
    order = await new_order(client)
    checkout = razorpay_fake.pay(order["id"])
    expected = hmac_hex(razorpay_fake.key_secret, f"{order['id']}|{checkout['razorpay_payment_id']}")
    assert checkout["razorpay_signature"] == expected
    assert client.utility.verify_payment_signature(checkout) is True

    other = await new_order(client)
    for tampered in (
        {**checkout, "razorpay_signature": "0" * 64},
        {**checkout, "razorpay_order_id": other["id"]},
        {**checkout, "razorpay_payment_id": "pay_AAAAAAAAAAAAAA"},
    ):
        with pytest.raises(SignatureVerificationError):
            client.utility.verify_payment_signature(tampered)
    wrong_secret = razorpay.Client(auth=(razorpay_fake.key_id, "another-secret"))
    with pytest.raises(SignatureVerificationError):
        wrong_secret.utility.verify_payment_signature(checkout)


async def test_a_failed_attempt_leaves_the_order_payable(client: razorpay.Client, razorpay_fake: RazorpayFake) -> None:
    order = await new_order(client)
    failed_id = razorpay_fake.fail(
        order["id"], description="Your payment has been cancelled.", reason="payment_cancelled"
    )
    failed = await sdk(client.payment.fetch, failed_id)
    assert (failed["status"], failed["captured"], failed["fee"], failed["tax"]) == ("failed", False, None, None)
    assert (failed["error_code"], failed["error_description"], failed["error_reason"]) == (
        "BAD_REQUEST_ERROR",
        "Your payment has been cancelled.",
        "payment_cancelled",
    )
    attempted = await sdk(client.order.fetch, order["id"])
    assert (attempted["status"], attempted["attempts"], attempted["amount_paid"]) == ("attempted", 1, 0)

    paid_id = razorpay_fake.pay(order["id"])["razorpay_payment_id"]
    listed = await sdk(client.order.payments, order["id"])
    assert listed["count"] == 2
    assert [p["id"] for p in listed["items"]] == [paid_id, failed_id]  # newest first
    assert (await sdk(client.order.fetch, order["id"]))["attempts"] == 2


async def test_a_paid_order_takes_no_second_payment(client: razorpay.Client, razorpay_fake: RazorpayFake) -> None:
    order = await new_order(client)
    razorpay_fake.pay(order["id"])
    with pytest.raises(ValueError, match="already paid"):
        razorpay_fake.pay(order["id"])
    with pytest.raises(KeyError):
        razorpay_fake.pay("order_AAAAAAAAAAAAAA")


async def test_authorized_payment_is_captured_through_the_api(
    client: razorpay.Client, razorpay_fake: RazorpayFake
) -> None:
    order = await new_order(client, 20_000)
    payment_id = razorpay_fake.pay(order["id"], capture=False)["razorpay_payment_id"]
    authorized = await sdk(client.payment.fetch, payment_id)
    assert (authorized["status"], authorized["captured"]) == ("authorized", False)
    assert (await sdk(client.order.fetch, order["id"]))["status"] == "attempted"

    assert (
        await refused(BadRequestError, client.payment.capture, payment_id, 10_000, {"currency": "INR"})
        == "Capture amount must be equal to the amount authorized"
    )
    captured = await sdk(client.payment.capture, payment_id, 20_000, {"currency": "INR"})
    assert (captured["status"], captured["captured"]) == ("captured", True)
    assert (await sdk(client.order.fetch, order["id"]))["status"] == "paid"
    assert (
        await refused(BadRequestError, client.payment.capture, payment_id, 20_000, {"currency": "INR"})
        == "This payment has already been captured"
    )


@pytest.mark.parametrize(
    ("entity_id", "description"),
    [("pay_AAAAAAAAAAAAAA", "The id provided does not exist"), ("pay_short", "pay_short is not a valid id")],
)
async def test_unknown_payment_id(client: razorpay.Client, entity_id: str, description: str) -> None:
    assert await refused(BadRequestError, client.payment.fetch, entity_id) == description


# --- refunds ----------------------------------------------------------------------------------------


async def test_full_refund_by_default(client: razorpay.Client, razorpay_fake: RazorpayFake) -> None:
    order = await new_order(client, 30_000)
    payment_id = razorpay_fake.pay(order["id"])["razorpay_payment_id"]
    refund = await sdk(client.payment.refund, payment_id, {"notes": {"why": "duplicate"}})
    assert set(refund) == REFUND_KEYS
    assert re.fullmatch(r"rfnd_[A-Za-z0-9]{14}", refund["id"])
    assert (refund["entity"], refund["amount"], refund["currency"], refund["payment_id"]) == (
        "refund",
        30_000,
        "INR",
        payment_id,
    )
    assert (refund["status"], refund["speed_processed"], refund["speed_requested"]) == ("processed", "normal", "normal")
    assert refund["notes"] == {"why": "duplicate"}

    payment = await sdk(client.payment.fetch, payment_id)
    assert (payment["status"], payment["amount_refunded"], payment["refund_status"], payment["captured"]) == (
        "refunded",
        30_000,
        "full",
        True,
    )
    assert (await sdk(client.order.fetch, order["id"]))["status"] == "paid"  # an order stays paid
    assert await sdk(client.refund.fetch, refund["id"]) == refund
    assert (
        await refused(BadRequestError, client.payment.refund, payment_id, {})
        == "The payment has been fully refunded already"
    )


async def test_partial_refunds_add_up_to_the_payment(client: razorpay.Client, razorpay_fake: RazorpayFake) -> None:
    order = await new_order(client, 50_000)
    payment_id = razorpay_fake.pay(order["id"])["razorpay_payment_id"]
    first = await sdk(client.payment.refund, payment_id, {"amount": 10_000, "speed": "optimum", "receipt": "CN-1"})
    assert (first["amount"], first["speed_requested"], first["speed_processed"], first["receipt"]) == (
        10_000,
        "optimum",
        "instant",
        "CN-1",
    )
    payment = await sdk(client.payment.fetch, payment_id)
    assert (payment["status"], payment["amount_refunded"], payment["refund_status"]) == ("captured", 10_000, "partial")

    assert (
        await refused(BadRequestError, client.payment.refund, payment_id, {"amount": 60_000})
        == "The refund amount provided is greater than amount captured"
    )
    assert (
        await refused(BadRequestError, client.payment.refund, payment_id, {"amount": 45_000})
        == "The total refund amount is greater than the refund payment amount"
    )
    assert (
        await refused(BadRequestError, client.payment.refund, payment_id, {"amount": 99})
        == "The amount must be at least INR 1.00"
    )
    assert (
        await refused(BadRequestError, client.payment.refund, payment_id, {"amount": 1000, "speed": "warp"})
        == "The selected speed is invalid."
    )

    rest = await sdk(client.payment.refund, payment_id, {})
    assert rest["amount"] == 40_000
    payment = await sdk(client.payment.fetch, payment_id)
    assert (payment["status"], payment["amount_refunded"], payment["refund_status"]) == ("refunded", 50_000, "full")
    listed = await sdk(client.payment.fetch_multiple_refund, payment_id)
    assert listed == {"entity": "collection", "count": 2, "items": [rest, first]}
    assert await sdk(client.payment.fetch_refund_id, payment_id, first["id"]) == first


async def test_only_captured_payments_are_refunded(client: razorpay.Client, razorpay_fake: RazorpayFake) -> None:
    order = await new_order(client)
    failed_id = razorpay_fake.fail(order["id"])
    assert (
        await refused(BadRequestError, client.payment.refund, failed_id, {})
        == "The payment status should be captured for action to be taken"
    )
    assert (
        await refused(BadRequestError, client.payment.refund, "pay_AAAAAAAAAAAAAA", {})
        == "The id provided does not exist"
    )
    assert (
        await refused(BadRequestError, client.refund.fetch, "rfnd_AAAAAAAAAAAAAA") == "The id provided does not exist"
    )


# --- webhooks ---------------------------------------------------------------------------------------


async def test_webhooks_are_signed_as_the_sdk_verifies(client: razorpay.Client, razorpay_fake: RazorpayFake) -> None:
    order = await new_order(client, 40_000, notes={"account_id": "acc-7"})
    payment_id = razorpay_fake.pay(order["id"])["razorpay_payment_id"]
    body, headers = razorpay_fake.webhook("payment.captured", payment_id=payment_id)

    assert headers["Content-Type"] == "application/json"
    assert headers["X-Razorpay-Signature"] == hmac_hex(razorpay_fake.webhook_secret, body)
    secret = razorpay_fake.webhook_secret
    assert client.utility.verify_webhook_signature(body.decode(), headers["X-Razorpay-Signature"], secret) is True
    with pytest.raises(SignatureVerificationError):
        client.utility.verify_webhook_signature(
            body.decode().replace("40000", "4000000"), headers["X-Razorpay-Signature"], secret
        )
    with pytest.raises(SignatureVerificationError):
        client.utility.verify_webhook_signature(body.decode(), headers["X-Razorpay-Signature"], "another-secret")

    event = json.loads(body)
    assert set(event) == {"entity", "account_id", "event", "contains", "payload", "created_at"}
    assert (event["entity"], event["event"], event["contains"]) == ("event", "payment.captured", ["payment"])
    assert re.fullmatch(r"acc_[A-Za-z0-9]{14}", event["account_id"])
    assert event["payload"]["payment"]["entity"] == await sdk(client.payment.fetch, payment_id)

    _, again = razorpay_fake.webhook("payment.captured", payment_id=payment_id)
    assert again["X-Razorpay-Event-Id"] != headers["X-Razorpay-Event-Id"]  # every event has its own id
    _, retry = razorpay_fake.webhook("payment.captured", payment_id=payment_id, event_id=headers["X-Razorpay-Event-Id"])
    assert retry["X-Razorpay-Event-Id"] == headers["X-Razorpay-Event-Id"]


async def test_order_paid_webhook_carries_the_order_and_its_payment(
    client: razorpay.Client, razorpay_fake: RazorpayFake
) -> None:
    order = await new_order(client, 40_000)
    payment_id = razorpay_fake.pay(order["id"])["razorpay_payment_id"]
    body, headers = razorpay_fake.webhook("order.paid", order_id=order["id"])
    assert client.utility.verify_webhook_signature(
        body.decode(), headers["X-Razorpay-Signature"], razorpay_fake.webhook_secret
    )
    event = json.loads(body)
    assert event["contains"] == ["payment", "order"]
    assert event["payload"]["order"]["entity"] == await sdk(client.order.fetch, order["id"])
    assert event["payload"]["order"]["entity"]["status"] == "paid"
    assert event["payload"]["payment"]["entity"]["id"] == payment_id


async def test_payment_failed_webhook(client: razorpay.Client, razorpay_fake: RazorpayFake) -> None:
    order = await new_order(client)
    failed_id = razorpay_fake.fail(order["id"], code="GATEWAY_ERROR", description="Payment processing failed")
    body, headers = razorpay_fake.webhook("payment.failed", order_id=order["id"])
    assert client.utility.verify_webhook_signature(
        body.decode(), headers["X-Razorpay-Signature"], razorpay_fake.webhook_secret
    )
    entity = json.loads(body)["payload"]["payment"]["entity"]
    assert (entity["id"], entity["status"], entity["error_code"]) == (failed_id, "failed", "GATEWAY_ERROR")


async def test_refund_processed_webhook(client: razorpay.Client, razorpay_fake: RazorpayFake) -> None:
    order = await new_order(client, 40_000)
    payment_id = razorpay_fake.pay(order["id"])["razorpay_payment_id"]
    refund = await sdk(client.payment.refund, payment_id, {"amount": 15_000})
    body, headers = razorpay_fake.webhook("refund.processed", payment_id=payment_id)
    assert client.utility.verify_webhook_signature(
        body.decode(), headers["X-Razorpay-Signature"], razorpay_fake.webhook_secret
    )
    event = json.loads(body)
    assert (event["event"], event["contains"]) == ("refund.processed", ["refund", "payment"])
    assert event["payload"]["refund"]["entity"] == refund
    assert event["payload"]["payment"]["entity"]["amount_refunded"] == 15_000
    with pytest.raises(ValueError, match="unsupported webhook event"):
        razorpay_fake.webhook("payment.dispute.created", payment_id=payment_id)


# --- authentication, faults, unknown routes ---------------------------------------------------------


async def test_wrong_credentials_are_refused_with_razorpays_401(razorpay_fake: RazorpayFake) -> None:
    for auth in ((razorpay_fake.key_id, "wrong-secret"), ("rzp_test_someoneelse", razorpay_fake.key_secret)):
        wrong = razorpay.Client(auth=auth, base_url=razorpay_fake.base_url)
        assert (
            await refused(BadRequestError, wrong.order.create, {"amount": 1000, "currency": "INR"})
            == "Authentication failed"
        )
    assert razorpay_fake.orders == {}

    async with httpx.AsyncClient(base_url=razorpay_fake.base_url) as http:
        response = await http.get("/v1/payments/pay_AAAAAAAAAAAAAA")
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "BAD_REQUEST_ERROR",
            "description": "Authentication failed",
            "source": "NA",
            "step": "NA",
            "reason": "NA",
            "metadata": {},
        }
    }


async def test_fail_next_answers_server_errors_once(client: razorpay.Client, razorpay_fake: RazorpayFake) -> None:
    razorpay_fake.fail_next(500)
    assert await refused(ServerError, client.order.create, {"amount": 1000, "currency": "INR"}) == (
        "We are facing some trouble completing your request at the moment. Please try again shortly."
    )
    assert razorpay_fake.orders == {}
    order = await new_order(client, 1000)  # only the next call failed
    assert order["status"] == "created"

    razorpay_fake.fail_next(502, "GATEWAY_ERROR", "Gateway experienced a communication error.")
    assert await refused(GatewayError, client.order.fetch, order["id"]) == "Gateway experienced a communication error."
    razorpay_fake.fail_next(503, times=2)
    for _ in range(2):
        with pytest.raises(ServerError):
            await sdk(client.order.fetch, order["id"])
    assert (await sdk(client.order.fetch, order["id"]))["id"] == order["id"]

    razorpay_fake.fail_next(503)
    async with httpx.AsyncClient(base_url=razorpay_fake.base_url) as http:
        response = await http.get(f"/v1/orders/{order['id']}")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVER_ERROR"


async def test_unknown_route_is_razorpays_400(client: razorpay.Client, razorpay_fake: RazorpayFake) -> None:
    assert (
        await refused(BadRequestError, client.get, "/v1/settlements/ondemand/nothing", {})
        == "The requested URL was not found on the server."
    )
    async with httpx.AsyncClient(base_url=razorpay_fake.base_url) as http:
        response = await http.delete("/v1/orders")
    assert response.status_code == 400
    assert response.json()["error"]["description"] == "The requested URL was not found on the server."


async def test_reset_forgets_everything(client: razorpay.Client, razorpay_fake: RazorpayFake) -> None:
    order = await new_order(client)
    razorpay_fake.pay(order["id"])
    razorpay_fake.fail_next(500)
    razorpay_fake.reset()
    assert (razorpay_fake.orders, razorpay_fake.payments, razorpay_fake.requests) == ({}, {}, [])
    assert (await new_order(client))["status"] == "created"  # the pending fault went too
