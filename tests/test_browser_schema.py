"""The interactive API reference at /schema, in a real Chromium, served only from loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Response, async_playwright, expect

from .browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, is_loopback


@pytest.mark.browser
async def test_schema_page_renders_the_probes_from_local_assets(base_url: str) -> None:
    requests: list[str] = []
    failures: list[str] = []
    page_errors: list[str] = []
    csp_violations: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 1000})
            page.on("request", lambda request: requests.append(request.url))

            def record_error_status(response: Response) -> None:
                if response.status >= 400:
                    failures.append(f"{response.status} {response.url}")

            page.on("response", record_error_status)
            page.on("requestfailed", lambda request: failures.append(f"failed {request.url}"))
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.on(
                "console",
                lambda message: (
                    csp_violations.append(message.text) if "Content Security Policy" in message.text else None
                ),
            )

            response = await page.goto(f"{base_url}/schema", wait_until="load")
            assert response is not None
            assert response.status == 200
            policy = await response.header_value("content-security-policy")
            assert policy is not None
            assert "script-src 'self';" in policy
            assert "'unsafe" not in policy

            healthz = page.locator(".opblock-summary-path[data-path='/healthz']")
            readyz = page.locator(".opblock-summary-path[data-path='/readyz']")
            await expect(healthz).to_be_visible(timeout=30_000)
            await expect(readyz).to_be_visible()
            await expect(page.locator(".info .title")).to_contain_text("TrailRoom API")
            await expect(page.locator(".opblock-get").filter(has=healthz)).to_be_visible()
            await expect(page.locator(".opblock-get").filter(has=readyz)).to_be_visible()

            # The reference works against the running API: run /healthz from the page.
            await healthz.click()
            operation = page.locator(".opblock").filter(has=healthz)
            await operation.locator("button.try-out__btn").click()
            await operation.locator("button.execute").click()
            status = operation.locator(".live-responses-table .response .response-col_status")
            await expect(status).to_have_text("200", timeout=15_000)
            await expect(operation.locator(".live-responses-table .microlight").first).to_contain_text('"ok"')
            await page.mouse.move(0, 0)

            ARTIFACTS.mkdir(exist_ok=True)
            screenshot = Path(ARTIFACTS / "schema.png")
            await page.screenshot(path=str(screenshot), full_page=True)
            assert screenshot.stat().st_size > 10_000
        finally:
            await browser.close()

    assert requests, "the page made no requests"
    assert any(url.endswith("/static/vendor/swagger-ui/swagger-ui-bundle.js") for url in requests)
    assert any(url.endswith("/static/vendor/swagger-ui/swagger-ui.css") for url in requests)
    assert any(url.endswith("/healthz") for url in requests)
    outside = [url for url in requests if not is_loopback(url)]
    assert outside == [], f"requests left the machine: {outside}"
    assert failures == []
    assert page_errors == []
    assert csp_violations == []
