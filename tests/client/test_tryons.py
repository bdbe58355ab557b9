"""The client against the real app over loopback: try-ons from create to decoded result, credits,
history, cancel, delete, batches and idempotency."""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from tests.client.conftest import Merchant
from tests.conftest import running_workers
from tests.fakes.engines import ScriptedEngine
from trailroom.domain.services import Services
from trailroom_client import AsyncTrailRoom, NotFoundError, OutOfCreditsError, TrailRoom, TryOnJob


def assert_png(data: bytes, size: tuple[int, int]) -> None:
    assert data.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert image.size == size


async def test_async_client_runs_a_try_on_to_decoded_images(
    base_url: str,
    merchant: Merchant,
    services: Services,
    use_scripted: ScriptedEngine,
    person_png: bytes,
    garment_png: bytes,
) -> None:
    async with AsyncTrailRoom(api_key=merchant.secret_key, base_url=base_url) as trailroom:
        job = await trailroom.create_tryon(person_png, garment_png)  # bytes: a multipart upload
        assert isinstance(job, TryOnJob)
        assert (job.status, job.mode, job.credits_charged, job.replayed) == ("queued", "top", 1, False)
        assert job.links.status == f"/api/v1/tryon/{job.id}"
        async with running_workers(services):
            done = await trailroom.wait_for_tryon(job.id, timeout=30, poll_interval=0.05)
        assert done.status == "completed"
        assert done.is_terminal
        assert done.completed_at is not None
        assert len(done.links.results) == 1
        [image] = await trailroom.get_tryon_images(job.id)
        assert image.media_type == "image/png"
        assert (image.width, image.height) == (320, 400)
        assert_png(image.data, (320, 400))
        assert use_scripted.calls == 1
        credits = await trailroom.get_credits()
        assert credits.balance == 2
        assert credits.costs["top"] == 1
        page = await trailroom.list_credit_transactions()
        assert page.data[0].amount == -1
        assert page.data[0].job_ids == (job.id,)
        history = await trailroom.list_tryons(status="completed")
        assert [j.id for j in history.data] == [job.id]


async def test_sync_client_uploads_a_path_and_waits(
    base_url: str,
    merchant: Merchant,
    services: Services,
    use_scripted: ScriptedEngine,
    person_png: bytes,
    garment_png: bytes,
    tmp_path: Path,
) -> None:
    person = tmp_path / "person.png"
    person.write_bytes(person_png)

    def run() -> tuple[TryOnJob, bytes]:
        with TrailRoom(api_key=merchant.secret_key, base_url=base_url) as trailroom:
            job = trailroom.create_tryon(person, garment_png, output_format="png", seed=7)
            done = trailroom.wait_for_tryon(job.id, timeout=30, poll_interval=0.05)
            [image] = trailroom.get_tryon_images(done.id)
            return done, image.data

    async with running_workers(services):
        done, data = await asyncio.to_thread(run)
    assert done.status == "completed"
    assert_png(data, (320, 400))


async def test_json_images_history_iteration_cancel_and_delete(
    base_url: str, merchant: Merchant, person_png: bytes, garment_png: bytes
) -> None:
    as_b64 = base64.b64encode(person_png).decode()
    data_uri = "data:image/png;base64," + base64.b64encode(garment_png).decode()
    async with AsyncTrailRoom(api_key=merchant.secret_key, base_url=base_url) as trailroom:
        jobs = [await trailroom.create_tryon(as_b64, data_uri) for _ in range(3)]  # strings: JSON
        assert {j.status for j in jobs} == {"queued"}
        first = await trailroom.list_tryons(limit=2)
        assert len(first.data) == 2
        assert first.next_cursor is not None
        every = [job.id async for job in trailroom.iter_tryons(page_size=2)]
        assert every == [j.id for j in reversed(jobs)]  # newest first, across pages
        canceled = await trailroom.cancel_tryon(jobs[0].id)
        assert canceled.status == "canceled"
        assert (await trailroom.get_credits()).balance == 1  # three charged, one returned
        await trailroom.delete_tryon(jobs[0].id)
        with pytest.raises(NotFoundError):
            await trailroom.get_tryon(jobs[0].id)

    def sync_iteration() -> list[str]:
        with TrailRoom(api_key=merchant.secret_key, base_url=base_url) as trailroom:
            return [job.id for job in trailroom.iter_tryons(page_size=1)]

    assert await asyncio.to_thread(sync_iteration) == [jobs[2].id, jobs[1].id]


async def test_batch_starts_every_item_under_one_batch(
    base_url: str, merchant: Merchant, person_png: bytes, garment_png: bytes
) -> None:
    async with AsyncTrailRoom(api_key=merchant.secret_key, base_url=base_url) as trailroom:
        batch = await trailroom.batch_tryon(
            [{"garment_image": garment_png}, {"garment_image": garment_png, "mode": "dress"}],
            person_image=person_png,
        )
        assert batch.batch_id is not None
        assert [j.mode for j in batch.jobs] == ["top", "dress"]
        assert {j.batch_id for j in batch.jobs} == {batch.batch_id}
        assert (await trailroom.get_credits()).balance == 3 - sum(j.credits_charged for j in batch.jobs)


async def test_the_same_idempotency_key_returns_the_same_job_and_charges_once(
    base_url: str, merchant: Merchant, person_png: bytes, garment_png: bytes
) -> None:
    async with AsyncTrailRoom(api_key=merchant.secret_key, base_url=base_url) as trailroom:
        first = await trailroom.create_tryon(person_png, garment_png, idempotency_key="order-7")
        again = await trailroom.create_tryon(person_png, garment_png, idempotency_key="order-7")
        assert again.id == first.id
        assert (first.replayed, again.replayed) == (False, True)
        assert (await trailroom.get_credits()).balance == 2
        other = await trailroom.create_tryon(person_png, garment_png)  # a fresh key of its own
        assert other.id != first.id
        assert (await trailroom.get_credits()).balance == 1


async def test_out_of_credits_raises_with_the_problem_fields(
    base_url: str, merchant: Merchant, person_png: bytes, garment_png: bytes
) -> None:
    async with AsyncTrailRoom(api_key=merchant.secret_key, base_url=base_url) as trailroom:
        for _ in range(3):
            await trailroom.create_tryon(person_png, garment_png)
        with pytest.raises(OutOfCreditsError) as caught:
            await trailroom.create_tryon(person_png, garment_png)
    assert caught.value.status == 402
    assert caught.value.code == "out_of_credits"
    assert caught.value.detail
    assert caught.value.request_id
