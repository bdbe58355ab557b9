"""The Generate page follows a try-on by polling when its server-sent events cannot be had (a proxy
that buffers or drops them): the result still arrives, from the status endpoint."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import Route, expect

from tests.browser import launched_chromium
from tests.conftest import running_workers
from tests.helpers import PASSWORD, register
from tests.tryon.conftest import scripted, use_scripted  # noqa: F401 - fixtures
from trailroom.domain.services import Services

pytestmark = pytest.mark.browser

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.mark.usefixtures("use_scripted")
async def test_progress_falls_back_to_polling_when_events_fail(
    base_url: str, client: httpx.AsyncClient, services: Services
) -> None:
    await register(client, "poller@example.com")
    async with launched_chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))

        async def refuse(route: Route) -> None:
            await route.abort("connectionrefused")

        await page.route("**/api/v1/tryon/*/events", refuse)
        await page.goto(f"{base_url}/login")
        await page.fill("#f-email", "poller@example.com")
        await page.fill("#f-password", PASSWORD)
        await page.locator("form[action='/login'] button[type=submit]").click()
        await page.wait_for_url(f"{base_url}/app")

        await page.goto(f"{base_url}/app/generate")
        await page.set_input_files("#f-person_image", str(DATA / "people" / "studio_1.png"))
        await page.set_input_files("#f-garment_image", str(DATA / "garments" / "top_1.jpg"))
        async with running_workers(services):
            await page.locator("[data-generate-submit]").click()
            progress = page.locator("#generate-progress")
            await expect(progress.locator("[data-results] img")).to_have_count(1, timeout=30_000)
        await expect(progress.locator("[data-progress-label]")).to_have_text("Done")
        job_id = (await progress.locator("[data-job-link]").get_attribute("href") or "").rsplit("/", 1)[-1]
        assert job_id
        assert any(url.endswith(f"/api/v1/tryon/{job_id}/events") for url in requests)  # tried, refused
        assert any(url.endswith(f"/api/v1/tryon/{job_id}") for url in requests)  # then polled
