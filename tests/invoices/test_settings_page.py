"""The "Billing details" form on the settings page, as a browser without JavaScript posts it: saved
and shown again, refused with the field's message (nothing saved), and refused without its CSRF token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.helpers import register
from tests.web.conftest import FormBrowser
from tests.web.page_forms import form_token, post_page_form
from trailroom.domain.accounts.models import User
from trailroom.domain.invoices.details import BillingDetails

ACTION = "/app/settings/billing"
FORM = {
    "name": "Asha Retail LLP",
    "address_line1": "12 Linking Road",
    "address_line2": "",
    "city": "Mumbai",
    "state": "Maharashtra",
    "postal_code": "400050",
    "country": "IN",
    "gstin": "27AAPFU0939F1ZV",
}


@pytest.fixture
async def browser(base_url: str) -> AsyncIterator[FormBrowser]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        yield FormBrowser(http)


async def billing_of(email: str) -> BillingDetails | None:
    user = await User.find_one(User.email == email)
    assert user is not None
    return user.billing


async def test_billing_details_form(browser: FormBrowser, client: httpx.AsyncClient) -> None:
    await register(client, "shopper@example.com", name="Sam Shopper")
    await browser.sign_in("shopper@example.com")
    page = await browser.get("/app/settings")
    assert 'id="billing-details"' in page.text
    assert form_token(page.text, ACTION)

    bad = await post_page_form(browser, "/app/settings", ACTION, {**FORM, "gstin": "27AAPFU0939F1ZW"})
    assert bad.status_code == 422
    assert "check character does not match" in bad.text
    assert 'value="Asha Retail LLP"' in bad.text  # what was typed stays in the form
    assert await billing_of("shopper@example.com") is None

    saved = await post_page_form(browser, "/app/settings", ACTION, FORM)
    assert saved.status_code == 303
    assert saved.headers["location"] == "/app/settings#billing-details"
    details = await billing_of("shopper@example.com")
    assert details is not None
    assert details.gstin == "27AAPFU0939F1ZV"
    shown = await browser.get("/app/settings")
    assert "Your billing details are saved." in shown.text
    assert 'value="27AAPFU0939F1ZV"' in shown.text
    assert 'value="400050"' in shown.text

    forged = await browser.http.post(ACTION, data={**FORM, "name": "Forged", "csrf_token": "forged"})
    assert forged.status_code in (400, 403)
    after = await billing_of("shopper@example.com")
    assert after is not None
    assert after.name == "Asha Retail LLP"
