"""Billing page: a placeholder until purchases land that says so, with the balance and real prices."""

from __future__ import annotations

from decimal import Decimal

from tests.web.conftest import FormBrowser
from trailroom.domain.billing.pricing import quote
from trailroom.web.templating import money


async def test_billing_says_it_is_coming_and_shows_real_prices(signed_in: FormBrowser) -> None:
    page = await signed_in.get("/app/billing")
    assert page.status_code == 200
    assert "Buying credits is coming soon." in page.text
    fixed = quote(2100, unit_price=400, currency="INR", tax_percent=Decimal(18))
    assert money(fixed.amount) in page.text
    assert f"{fixed.discount_percent} %" in page.text
    top = quote(50_000, unit_price=400, currency="INR", tax_percent=Decimal(18))
    assert money(top.amount) in page.text
    assert "25.00 %" in page.text
    assert "Checkout opens with billing" in page.text
