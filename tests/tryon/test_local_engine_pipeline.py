"""The product's default engine (local) through the whole pipeline, on real photos."""

from __future__ import annotations

import io

import httpx
from PIL import Image

from tests.conftest import running_workers
from tests.helpers import Account
from tests.tryon.conftest import DATA
from tests.tryon.test_pipeline import balance, wait_for
from trailroom.domain.services import Services
from trailroom.domain.tryon.models import JobStatus


async def test_real_photos_become_a_try_on(client: httpx.AsyncClient, services: Services, account: Account) -> None:
    files = {
        "person_image": ("studio_1.png", (DATA / "people" / "studio_1.png").read_bytes()),
        "garment_image": ("top_1.jpg", (DATA / "garments" / "top_1.jpg").read_bytes()),
    }
    response = await client.post("/api/v1/tryon", headers=account.auth, files=files, data={"mode": "top"})
    assert response.status_code == 202, response.text
    async with running_workers(services):
        done = await wait_for(response.json()["id"], JobStatus.COMPLETED, JobStatus.FAILED, timeout=90)
    assert done.status == JobStatus.COMPLETED, done.error
    assert done.engine == "local"
    url = (await client.get(f"/api/v1/tryon/{done.id}", headers=account.auth)).json()["links"]["results"][0]
    image = Image.open(io.BytesIO((await client.get(url)).content))
    assert image.format == "PNG"
    assert image.width > 300
    assert image.height > image.width  # the portrait framing of the person photo is kept


async def test_unusable_photo_fails_with_its_reason_and_refunds(
    client: httpx.AsyncClient, services: Services, account: Account
) -> None:
    files = {
        # A product photo where the person should be: no person to dress.
        "person_image": ("shirt.jpg", (DATA / "garments" / "top_2.jpg").read_bytes()),
        "garment_image": ("top_1.jpg", (DATA / "garments" / "top_1.jpg").read_bytes()),
    }
    response = await client.post("/api/v1/tryon", headers=account.auth, files=files, data={"mode": "top"})
    assert response.status_code == 202
    assert await balance(client, account) == 2
    async with running_workers(services):
        done = await wait_for(response.json()["id"], JobStatus.COMPLETED, JobStatus.FAILED, timeout=90)
    assert done.status == JobStatus.FAILED
    assert done.error is not None
    assert done.error.code == "person_not_found"
    assert done.results == []
    assert await balance(client, account) == 3
