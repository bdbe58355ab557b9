"""Public pricing endpoints: the plans and a quote for any custom amount (used by the calculator)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from trailroom.core.config import Settings
from trailroom.domain.billing.pricing import (
    FIXED_PLAN_CREDITS,
    MAX_CUSTOM_CREDITS,
    MIN_CUSTOM_CREDITS,
    PriceList,
    Quote,
)
from trailroom.server.contract import PROBLEMS


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


class PlansResponse(msgspec.Struct):
    currency: str
    unit_price: int
    tax_percent: float
    min_credits: int
    max_credits: int
    fixed_plan: QuoteResponse


class PricingController(Controller):
    path = "/api/v1/pricing"
    tags = ["Pricing"]

    @get("/plans", summary="The fixed plan and the custom range, amounts in the currency's smallest unit")
    async def plans(self, settings: NamedDependency[Settings]) -> PlansResponse:
        fixed = PriceList.of(settings).quote(FIXED_PLAN_CREDITS)
        return PlansResponse(
            currency=settings.currency,
            unit_price=settings.credit_unit_price,
            tax_percent=float(settings.gst_percent),
            min_credits=MIN_CUSTOM_CREDITS,
            max_credits=MAX_CUSTOM_CREDITS,
            fixed_plan=QuoteResponse.of(fixed),
        )

    @get(
        "/calculate",
        summary="What a purchase of `credits` costs, with its discount",
        opt={PROBLEMS: {422: ("credits_out_of_range",)}},
    )
    async def calculate(
        self,
        settings: NamedDependency[Settings],
        # The range is the pricing rule's (422 credits_out_of_range); `schema_extra` states it in the document.
        credits: Annotated[
            int, QueryParameter(schema_extra={"minimum": MIN_CUSTOM_CREDITS, "maximum": MAX_CUSTOM_CREDITS})
        ],
    ) -> QuoteResponse:
        return QuoteResponse.of(PriceList.of(settings).quote(credits))
