"""The pricing rules: one place that says what a number of credits costs.

Amounts are integers in the currency's smallest unit (paise for INR) so nothing is lost to
floating point. The discount is 0% below the fixed plan's 2,100 credits, 10% at 2,100, then rises
linearly to 25% at 50,000; custom purchases are 300-50,000 credits. GST is charged on the
discounted amount. `Quote` is the one amount breakdown: the quote endpoint, every page, the order
(stored with its quote) and the invoice all show these figures, never recompute them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from trailroom.core.config import Settings
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


def _percent_of(amount: int, percent: Decimal) -> int:
    """`percent` of an amount in whole paise, half up (as invoices round)."""
    return int((Decimal(amount) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Quote:
    credits: int
    currency: str
    unit_price: int  # per credit before discount, smallest currency unit
    subtotal: int  # credits x unit price
    discount_percent: Decimal
    discount: int
    taxable: int  # subtotal - discount: what tax is charged on
    tax_percent: Decimal
    tax: int
    amount: int  # what the buyer pays: taxable + tax


@dataclass(frozen=True)
class PriceList:
    """The prices of this installation (from settings): `price_list.quote(credits)`."""

    unit_price: int
    currency: str
    tax_percent: Decimal

    @classmethod
    def of(cls, settings: Settings) -> PriceList:
        return cls(unit_price=settings.credit_unit_price, currency=settings.currency, tax_percent=settings.gst_percent)

    def quote(self, credits: int) -> Quote:
        return quote(credits, unit_price=self.unit_price, currency=self.currency, tax_percent=self.tax_percent)


def quote(credits: int, *, unit_price: int, currency: str, tax_percent: Decimal = Decimal(0)) -> Quote:
    """The price of a custom purchase; refuses amounts outside 300-50,000 credits."""
    if not MIN_CUSTOM_CREDITS <= credits <= MAX_CUSTOM_CREDITS:
        raise InvalidInput(
            f"Buy between {MIN_CUSTOM_CREDITS} and {MAX_CUSTOM_CREDITS} credits at once.",
            code="credits_out_of_range",
        )
    subtotal = credits * unit_price
    percent = discount_percent(credits)
    discount = _percent_of(subtotal, percent)
    taxable = subtotal - discount
    tax = _percent_of(taxable, tax_percent)
    return Quote(
        credits=credits,
        currency=currency,
        unit_price=unit_price,
        subtotal=subtotal,
        discount_percent=percent,
        discount=discount,
        taxable=taxable,
        tax_percent=tax_percent,
        tax=tax,
        amount=taxable + tax,
    )
