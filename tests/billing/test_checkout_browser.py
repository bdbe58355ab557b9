"""A shopper buys credits in Chromium through the test-mode checkout: the calculator prices live,
the test checkout pays, the balance changes, the invoice PDF downloads, the receipt is in the dev
outbox. Screenshots at 1280 and 360 px, light and dark (test-artifacts/billing/)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from playwright.async_api import Page, expect
from pypdf import PdfReader

from tests.browser import ARTIFACTS, launched_chromium
from tests.conftest import running_workers
from tests.helpers import PASSWORD, register
from trailroom.domain.mail.models import OutgoingMail
from trailroom.domain.services import Services

SHOTS = ARTIFACTS / "billing"
pytestmark = pytest.mark.browser


async def shoot(page: Page, name: str) -> None:
    path = SHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000


async def test_buying_credits_in_the_browser(client: httpx.AsyncClient, base_url: str, services: Services) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await register(client, "browser-buyer@example.com", name="Asha Buyer")
    async with running_workers(services), launched_chromium() as chromium:
        context = await chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page = await context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on(
            "console",
            lambda m: problems.append(m.text) if "Content Security Policy" in m.text or m.type == "error" else None,
        )
        await page.goto(f"{base_url}/login?next=/app/billing")
        await page.fill("#f-email", "browser-buyer@example.com")
        await page.fill("#f-password", PASSWORD)
        await page.click("#main button[type=submit]")
        await page.wait_for_url("**/app/billing")
        await expect(page.locator("[data-test-mode]")).to_contain_text("TEST MODE")
        free = services.credits.free_daily
        await expect(page.locator("[data-balance]")).to_have_text(str(free))
        await shoot(page, "billing-1280-light")
        # The calculator prices live as the amount changes, and its button says what it buys.
        await page.fill("[data-credits-input]", "3000")
        await expect(page.locator("[data-buy-label]")).to_have_text("Buy 3,000 credits")
        await expect(page.locator("#custom-credits [data-quote-amount]")).to_have_text("₹12,704.35")
        await page.click("#custom-credits [data-calc-submit]")

        await page.wait_for_url("**/app/billing/checkout/order_*")
        await expect(page.locator("[data-test-checkout]")).to_contain_text("TEST MODE")
        await shoot(page, "checkout-1280-light")
        await page.click("[data-test-pay]")
        await page.wait_for_url("**/app/billing/payments/*")
        await expect(page.locator("[data-paid]")).to_contain_text("3,000 credits")
        await shoot(page, "paid-1280-light")

        async with page.expect_download() as download_info:
            await page.click("[data-invoice-download]")
        download = await download_info.value
        assert download.suggested_filename.startswith("TR-")
        pdf_path = await download.path()
        text = "".join(p.extract_text() for p in PdfReader(str(pdf_path)).pages)
        assert "3,000" in text
        assert "12,704.35" in text

        await page.goto(f"{base_url}/app/billing")
        await expect(page.locator("[data-balance]")).to_have_text(f"{3000 + free:,}")
        await expect(page.locator("[data-payments]")).to_contain_text("3,000")
        await expect(page.locator("[data-invoices]")).to_contain_text("Tax invoice")

        # The receipt lands in the dev outbox, with the invoice attached.
        for _ in range(100):
            if await OutgoingMail.find({"template": "receipt", "status": "outbox"}).count():
                break
            await asyncio.sleep(0.1)
        await page.goto(f"{base_url}/dev/outbox")
        await expect(page.locator("body")).to_contain_text("Your TrailRoom receipt")
        await page.click("text=Your TrailRoom receipt")
        await expect(page.locator("[data-attachment]")).to_contain_text(".pdf")

        # The pages at phone width and in the dark theme.
        await context.add_cookies([{"name": "tr_theme", "value": "dark", "url": base_url}])
        for width in (360, 1280):
            await page.set_viewport_size({"width": width, "height": 800})
            await page.goto(f"{base_url}/app/billing")
            await shoot(page, f"billing-{width}-dark")
            overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            wide = await page.evaluate(
                "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + 1"
                " && !(e.parentElement && e.parentElement.closest('.table-wrap')))"
                ".map(e => e.tagName + '.' + e.className + ':' + Math.round(e.getBoundingClientRect().right))"
            )
            assert overflow <= 0, f"the billing page scrolls sideways at {width} px: {wide}"
        await page.set_viewport_size({"width": 360, "height": 800})
        await context.add_cookies([{"name": "tr_theme", "value": "light", "url": base_url}])
        await page.goto(f"{base_url}/app/billing")
        await shoot(page, "billing-360-light")
        assert problems == [], problems
