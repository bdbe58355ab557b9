"""Shapes of the pricing and payments API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from trailroom.domain.billing.models import Payment, PriceBreakdown, Refund
from trailroom.domain.billing.pricing import MAX_CUSTOM_CREDITS, MIN_CUSTOM_CREDITS, Quote

# Razorpay's ids are short; a generous bound keeps junk out of our queries and logs.
GatewayId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$")]


class QuoteResponse(msgspec.Struct):
    credits: int
    currency: str
    unit_price: int
    subtotal: int
    discount_percent: float
    discount: int
    taxable: int
    tax_percent: float
    tax: int
    amount: int

    @classmethod
    def of(cls, q: Quote) -> QuoteResponse:
        return cls(
            credits=q.credits,
            currency=q.currency,
            unit_price=q.unit_price,
            subtotal=q.subtotal,
            discount_percent=float(q.discount_percent),
            discount=q.discount,
            taxable=q.taxable,
            tax_percent=float(q.tax_percent),
            tax=q.tax,
            amount=q.amount,
        )

    @classmethod
    def of_price(cls, price: PriceBreakdown) -> QuoteResponse:
        return cls.of(price.quote())


class PlansResponse(msgspec.Struct):
    currency: str
    unit_price: int
    tax_percent: float
    min_credits: int
    max_credits: int
    fixed_plan: QuoteResponse


class CreateOrderRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The fixed plan (`plan: "fixed"`) or a custom number of credits: exactly one."""

    plan: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    credits: Annotated[int, msgspec.Meta(ge=MIN_CUSTOM_CREDITS, le=MAX_CUSTOM_CREDITS)] | None = None


class Prefill(msgspec.Struct):
    name: str
    email: str


class OrderResponse(msgspec.Struct):
    """What the page needs to open Razorpay Checkout (or the local test-mode checkout)."""

    payment_id: str
    order_id: str
    mode: str  # live | test
    key_id: str
    amount: int
    currency: str
    price: QuoteResponse
    name: str
    description: str
    prefill: Prefill
    test_checkout_url: str | None  # test mode only: the local checkout page


class VerifyRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Exactly what Razorpay Checkout hands the page's handler."""

    razorpay_order_id: GatewayId
    razorpay_payment_id: GatewayId
    razorpay_signature: Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[0-9a-fA-F]+$")]


class RefundResponse(msgspec.Struct):
    refund_id: str
    amount: int
    credits_reclaimed: int
    reason: str
    created_at: datetime

    @classmethod
    def of(cls, refund: Refund) -> RefundResponse:
        return cls(
            refund_id=refund.refund_id,
            amount=refund.amount,
            credits_reclaimed=refund.credits_reclaimed,
            reason=refund.reason,
            created_at=refund.created_at,
        )


class PaymentResponse(msgspec.Struct):
    id: str
    order_id: str
    status: str  # created | failed | paid | partially_refunded | refunded
    mode: str
    credits: int
    amount: int
    currency: str
    price: QuoteResponse
    gateway_payment_id: str | None
    method: str | None
    failure_reason: str | None
    invoice_id: str | None
    invoice_number: str | None
    amount_refunded: int
    refunds: list[RefundResponse]
    created_at: datetime
    paid_at: datetime | None

    @classmethod
    def of(cls, payment: Payment) -> PaymentResponse:
        return cls(
            id=str(payment.id),
            order_id=payment.order_id,
            status=str(payment.status),
            mode=str(payment.mode),
            credits=payment.price.credits,
            amount=payment.price.amount,
            currency=payment.price.currency,
            price=QuoteResponse.of_price(payment.price),
            gateway_payment_id=payment.gateway_payment_id,
            method=payment.method,
            failure_reason=payment.failure_reason,
            invoice_id=str(payment.invoice_id) if payment.invoice_id else None,
            invoice_number=payment.invoice_number,
            amount_refunded=payment.amount_refunded,
            refunds=[RefundResponse.of(r) for r in payment.refunds],
            created_at=payment.created_at,
            paid_at=payment.paid_at,
        )


class PaymentList(msgspec.Struct):
    data: list[PaymentResponse]
    next_cursor: str | None


class RefundRequest(msgspec.Struct, forbid_unknown_fields=True):
    """`amount` in the smallest currency unit; left out, the rest of the payment is refunded."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    amount: Annotated[int, msgspec.Meta(ge=1)] | None = None


class WebhookEvent(msgspec.Struct):
    """A Razorpay webhook event (the fields read; the body is verified as sent, byte for byte)."""

    entity: str
    event: str
    payload: dict[str, Any]
    created_at: int | None = None


class WebhookAnswer(msgspec.Struct):
    outcome: str  # settled | failure_recorded | refund_recorded | duplicate | ignored | mismatch
