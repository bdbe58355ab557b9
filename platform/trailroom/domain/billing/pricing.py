"""The pricing rules: one place that says what a number of credits costs.

Amounts are integers in the currency's smallest unit (paise for INR) so nothing is lost to
floating point. The discount is 0% below the fixed plan's 2,100 credits, 10% at 2,100, then rises
linearly to 25% at 50,000; custom purchases are 300-50,000 credits.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from trailroom.core.errors import InvalidInput

FIXED_PLAN_CREDITS = 2100
MIN_CUSTOM_CREDITS = 300
MAX_CUSTOM_CREDITS = 50_000
BASE_DISCOUNT_PERCENT = Decimal(10)
MAX_DISCOUNT_PERCENT = Decimal(25)


def discount_percent(credits: int) -> Decimal:
    """The discount in percent (two decimals) for buying `credits` at once."""
    if credits < FIXED_PLAN_CREDITS:
        return Decimal(0)
    span = Decimal(credits - FIXED_PLAN_CREDITS) / Decimal(MAX_CUSTOM_CREDITS - FIXED_PLAN_CREDITS)
    percent = min(BASE_DISCOUNT_PERCENT + span * (MAX_DISCOUNT_PERCENT - BASE_DISCOUNT_PERCENT), MAX_DISCOUNT_PERCENT)
    return percent.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Quote:
    credits: int
    currency: str
    unit_price: int  # per credit before discount, smallest currency unit
    subtotal: int
    discount_percent: Decimal
    discount: int
    amount: int  # what the buyer pays


def quote(credits: int, *, unit_price: int, currency: str) -> Quote:
    """The price of a custom purchase; refuses amounts outside 300-50,000 credits."""
    if not MIN_CUSTOM_CREDITS <= credits <= MAX_CUSTOM_CREDITS:
        raise InvalidInput(
            f"Buy between {MIN_CUSTOM_CREDITS} and {MAX_CUSTOM_CREDITS} credits at once.",
            code="credits_out_of_range",
        )
    subtotal = credits * unit_price
    percent = discount_percent(credits)
    discount = int((Decimal(subtotal) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return Quote(
        credits=credits,
        currency=currency,
        unit_price=unit_price,
        subtotal=subtotal,
        discount_percent=percent,
        discount=discount,
        amount=subtotal - discount,
    )
