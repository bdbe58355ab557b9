"""Pricing rules: the discount curve, integer amounts, and the public endpoints."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from trailroom.core.errors import InvalidInput
from trailroom.domain.billing.pricing import discount_percent, quote


@pytest.mark.parametrize(
    ("credits", "percent"),
    [(300, "0"), (2099, "0"), (2100, "10"), (26050, "17.50"), (50000, "25"), (49999, "25.00")],
)
def test_discount_follows_the_published_curve(credits: int, percent: str) -> None:
    assert discount_percent(credits) == Decimal(percent)


def test_quote_is_in_whole_paise_and_adds_up() -> None:
    q = quote(5000, unit_price=400, currency="INR")
    assert q.subtotal == 2_000_000
    assert q.discount_percent == Decimal("10.91")
    assert q.discount == 218_200
    assert q.taxable == q.amount == q.subtotal - q.discount == 1_781_800
    assert q.tax == 0


def test_tax_is_charged_on_the_discounted_amount_half_up() -> None:
    q = quote(5000, unit_price=400, currency="INR", tax_percent=Decimal(18))
    assert q.taxable == 1_781_800
    assert q.tax_percent == Decimal(18)
    assert q.tax == 320_724  # 18 % of 1,781,800 paise
    assert q.amount == q.taxable + q.tax == 2_102_524
    odd = quote(301, unit_price=333, currency="INR", tax_percent=Decimal("12.5"))
    assert odd.tax == 12_529  # 12.5 % of 100,233 = 12,529.125, rounded half up to whole paise


@pytest.mark.parametrize("credits", [0, 299, 50001, -5])
def test_quote_refuses_amounts_outside_the_custom_range(credits: int) -> None:
    with pytest.raises(InvalidInput):
        quote(credits, unit_price=400, currency="INR")


async def test_pricing_endpoints(client: httpx.AsyncClient) -> None:
    plans = (await client.get("/api/v1/pricing/plans")).json()
    assert plans["fixed_plan"]["credits"] == 2100
    assert plans["fixed_plan"]["discount_percent"] == 10.0
    assert plans["fixed_plan"]["taxable"] == 2100 * 400 * 9 // 10
    assert plans["tax_percent"] == plans["fixed_plan"]["tax_percent"] == 18.0
    assert plans["fixed_plan"]["tax"] == 2100 * 400 * 9 // 10 * 18 // 100
    assert plans["fixed_plan"]["amount"] == plans["fixed_plan"]["taxable"] + plans["fixed_plan"]["tax"]
    assert (plans["min_credits"], plans["max_credits"]) == (300, 50000)

    calc = (await client.get("/api/v1/pricing/calculate", params={"credits": 50000})).json()
    assert calc["taxable"] == 50000 * 400 * 3 // 4
    assert calc["amount"] == calc["taxable"] * 118 // 100

    bad = await client.get("/api/v1/pricing/calculate", params={"credits": 10})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["code"] == "credits_out_of_range"
    missing = await client.get("/api/v1/pricing/calculate")
    assert missing.status_code == 400
