"""The app's dashboard page in a real Chromium, inside the fake Saleor dashboard's iframe: the
handshake gives it the staff token, and saving writes the product's metadata in the shop."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, wsgi_served
from tests.plugin_saleor.conftest import SaleorAppFactory, register
from tests.plugin_saleor.fake_saleor import FakeSaleor
from trailroom_saleor import GARMENT_IMAGE_KEY, MODE_KEY, app_state

PRODUCT_ID = "UHJvZHVjdDoyMDI="
GARMENT = "https://cdn.example.com/wrap-dress.png"


async def open_dashboard(page: Page, saleor: FakeSaleor) -> None:
    await page.goto(f"{saleor.base_url}/dashboard/", wait_until="load")
    frame = page.frame_locator("#app")
    await expect(frame.locator("#connection")).to_have_text("Connected to your Saleor dashboard.")


@pytest.mark.browser
async def test_saving_in_the_dashboard_page_attaches_the_garment_to_the_product(
    make_saleor_app: SaleorAppFactory, fake_saleor: FakeSaleor
) -> None:
    app = make_saleor_app()
    assert (await register(app.test_client(), fake_saleor)).status_code == 200
    fake_saleor.add_product(PRODUCT_ID, {GARMENT_IMAGE_KEY: "https://cdn.example.com/old.png", MODE_KEY: "top"})
    errors: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    with wsgi_served(app) as app_url:
        fake_saleor.dashboard.update(app_url=app_url, token=fake_saleor.dashboard_token(), product_id=PRODUCT_ID)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 900})
                page.on("pageerror", lambda error: errors.append(str(error)))
                await open_dashboard(page, fake_saleor)
                frame = page.frame_locator("#app")
                # The product's current settings are loaded from the shop.
                await expect(frame.locator("#product-id")).to_have_value(PRODUCT_ID)
                await expect(frame.locator("#garment-image")).to_have_value("https://cdn.example.com/old.png")

                await frame.locator("#garment-image").fill(GARMENT)
                await frame.locator("#mode").select_option("dress")
                await frame.locator("#save").click()
                await expect(frame.locator("#result")).to_have_text("Saved: the product page now offers the try-on.")
                await page.screenshot(path=str(ARTIFACTS / "saleor-dashboard-1280-light.png"), full_page=True)

                # A bad URL is explained, and nothing is written.
                await frame.locator("#garment-image").fill("not a url")
                await frame.locator("#save").click()
                await expect(frame.locator("#result")).to_have_text("garment_image must be an absolute http(s) URL")

                for width, theme in ((360, "light"), (360, "dark"), (1280, "dark")):
                    fake_saleor.dashboard["theme"] = theme
                    await page.set_viewport_size({"width": width, "height": 900})
                    await open_dashboard(page, fake_saleor)
                    await page.screenshot(path=str(ARTIFACTS / f"saleor-dashboard-{width}-{theme}.png"), full_page=True)
            finally:
                await browser.close()
    assert errors == []
    assert fake_saleor.products[PRODUCT_ID]["metadata"] == {GARMENT_IMAGE_KEY: GARMENT, MODE_KEY: "dress"}
    stored = app_state(app).products.get(fake_saleor.api_url, PRODUCT_ID)
    assert stored is not None
    assert stored.garment_image == GARMENT
    assert len(fake_saleor.calls("TrailRoomSetGarment")) == 1
