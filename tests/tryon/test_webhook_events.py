"""A try-on finished by a real worker reaches the merchant's receiver as a signed webhook."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import httpx
from standardwebhooks import Webhook

from tests.conftest import running_workers
from tests.fakes.engines import ScriptedEngine
from tests.helpers import Account
from tests.tryon.conftest import small_png
from tests.webhooks.conftest import Receiver
from trailroom.domain.services import Services


async def test_completed_try_on_is_delivered_signed(
    client: httpx.AsyncClient, services: Services, account: Account, use_scripted: ScriptedEngine, receiver: Receiver
) -> None:
    created = await client.post(
        "/api/v1/webhooks",
        headers=account.auth,
        json={"url": receiver.url(), "events": ["tryon.completed"], "description": "shop"},
    )
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    body = {
        "mode": "top",
        "person_image": base64.b64encode(small_png()).decode(),
        "garment_image": base64.b64encode(small_png((0, 0, 200))).decode(),
    }
    job_id = (await client.post("/api/v1/tryon", headers=account.auth, json=body)).json()["id"]
    async with running_workers(services):  # the worker runs the job, then its crons dispatch and deliver
        deadline = time.monotonic() + 45
        while not receiver.received and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
    assert len(receiver.received) == 1
    delivery = receiver.received[0]
    payload = Webhook(secret).verify(delivery.body, delivery.headers)
    assert payload["type"] == "tryon.completed"
    assert payload["data"]["tryon_id"] == job_id
    assert payload["data"]["status"] == "completed"
    assert json.loads(delivery.body)["data"]["status_url"] == f"/api/v1/tryon/{job_id}"
