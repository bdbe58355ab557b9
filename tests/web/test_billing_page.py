"""Billing pages without JavaScript: plans and prices, checkout in test mode (labelled), the return
that verifies, a declined attempt, the payment's page and the history."""

from __future__ import annotations

import re
from decimal import Decimal

from tests.web.conftest import FormBrowser
from trailroom.domain.accounts.models import User
from trailroom.domain.billing.models import Payment
from trailroom.domain.billing.pricing import quote
from trailroom.web.security import CONTENT_SECURITY_POLICY
from trailroom.web.templating import money

HIDDEN = re.compile(r'<input type="hidden" name="(razorpay_[a-z_]+)" value="([^"]+)">')


async def test_billing_shows_plans_prices_and_test_mode(signed_in: FormBrowser) -> None:
    page = await signed_in.get("/app/billing")
    assert page.status_code == 200
    assert "TEST MODE" in page.text
    fixed = quote(2100, unit_price=400, currency="INR", tax_percent=Decimal(18))
    assert money(fixed.amount) in page.text
    assert money(fixed.tax) in page.text  # GST shown on the plan's breakdown
    top = quote(50_000, unit_price=400, currency="INR", tax_percent=Decimal(18))
    assert money(top.amount) in page.text
    assert "Buy the Growth plan" in page.text
    assert "No payments yet." in page.text
    assert "coming soon" not in page.text


async def buy(browser: FormBrowser, data: dict[str, str]) -> str:
    """Post the billing page's form; returns the checkout page's path."""
    response = await browser.post_form("/app/billing/checkout", data, from_page="/app/billing")
    assert response.status_code == 303, response.text
    return response.headers["location"]


async def test_buying_through_the_test_checkout(signed_in: FormBrowser) -> None:
    checkout = await buy(signed_in, {"credits": "1,500"})
    assert checkout.startswith("/app/billing/checkout/order_")
    page = await signed_in.get(checkout)
    assert page.status_code == 200
    assert "TEST MODE" in page.text
    expected = quote(1500, unit_price=400, currency="INR", tax_percent=Decimal(18))
    assert money(expected.amount) in page.text
    # The test checkout needs no third-party script: the page keeps the strict policy.
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY

    paid = await signed_in.post_form(f"{checkout}/test-pay", {}, from_page=checkout)
    assert paid.status_code == 200
    fields = dict(HIDDEN.findall(paid.text))
    assert set(fields) == {"razorpay_order_id", "razorpay_payment_id", "razorpay_signature"}
    assert checkout.endswith(fields["razorpay_order_id"])

    done = await signed_in.post_form("/app/billing/return", fields, from_page=checkout)
    assert done.status_code == 303
    assert done.headers["location"].startswith("/app/billing/payments/")
    receipt = await signed_in.get(done.headers["location"])
    assert "1,500 credits were added to your account" in receipt.text
    assert "Paid." in receipt.text
    user = await User.find_one(User.email == "shopper@example.com")
    assert user is not None
    assert user.purchased_credits == 1500
    assert user.is_paying

    # Posting the same fields again adds nothing; the history lists the payment once.
    again = await signed_in.post_form("/app/billing/return", fields, from_page="/app/billing")
    assert again.status_code == 303
    user = await User.find_one(User.email == "shopper@example.com")
    assert user is not None
    assert user.purchased_credits == 1500
    billing = await signed_in.get("/app/billing")
    assert billing.text.count('href="/app/billing/payments/') == 1
    # A paid order's checkout page leads to the payment, not to paying again.
    revisit = await signed_in.get(checkout)
    assert revisit.status_code == 303


async def test_a_declined_test_payment_can_be_retried(signed_in: FormBrowser) -> None:
    checkout = await buy(signed_in, {"plan": "fixed"})
    declined = await signed_in.post_form(f"{checkout}/test-fail", {}, from_page=checkout)
    assert declined.status_code == 303
    page = await signed_in.get(declined.headers["location"])
    assert "the test card was declined" in page.text
    paid = await signed_in.post_form(f"{checkout}/test-pay", {}, from_page=checkout)
    fields = dict(HIDDEN.findall(paid.text))
    done = await signed_in.post_form("/app/billing/return", fields, from_page=checkout)
    assert done.headers["location"].startswith("/app/billing/payments/")
    user = await User.find_one(User.email == "shopper@example.com")
    assert user is not None
    assert user.purchased_credits == 2100


async def test_bad_purchases_and_forged_returns_change_nothing(signed_in: FormBrowser) -> None:
    for credits in ("10", "many", "60000"):
        response = await signed_in.post_form("/app/billing/checkout", {"credits": credits}, from_page="/app/billing")
        assert response.status_code == 303
        assert response.headers["location"] == "/app/billing"
    assert await Payment.count() == 0
    checkout = await buy(signed_in, {"credits": "300"})
    paid = await signed_in.post_form(f"{checkout}/test-pay", {}, from_page=checkout)
    fields = dict(HIDDEN.findall(paid.text))
    forged = {**fields, "razorpay_signature": "0" * 64}
    response = await signed_in.post_form("/app/billing/return", forged, from_page=checkout)
    assert response.headers["location"] == "/app/billing"
    page = await signed_in.get("/app/billing")
    assert "signature does not match" in page.text
    user = await User.find_one(User.email == "shopper@example.com")
    assert user is not None
    assert user.purchased_credits == 0
