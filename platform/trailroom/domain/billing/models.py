"""Persistence of billing: payments (one per order, stored with its quote) and the webhook events seen."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import pymongo
from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import IndexModel

from trailroom.core.clock import utcnow
from trailroom.domain.billing.pricing import Quote


class PaymentStatus(StrEnum):
    CREATED = "created"  # an order exists; nothing paid yet
    FAILED = "failed"  # the last attempt failed; the order can still be paid
    PAID = "paid"  # captured: credits added, invoice issued
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


# The states in which credits were granted (so a refund may follow).
SETTLED = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)


class GatewayMode(StrEnum):
    LIVE = "live"  # Razorpay
    TEST = "test"  # the local test-mode checkout: no money moves


class PriceBreakdown(BaseModel):
    """The order's quote as stored (percentages as strings, so nothing is lost to floats)."""

    credits: int
    currency: str
    unit_price: int
    subtotal: int
    discount_percent: str
    discount: int
    taxable: int
    tax_percent: str
    tax: int
    amount: int

    @classmethod
    def of(cls, quote: Quote) -> PriceBreakdown:
        return cls(
            credits=quote.credits,
            currency=quote.currency,
            unit_price=quote.unit_price,
            subtotal=quote.subtotal,
            discount_percent=str(quote.discount_percent),
            discount=quote.discount,
            taxable=quote.taxable,
            tax_percent=str(quote.tax_percent),
            tax=quote.tax,
            amount=quote.amount,
        )

    def quote(self) -> Quote:
        return Quote(
            credits=self.credits,
            currency=self.currency,
            unit_price=self.unit_price,
            subtotal=self.subtotal,
            discount_percent=Decimal(self.discount_percent),
            discount=self.discount,
            taxable=self.taxable,
            tax_percent=Decimal(self.tax_percent),
            tax=self.tax,
            amount=self.amount,
        )


class Refund(BaseModel):
    refund_id: str  # the gateway's
    amount: int  # smallest currency unit
    credits_reclaimed: int
    reason: str = ""
    actor: str | None = None  # the staff member; None when it came from the gateway's side
    created_at: datetime = Field(default_factory=utcnow)


class Payment(Document):
    account_id: PydanticObjectId
    order_id: str  # the gateway's order id; unique
    receipt: str  # ours, sent with the order (at most 40 characters)
    mode: GatewayMode
    price: PriceBreakdown
    status: PaymentStatus = PaymentStatus.CREATED
    gateway_payment_id: str | None = None
    method: str | None = None
    failure_code: str | None = None
    failure_reason: str | None = None
    failed_payment_ids: list[str] = Field(default_factory=list)  # attempts already mailed about
    invoice_id: PydanticObjectId | None = None
    invoice_number: str | None = None
    amount_refunded: int = 0
    refund_pending: int = 0  # reserved by refunds sent to the gateway and not yet recorded
    refunds: list[Refund] = Field(default_factory=list)
    receipt_sent: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    paid_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "payments"
        indexes = [
            IndexModel([("order_id", pymongo.ASCENDING)], unique=True, name="order_unique"),
            IndexModel(
                [("account_id", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING), ("_id", pymongo.DESCENDING)],
                name="account_history",
            ),
            IndexModel([("status", pymongo.ASCENDING), ("receipt_sent", pymongo.ASCENDING)], name="receipts_due"),
        ]

    @property
    def refundable(self) -> int:
        return self.price.amount - self.amount_refunded - self.refund_pending


class GatewayEvent(Document):
    """A webhook event already handled (Razorpay delivers at least once), kept for a month."""

    event_id: str
    type: str
    received_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "gateway_events"
        indexes = [
            IndexModel([("event_id", pymongo.ASCENDING)], unique=True, name="event_unique"),
            IndexModel([("received_at", pymongo.ASCENDING)], expireAfterSeconds=30 * 86400, name="expiry"),
        ]
