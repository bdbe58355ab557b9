"""Test mode: a local stand-in for Razorpay, so a fresh install can buy credits end to end.

No money moves. Orders and payments live in our database; the local checkout page "pays" an order
and hands the browser exactly the fields Razorpay Checkout posts, signed exactly as Razorpay signs
(HMAC-SHA256 of `order_id|payment_id` with the key secret), and Razorpay-shaped webhooks, signed
with the webhook secret, are posted to our own webhook endpoint by a job. So the verify and webhook
code that runs in test mode is the code that runs live.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import string
from datetime import datetime
from typing import Any

import httpx
import pymongo
from beanie import Document
from pydantic import BaseModel, Field
from pymongo import IndexModel
from saq import Queue

from trailroom.core.clock import utcnow
from trailroom.core.errors import InvalidInput, NotFound
from trailroom.domain.billing.gateway import (
    GatewayOrder,
    GatewayPayment,
    GatewayRefund,
    GatewayRefused,
    GatewayUnavailable,
    SignatureChecks,
)
from trailroom.domain.billing.models import GatewayMode

TEST_KEY_ID = "rzp_test_trailroom_local"
DELIVER_TEST_WEBHOOK_JOB = "deliver_test_mode_webhook"
_ALPHANUM = string.ascii_letters + string.digits


def gateway_id(prefix: str) -> str:
    """An id shaped like Razorpay's: `order_` / `pay_` / `rfnd_` and 14 letters or digits."""
    return prefix + "".join(secrets.choice(_ALPHANUM) for _ in range(14))


def test_key_secret(secret_key: str) -> str:
    """The test gateway's key secret, derived from the installation's secret (stable across restarts)."""
    return hmac.new(secret_key.encode(), b"trailroom-test-mode-key-secret", hashlib.sha256).hexdigest()


def checkout_signature(key_secret: str, order_id: str, payment_id: str) -> str:
    return hmac.new(key_secret.encode(), f"{order_id}|{payment_id}".encode(), hashlib.sha256).hexdigest()


class TestModePayment(BaseModel):
    id: str
    amount: int
    currency: str
    status: str  # captured | failed | refunded
    method: str = "card"
    amount_refunded: int = 0
    error_code: str | None = None
    error_description: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class TestModeOrder(Document):
    order_id: str
    amount: int
    currency: str
    receipt: str
    notes: dict[str, str]
    status: str = "created"  # created | attempted | paid
    payments: list[TestModePayment] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "test_mode_orders"
        indexes = [
            IndexModel([("order_id", pymongo.ASCENDING)], unique=True, name="order_unique"),
            IndexModel([("payments.id", pymongo.ASCENDING)], name="payment_id"),
        ]


def payment_entity(order: TestModeOrder, payment: TestModePayment) -> dict[str, Any]:
    """The payment as Razorpay's API and webhooks show it (the fields we and merchants read)."""
    refund_status = None
    if payment.amount_refunded:
        refund_status = "full" if payment.amount_refunded >= payment.amount else "partial"
    return {
        "id": payment.id,
        "entity": "payment",
        "amount": payment.amount,
        "currency": payment.currency,
        "status": payment.status,
        "order_id": order.order_id,
        "method": payment.method,
        "amount_refunded": payment.amount_refunded,
        "refund_status": refund_status,
        "captured": payment.status in ("captured", "refunded"),
        "notes": order.notes,
        "error_code": payment.error_code,
        "error_description": payment.error_description,
        "created_at": int(payment.created_at.timestamp()),
    }


class TestModeGateway(SignatureChecks):
    mode = GatewayMode.TEST

    def __init__(
        self, *, secret_key: str, webhook_secret: str, webhook_url: str, queue: Queue, http: httpx.AsyncClient
    ):
        self.key_id = TEST_KEY_ID
        self._key_secret = test_key_secret(secret_key)  # signs what the test checkout posts
        super().__init__(self.key_id, self._key_secret, webhook_secret)
        self.webhook_url = webhook_url
        self._queue = queue
        self._http = http

    # -- the gateway API -----------------------------------------------------------------------

    async def create_order(self, *, amount: int, currency: str, receipt: str, notes: dict[str, str]) -> GatewayOrder:
        order = TestModeOrder(
            order_id=gateway_id("order_"), amount=amount, currency=currency, receipt=receipt, notes=notes
        )
        await order.insert()
        return GatewayOrder(id=order.order_id, amount=amount, currency=currency)

    async def _order_with_payment(self, payment_id: str) -> tuple[TestModeOrder, TestModePayment]:
        order = await TestModeOrder.find_one({"payments.id": payment_id})
        if order is None:
            raise GatewayRefused("The id provided does not exist")
        return order, next(p for p in order.payments if p.id == payment_id)

    async def fetch_payment(self, payment_id: str) -> GatewayPayment:
        order, payment = await self._order_with_payment(payment_id)
        return GatewayPayment.of(payment_entity(order, payment))

    async def capture(self, payment_id: str, amount: int, currency: str) -> GatewayPayment:
        return await self.fetch_payment(payment_id)  # test payments are captured when paid

    async def refund(self, payment_id: str, amount: int, notes: dict[str, str]) -> GatewayRefund:
        order, payment = await self._order_with_payment(payment_id)
        if payment.status not in ("captured", "refunded"):
            raise GatewayRefused("Only captured payments can be refunded")
        if payment.amount_refunded + amount > payment.amount:
            raise GatewayRefused("The refund amount provided is greater than amount captured")
        refunded = payment.amount_refunded + amount
        # Conditional on the amount refunded so far, so two refunds at once cannot both pass the check.
        updated = await TestModeOrder.get_pymongo_collection().update_one(
            {
                "_id": order.id,
                "payments": {"$elemMatch": {"id": payment_id, "amount_refunded": payment.amount_refunded}},
            },
            {
                "$set": {
                    "payments.$.amount_refunded": refunded,
                    "payments.$.status": "refunded" if refunded >= payment.amount else payment.status,
                }
            },
        )
        if updated.modified_count != 1:
            raise GatewayUnavailable("Another refund of this payment was being recorded; try again.")
        payment.amount_refunded = refunded
        refund = GatewayRefund(id=gateway_id("rfnd_"), payment_id=payment_id, amount=amount, status="processed")
        refund_entity = {
            "id": refund.id,
            "entity": "refund",
            "amount": amount,
            "currency": payment.currency,
            "payment_id": payment_id,
            "notes": notes,
            "status": "processed",
            "speed_processed": "normal",
            "created_at": int(utcnow().timestamp()),
        }
        await self._send_webhook("refund.processed", {"refund": {"entity": refund_entity}}, order, payment)
        return refund

    # -- what the local checkout page does ------------------------------------------------------

    async def order(self, order_id: str) -> TestModeOrder:
        order = await TestModeOrder.find_one(TestModeOrder.order_id == order_id)
        if order is None:
            raise NotFound("No such order.", code="order_not_found")
        return order

    async def pay(self, order_id: str) -> dict[str, str]:
        """Pay the order in full, as a shopper would on Razorpay Checkout; returns what Checkout
        posts to the page's handler."""
        order = await self.order(order_id)
        if order.status == "paid":
            raise InvalidInput("This order is already paid.", code="order_already_paid")
        payment = TestModePayment(
            id=gateway_id("pay_"), amount=order.amount, currency=order.currency, status="captured"
        )
        await TestModeOrder.get_pymongo_collection().update_one(
            {"_id": order.id}, {"$push": {"payments": payment.model_dump()}, "$set": {"status": "paid"}}
        )
        order.payments.append(payment)
        order_entity = {
            "id": order.order_id,
            "entity": "order",
            "amount": order.amount,
            "amount_paid": order.amount,
            "amount_due": 0,
            "currency": order.currency,
            "receipt": order.receipt,
            "status": "paid",
            "notes": order.notes,
        }
        await self._send_webhook("payment.captured", {}, order, payment)
        await self._send_webhook("order.paid", {"order": {"entity": order_entity}}, order, payment)
        return {
            "razorpay_payment_id": payment.id,
            "razorpay_order_id": order.order_id,
            "razorpay_signature": checkout_signature(self._key_secret, order.order_id, payment.id),
        }

    async def fail(self, order_id: str, reason: str = "The test card was declined.") -> str:
        """A failed attempt on the order (the order stays payable, as on Razorpay)."""
        order = await self.order(order_id)
        payment = TestModePayment(
            id=gateway_id("pay_"),
            amount=order.amount,
            currency=order.currency,
            status="failed",
            error_code="BAD_REQUEST_ERROR",
            error_description=reason,
        )
        await TestModeOrder.get_pymongo_collection().update_one(
            {"_id": order.id}, {"$push": {"payments": payment.model_dump()}, "$set": {"status": "attempted"}}
        )
        await self._send_webhook("payment.failed", {}, order, payment)
        return payment.id

    # -- webhooks ----------------------------------------------------------------------------------

    async def _send_webhook(
        self, event: str, extra: dict[str, Any], order: TestModeOrder, payment: TestModePayment
    ) -> None:
        payload = {"payment": {"entity": payment_entity(order, payment)}, **extra}
        body = json.dumps(
            {
                "entity": "event",
                "account_id": "acc_TrailRoomTest",
                "event": event,
                "contains": list(payload),
                "payload": payload,
                "created_at": int(utcnow().timestamp()),
            }
        )
        event_id = gateway_id("evt_")
        await self._queue.enqueue(
            DELIVER_TEST_WEBHOOK_JOB, key=f"test-webhook:{event_id}", body=body, event_id=event_id, retries=5
        )

    async def deliver_webhook(self, body: str, event_id: str) -> int:
        """POST one webhook to our endpoint, signed as Razorpay signs (the job's body)."""
        signature = hmac.new(self._webhook_secret.encode(), body.encode(), hashlib.sha256).hexdigest()
        response = await self._http.post(
            self.webhook_url,
            content=body.encode(),
            headers={
                "Content-Type": "application/json",
                "X-Razorpay-Signature": signature,
                "X-Razorpay-Event-Id": event_id,
            },
        )
        response.raise_for_status()  # SAQ retries the job
        return response.status_code
