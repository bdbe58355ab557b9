"""The widget through the Django app in a real Chromium: the product page's template tag renders the
element, the shopper's photo goes to the Django proxy (session, Django's CSRF token), the proxy adds
the secret key, and the result comes back. Django is served over loopback HTTP, TrailRoom runs the
job with real workers."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from playwright.async_api import Browser, expect

from tests.conftest import running_workers
from tests.fakes.engines import ScriptedEngine
from tests.plugin_django.conftest import Merchant, in_thread
from tests.plugin_django.test_django_live import django_served
from tests.tryon.conftest import fund
from tests.widget.test_widget_browser import browser, open_tab, walk  # noqa: F401 - the browser fixture
from trailroom.domain.services import Services
from trailroom.domain.tryon.models import TryOnJob

pytestmark = pytest.mark.browser


async def test_proxy_mode_through_the_django_app(
    browser: Browser,  # noqa: F811 - the fixture imported above
    base_url: str,
    merchant: Merchant,
    services: Services,
    use_scripted: ScriptedEngine,
    trailroom_settings: dict[str, Any],
) -> None:
    await fund(services, merchant.account, 5)
    # The page loads the widget script from TrailRoom; Django answers on its loopback address.
    override = override_settings(
        TRAILROOM={**trailroom_settings, "PUBLIC_URL": base_url}, ALLOWED_HOSTS=["127.0.0.1", "testserver"]
    )
    await in_thread(override.enable)
    try:
        async with django_served() as shop_url, running_workers(services):
            tab = await open_tab(browser, 1280)
            garment = f"{base_url}/static/demo/oxford-shirt.jpg"
            await tab.page.goto(f"{shop_url}/product/?garment={garment}")
            await expect(tab.widget).to_have_attribute("proxy-url", "/trailroom/tryon/")
            token = await tab.widget.get_attribute("csrf-token")
            assert token
            detail = await walk(tab)

            job = await TryOnJob.get(detail["jobId"])
            assert job is not None
            assert job.status == "completed"
            assert job.client["shopper_id"]  # the session's anonymous shopper, forwarded by the proxy
            # The browser spoke to the shop only; never to the API with a key, and the key never reached it.
            assert not [u for u in tab.requests if u.startswith(f"{base_url}/api/v1/tryon") and "/result/" not in u]
            assert any(u.startswith(f"{shop_url}/trailroom/tryon/") for u in tab.requests)
            assert merchant.secret_key not in await tab.page.content()
            assert tab.page_errors == []
            await tab.close()
    finally:
        await in_thread(override.disable)
