"""End to end: the Django app served over loopback HTTP (Django's own ASGI handler under uvicorn)
receives real deliveries from TrailRoom, for a test event and for a try-on the proxy started."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from django.core.asgi import get_asgi_application
from django.test import override_settings

from tests.conftest import running_workers
from tests.fakes.engines import ScriptedEngine
from tests.plugin_django.conftest import Merchant, in_thread
from tests.plugin_django.helpers import ALL_SIGNALS, Recorder, shopper, upload
from trailroom.domain.services import Services
from trailroom.embedded.process import free_port
from trailroom_client import AsyncTrailRoom
from trailroom_django import signals


@asynccontextmanager
async def django_served() -> AsyncIterator[str]:
    """The test project over HTTP in this event loop; views run in Django's thread, off the loop."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(get_asgi_application(), host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def overridden(trailroom: dict[str, Any]) -> AsyncIterator[None]:
    override = override_settings(TRAILROOM=trailroom)
    await in_thread(override.enable)
    try:
        yield
    finally:
        await in_thread(override.disable)


async def test_real_deliveries_from_trailroom_become_signals(
    base_url: str,
    merchant: Merchant,
    services: Services,
    use_scripted: ScriptedEngine,
    trailroom_settings: dict[str, Any],
    person_png: bytes,
    garment_png: bytes,
) -> None:
    async with (
        django_served() as django_url,
        AsyncTrailRoom(api_key=merchant.account.access_token, base_url=base_url) as user,
    ):
        endpoint = await user.create_webhook(
            f"{django_url}/trailroom/webhooks/", ["tryon.completed", "tryon.failed"], description="django shop"
        )
        assert endpoint.secret is not None
        async with overridden({**trailroom_settings, "WEBHOOK_SECRET": endpoint.secret}):
            with Recorder(*ALL_SIGNALS) as recorder:
                delivery = await user.send_test_webhook(endpoint.id)
                assert delivery.attempts[0].status_code == 204
                assert [(s, kw["event_type"]) for s, kw in recorder.calls] == [
                    (signals.webhook_received, "webhook.test")
                ]
                recorder.calls.clear()

                def start() -> str:
                    browser, token = shopper()
                    response = upload(browser, token, person_png, garment_png)
                    assert response.status_code == 202, response.content
                    job_id: str = response.json()["id"]
                    return job_id

                job_id = await in_thread(start)
                async with running_workers(services):
                    for _ in range(300):
                        if any(s is signals.tryon_completed for s, _ in recorder.calls):
                            break
                        await asyncio.sleep(0.05)
    completed = [kw for s, kw in recorder.calls if s is signals.tryon_completed]
    assert len(completed) == 1, recorder.calls
    assert completed[0]["data"]["tryon_id"] == job_id
    assert completed[0]["event"]["type"] == "tryon.completed"
    assert [s for s, _ in recorder.calls] == [signals.webhook_received, signals.tryon_completed]
