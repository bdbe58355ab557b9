"""The try-on pipeline end to end: HTTP intake, credits, SAQ workers, engine, results, failures."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId
from litestar import Litestar, Response, get

from tests.conftest import running_workers, serve
from tests.fakes.engines import ScriptedEngine
from tests.helpers import Account, new_key, signed_up
from tests.test_credits import assert_ledger_matches
from tests.tryon.conftest import fund, small_png
from trailroom.core.clock import utcnow
from trailroom.domain.credits.models import CreditTransaction, TransactionKind
from trailroom.domain.events.models import TRYON_COMPLETED, TRYON_FAILED, DomainEvent
from trailroom.domain.services import Services
from trailroom.domain.tryon.models import JobStatus, TryOnJob
from trailroom.embedded.process import free_port
from trailroom.engines.base import EngineError


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def payload(person: bytes, garment: bytes, **options: Any) -> dict[str, Any]:
    return {"mode": "top", "person_image": b64(person), "garment_image": b64(garment), **options}


async def wait_for(job_id: str, *statuses: JobStatus, timeout: float = 30) -> TryOnJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = await TryOnJob.get(PydanticObjectId(job_id))
        assert job is not None
        if job.status in statuses:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} is {job.status}, expected {statuses}")


async def completed_job(
    client: httpx.AsyncClient, services: Services, account: Account, body: dict[str, Any]
) -> TryOnJob:
    """Submit a try-on and run the workers until it has completed."""
    response = await client.post("/api/v1/tryon", headers=account.auth, json=body)
    assert response.status_code == 202, response.text
    async with running_workers(services):
        return await wait_for(response.json()["id"], JobStatus.COMPLETED)


async def balance(client: httpx.AsyncClient, account: Account) -> int:
    return int((await client.get("/api/v1/credits", headers=account.auth)).json()["balance"])


async def test_json_try_on_runs_to_a_result(
    client: httpx.AsyncClient,
    services: Services,
    account: Account,
    use_scripted: ScriptedEngine,
    person_png: bytes,
    garment_png: bytes,
) -> None:
    response = await client.post("/api/v1/tryon", headers=account.auth, json=payload(person_png, garment_png))
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] == "queued"
    assert job["mode"] == "top"
    assert job["credits_charged"] == 1
    assert job["links"]["status"] == f"/api/v1/tryon/{job['id']}"
    assert response.headers["location"] == f"/api/v1/tryon/{job['id']}"
    assert await balance(client, account) == 2
    async with running_workers(services):
        done = await wait_for(job["id"], JobStatus.COMPLETED, JobStatus.FAILED)
    assert done.status == JobStatus.COMPLETED
    status = (await client.get(f"/api/v1/tryon/{job['id']}", headers=account.auth)).json()
    assert status["status"] == "completed"
    [url] = status["links"]["results"]
    image = await client.get(url)  # a signed URL: no credentials needed
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    as_b64 = (await client.get(f"/api/v1/tryon/{job['id']}/base64", headers=account.auth)).json()
    assert base64.b64decode(as_b64["images"][0]["data"]) == image.content
    # Inputs are gone once the job ends; the ledger and the event are recorded.
    assert not await services.tryon.blobs.exists(done.inputs["person"])
    assert await DomainEvent.find(DomainEvent.type == TRYON_COMPLETED).count() == 1
    await assert_ledger_matches(done.account_id)


async def test_multipart_upload_with_options(
    client: httpx.AsyncClient,
    services: Services,
    account: Account,
    use_scripted: ScriptedEngine,
    person_png: bytes,
    garment_png: bytes,
) -> None:
    response = await client.post(
        "/api/v1/tryon",
        headers=account.auth,
        data={"mode": "top", "samples": "2", "output_format": "jpeg", "seed": "7"},
        files={"person_image": ("me.png", person_png, "image/png"), "garment_image": ("shirt", garment_png)},
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["samples"] == 2
    assert job["credits_charged"] == 2
    async with running_workers(services):
        done = await wait_for(job["id"], JobStatus.COMPLETED)
    assert [r.media_type for r in done.results] == ["image/jpeg", "image/jpeg"]
    assert done.seed == 7


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"mode": "sideways"}, 400, "validation_failed"),
        ({"samples": 5}, 400, "validation_failed"),
        ({"output_format": "gif"}, 400, "validation_failed"),
        ({"person_image": b64(b"not an image at all, just text")}, 422, "image_not_decodable"),
        ({"garment_image": "javascript:alert(1)"}, 422, "invalid_image_url"),
        ({"garment_image": "ftp://example.com/shirt.png"}, 422, "invalid_image_url"),
        ({"bottom_image": b64(small_png())}, 422, "invalid_option"),
        ({"mode": "full"}, 422, "missing_image"),
        ({"unexpected": 1}, 400, "validation_failed"),
    ],
)
async def test_bad_requests_change_nothing(
    client: httpx.AsyncClient,
    account: Account,
    person_png: bytes,
    garment_png: bytes,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    response = await client.post(
        "/api/v1/tryon", headers=account.auth, json={**payload(person_png, garment_png), **body}
    )
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert await TryOnJob.count() == 0
    assert await CreditTransaction.find(CreditTransaction.kind == TransactionKind.USAGE).count() == 0


async def test_tiny_and_missing_images_are_refused(
    client: httpx.AsyncClient, account: Account, garment_png: bytes
) -> None:
    tiny = await client.post("/api/v1/tryon", headers=account.auth, json=payload(small_png(size=(40, 40)), garment_png))
    assert tiny.status_code == 422
    assert tiny.json()["code"] == "image_too_small"
    missing = await client.post(
        "/api/v1/tryon", headers=account.auth, files={"garment_image": ("g.png", garment_png)}, data={"mode": "top"}
    )
    assert missing.status_code == 422
    assert missing.json()["code"] == "missing_image"


async def test_full_outfit_is_for_paying_accounts(
    client: httpx.AsyncClient, services: Services, account: Account, person_png: bytes, garment_png: bytes
) -> None:
    body = {**payload(person_png, garment_png, mode="full"), "bottom_image": b64(small_png((0, 0, 0)))}
    refused = await client.post("/api/v1/tryon", headers=account.auth, json=body)
    assert refused.status_code == 403
    assert refused.json()["code"] == "full_mode_requires_paid_plan"
    await fund(services, account, 10)
    accepted = await client.post("/api/v1/tryon", headers=account.auth, json=body)
    assert accepted.status_code == 202
    assert accepted.json()["credits_charged"] == 2


async def test_out_of_credits_is_402_and_stores_nothing(
    client: httpx.AsyncClient, services: Services, account: Account, person_png: bytes, garment_png: bytes
) -> None:
    for _ in range(3):
        assert (
            await client.post("/api/v1/tryon", headers=account.auth, json=payload(person_png, garment_png))
        ).status_code == 202
    refused = await client.post("/api/v1/tryon", headers=account.auth, json=payload(person_png, garment_png))
    assert refused.status_code == 402
    assert refused.json()["code"] == "out_of_credits"
    assert await TryOnJob.count() == 3
    assert await balance(client, account) == 0


async def test_idempotency_key_returns_the_same_job_and_charges_once(
    client: httpx.AsyncClient, account: Account, person_png: bytes, garment_png: bytes
) -> None:
    headers = {**account.auth, "Idempotency-Key": "order-42-tryon"}
    first = await client.post("/api/v1/tryon", headers=headers, json=payload(person_png, garment_png))
    again = await client.post("/api/v1/tryon", headers=headers, json=payload(person_png, garment_png))
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    different = await client.post("/api/v1/tryon", headers=headers, json=payload(person_png, small_png((1, 2, 3))))
    assert different.status_code == 422
    assert different.json()["code"] == "idempotency_key_reused"
    racing = await asyncio.gather(
        *(
            client.post(
                "/api/v1/tryon",
                headers={**account.auth, "Idempotency-Key": "race"},
                json=payload(person_png, garment_png),
            )
            for _ in range(5)
        )
    )
    assert {r.status_code for r in racing} == {202}
    assert len({r.json()["id"] for r in racing}) == 1
    assert await TryOnJob.count() == 2
    assert await balance(client, account) == 1


async def test_final_engine_error_fails_and_refunds(
    client: httpx.AsyncClient,
    services: Services,
    account: Account,
    use_scripted: ScriptedEngine,
    person_png: bytes,
    garment_png: bytes,
) -> None:
    use_scripted.failures = [EngineError("person_not_found", "No person is visible in the photo.")]
    job = (await client.post("/api/v1/tryon", headers=account.auth, json=payload(person_png, garment_png))).json()
    assert await balance(client, account) == 2
    async with running_workers(services):
        done = await wait_for(job["id"], JobStatus.FAILED, JobStatus.COMPLETED)
    assert done.status == JobStatus.FAILED
    assert done.error is not None
    assert done.error.code == "person_not_found"
    assert done.attempts == 1  # a final error is not retried
    assert await balance(client, account) == 3
    status = (await client.get(f"/api/v1/tryon/{job['id']}", headers=account.auth)).json()
    assert status["error"] == {"code": "person_not_found", "detail": "No person is visible in the photo."}
    assert await DomainEvent.find(DomainEvent.type == TRYON_FAILED).count() == 1
    assert not await services.tryon.blobs.exists(done.inputs["person"])
    await assert_ledger_matches(done.account_id)


async def test_transient_errors_are_retried_then_succeed(
    client: httpx.AsyncClient,
    services: Services,
    account: Account,
    use_scripted: ScriptedEngine,
    person_png: bytes,
    garment_png: bytes,
) -> None:
    use_scripted.failures = [EngineError("engine_unavailable", "busy", transient=True)]
    job = (await client.post("/api/v1/tryon", headers=account.auth, json=payload(person_png, garment_png))).json()
    async with running_workers(services):
        done = await wait_for(job["id"], JobStatus.COMPLETED, JobStatus.FAILED, timeout=30)
    assert done.status == JobStatus.COMPLETED
    assert done.attempts == 2
    assert await balance(client, account) == 2


async def test_transient_errors_give_up_after_max_attempts_and_refund(
    client: httpx.AsyncClient,
    services: Services,
    account: Account,
    use_scripted: ScriptedEngine,
    person_png: bytes,
    garment_png: bytes,
) -> None:
    await services.runtime_config.update({"max_attempts": 2}, by="test")
    use_scripted.failures = [EngineError("engine_unavailable", "busy", transient=True) for _ in range(5)]
    job = (await client.post("/api/v1/tryon", headers=account.auth, json=payload(person_png, garment_png))).json()
    async with running_workers(services):
        done = await wait_for(job["id"], JobStatus.FAILED, timeout=30)
    assert done.attempts == 2
    assert use_scripted.calls == 2
    assert await balance(client, account) == 3
    await assert_ledger_matches(done.account_id)


async def test_sweeper_recovers_a_job_whose_worker_died(
    client: httpx.AsyncClient,
    services: Services,
    account: Account,
    use_scripted: ScriptedEngine,
    person_png: bytes,
    garment_png: bytes,
) -> None:
    job = (await client.post("/api/v1/tryon", headers=account.auth, json=payload(person_png, garment_png))).json()
    # A worker claimed the job and died: processing, with a heartbeat long past.
    await TryOnJob.get_pymongo_collection().update_one(
        {"_id": PydanticObjectId(job["id"])},
        {"$set": {"status": "processing", "attempts": 1, "heartbeat_at": time.time() and None}},
    )
    # A heartbeat a minute old (not "now": in the same millisecond as the sweep it would not be older).
    await TryOnJob.get_pymongo_collection().update_one(
        {"_id": PydanticObjectId(job["id"])}, {"$set": {"heartbeat_at": utcnow() - timedelta(seconds=60)}}
    )
    counts = await services.tryon.maintenance.sweep(stale_after_s=30)
    assert counts["retried"] == 1
    async with running_workers(services):
        done = await wait_for(job["id"], JobStatus.COMPLETED)
    assert done.attempts == 2


async def test_sweeper_fails_and_refunds_when_attempts_are_used_up(
    client: httpx.AsyncClient, services: Services, account: Account, person_png: bytes, garment_png: bytes
) -> None:
    job = (await client.post("/api/v1/tryon", headers=account.auth, json=payload(person_png, garment_png))).json()
    await TryOnJob.get_pymongo_collection().update_one(
        {"_id": PydanticObjectId(job["id"])}, {"$set": {"status": "processing", "attempts": 3}}
    )
    # A heartbeat a minute old (not "now": in the same millisecond as the sweep it would not be older).
    await TryOnJob.get_pymongo_collection().update_one(
        {"_id": PydanticObjectId(job["id"])}, {"$set": {"heartbeat_at": utcnow() - timedelta(seconds=60)}}
    )
    counts = await services.tryon.maintenance.sweep(stale_after_s=30)
    assert counts["failed"] == 1
    failed = await wait_for(job["id"], JobStatus.FAILED)
    assert failed.error is not None
    assert failed.error.code == "worker_lost"
    assert await balance(client, account) == 3
    # Sweeping again changes nothing and refunds nothing twice.
    assert (await services.tryon.maintenance.sweep(stale_after_s=0))["failed"] == 0
    await assert_ledger_matches(failed.account_id)


async def test_a_job_lost_from_redis_is_queued_again(
    client: httpx.AsyncClient,
    services: Services,
    account: Account,
    use_scripted: ScriptedEngine,
    person_png: bytes,
    garment_png: bytes,
) -> None:
    job = (await client.post("/api/v1/tryon", headers=account.auth, json=payload(person_png, garment_png))).json()
    await services.resources.redis.flushdb()  # Redis restarted without its data
    counts = await services.tryon.maintenance.sweep(requeue_after_s=0)
    assert counts["requeued"] == 1
    async with running_workers(services):
        done = await wait_for(job["id"], JobStatus.COMPLETED)
    assert done.status == JobStatus.COMPLETED


async def test_other_accounts_jobs_are_404_everywhere(
    client: httpx.AsyncClient, account: Account, person_png: bytes, garment_png: bytes
) -> None:
    job = (await client.post("/api/v1/tryon", headers=account.auth, json=payload(person_png, garment_png))).json()
    other = await signed_up(client, "other@example.com")
    for method, path in [
        ("GET", f"/api/v1/tryon/{job['id']}"),
        ("GET", f"/api/v1/tryon/{job['id']}/base64"),
        ("GET", f"/api/v1/tryon/{job['id']}/events"),
        ("POST", f"/api/v1/tryon/{job['id']}/cancel"),
        ("DELETE", f"/api/v1/tryon/{job['id']}"),
        ("GET", "/api/v1/tryon/not-an-id"),
    ]:
        response = await client.request(method, path, headers=other.auth)
        assert response.status_code == 404, (method, path)
        assert response.json()["code"] == "tryon_not_found"
    assert (await client.get("/api/v1/tryon/history", headers=other.auth)).json()["data"] == []
    assert await TryOnJob.count() == 1


async def test_publishable_key_creates_and_reads_status_only(
    client: httpx.AsyncClient, account: Account, person_png: bytes, garment_png: bytes
) -> None:
    key = (await new_key(client, account, kind="publishable", origins=["https://shop.example"]))["key"]
    widget = {"Authorization": f"Bearer {key}", "Origin": "https://shop.example"}
    shopper = (await client.post("/api/v1/shoppers", headers=widget)).json()["shopper_id"]
    widget["X-Shopper-ID"] = shopper
    created = await client.post("/api/v1/tryon", headers=widget, json=payload(person_png, garment_png))
    assert created.status_code == 202
    job_id = created.json()["id"]
    reader = {**widget, "X-Client-Secret": created.json()["client_secret"]}
    assert (await client.get(f"/api/v1/tryon/{job_id}", headers=reader)).status_code == 200
    for path in ("/api/v1/tryon/history", f"/api/v1/tryon/{job_id}/base64", "/api/v1/credits"):
        response = await client.get(path, headers=widget)
        assert response.status_code == 403
        assert response.json()["code"] == "publishable_key_not_allowed"
    foreign = {"Authorization": f"Bearer {key}", "Origin": "https://evil.example"}
    assert (
        await client.post("/api/v1/tryon", headers=foreign, json=payload(person_png, garment_png))
    ).status_code == 403
    assert await TryOnJob.count() == 1


async def test_cancel_and_delete(
    client: httpx.AsyncClient,
    services: Services,
    account: Account,
    use_scripted: ScriptedEngine,
    person_png: bytes,
    garment_png: bytes,
) -> None:
    queued = (await client.post("/api/v1/tryon", headers=account.auth, json=payload(person_png, garment_png))).json()
    canceled = await client.post(f"/api/v1/tryon/{queued['id']}/cancel", headers=account.auth)
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    assert await balance(client, account) == 3
    again = await client.post(f"/api/v1/tryon/{queued['id']}/cancel", headers=account.auth)
    assert again.status_code == 409
    done = await completed_job(client, services, account, payload(person_png, garment_png))
    done_id = str(done.id)
    url = (await client.get(f"/api/v1/tryon/{done_id}", headers=account.auth)).json()["links"]["results"][0]
    assert (await client.delete(f"/api/v1/tryon/{done_id}", headers=account.auth)).status_code == 204
    assert not await services.tryon.blobs.exists(done.results[0].key)
    assert (await client.get(url)).status_code == 404
    assert (await client.get(f"/api/v1/tryon/{done_id}", headers=account.auth)).status_code == 404
    await assert_ledger_matches(done.account_id)


async def test_result_links_are_signed_and_expire(
    client: httpx.AsyncClient,
    services: Services,
    account: Account,
    use_scripted: ScriptedEngine,
    person_png: bytes,
    garment_png: bytes,
) -> None:
    done = await completed_job(client, services, account, payload(person_png, garment_png))
    url = services.tryon.jobs.result_url(done, 0)
    assert (await client.get(url)).status_code == 200
    forged = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
    assert (await client.get(forged)).status_code == 403
    expired = services.tryon.jobs.result_url(done, 0, now=time.time() - 7200)
    response = await client.get(expired)
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_result_link"


async def test_history_filters_and_pages(
    client: httpx.AsyncClient, services: Services, account: Account, person_png: bytes, garment_png: bytes
) -> None:
    await fund(services, account, 20)
    ids = []
    for mode in ("top", "bottom", "top", "dress", "top"):
        ids.append(
            (
                await client.post(
                    "/api/v1/tryon", headers=account.auth, json=payload(person_png, garment_png, mode=mode)
                )
            ).json()["id"]
        )
    tops = (await client.get("/api/v1/tryon/history", headers=account.auth, params={"mode": "top"})).json()
    assert [j["id"] for j in tops["data"]] == [ids[4], ids[2], ids[0]]
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/tryon/history", headers=account.auth, params=params)).json()
        seen += [j["id"] for j in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    bad = await client.get("/api/v1/tryon/history", headers=account.auth, params={"status": "done"})
    assert bad.status_code == 422
    future = await client.get("/api/v1/tryon/history", headers=account.auth, params={"since": "2099-01-01T00:00:00Z"})
    assert future.json()["data"] == []


async def test_batch_is_charged_all_or_nothing(
    client: httpx.AsyncClient,
    services: Services,
    account: Account,
    use_scripted: ScriptedEngine,
    person_png: bytes,
    garment_png: bytes,
) -> None:
    items = [{"garment_image": b64(small_png((i * 40, 10, 10)))} for i in range(3)]
    accepted = await client.post(
        "/api/v1/tryon/batch", headers=account.auth, json={"person_image": b64(person_png), "items": items}
    )
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert len(body["jobs"]) == 3
    assert body["batch_id"]
    assert await balance(client, account) == 0
    too_big = await client.post(
        "/api/v1/tryon/batch", headers=account.auth, json={"person_image": b64(person_png), "items": items[:1]}
    )
    assert too_big.status_code == 402
    assert await TryOnJob.count() == 3
    async with running_workers(services):
        for job in body["jobs"]:
            await wait_for(job["id"], JobStatus.COMPLETED)


async def test_too_many_jobs_in_flight_is_429(
    client: httpx.AsyncClient, services: Services, account: Account, person_png: bytes, garment_png: bytes
) -> None:
    await fund(services, account, 20)
    await services.runtime_config.update({"max_jobs_in_flight": 2}, by="test")
    codes = [
        (await client.post("/api/v1/tryon", headers=account.auth, json=payload(person_png, garment_png))).status_code
        for _ in range(3)
    ]
    assert codes == [202, 202, 429]
    limited = await client.post("/api/v1/tryon", headers=account.auth, json=payload(person_png, garment_png))
    assert limited.json()["code"] == "concurrency_limited"
    assert limited.headers["retry-after"] == "5"


async def test_server_sent_events_follow_the_job(
    client: httpx.AsyncClient,
    services: Services,
    account: Account,
    use_scripted: ScriptedEngine,
    person_png: bytes,
    garment_png: bytes,
) -> None:
    use_scripted.delay_s = 0.3
    job_id = (await client.post("/api/v1/tryon", headers=account.auth, json=payload(person_png, garment_png))).json()[
        "id"
    ]
    statuses: list[str] = []

    async def listen() -> None:
        async with client.stream("GET", f"/api/v1/tryon/{job_id}/events", headers=account.auth) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    statuses.append(json.loads(line[6:])["status"])

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.3)
    async with running_workers(services):
        await asyncio.wait_for(listener, 30)
    assert statuses[0] == "queued"
    assert statuses[-1] == "completed"
    assert "processing" in statuses


async def test_image_url_inputs_are_fetched(
    client: httpx.AsyncClient, account: Account, person_png: bytes, garment_png: bytes
) -> None:
    @get("/shirt.png")
    async def shirt() -> Response[bytes]:
        return Response(garment_png, media_type="image/png")

    port = free_port()
    async with serve(Litestar([shirt], logging_config=None), "127.0.0.1", port):
        body = {"mode": "top", "person_image": b64(person_png), "garment_image": f"http://127.0.0.1:{port}/shirt.png"}
        response = await client.post("/api/v1/tryon", headers=account.auth, json=body)
    # The test settings allow http on loopback; production allows only public https URLs.
    assert response.status_code == 202, response.text
    private = {**body, "garment_image": "https://10.0.0.1/shirt.png"}
    refused = await client.post("/api/v1/tryon", headers=account.auth, json=private)
    assert refused.status_code == 422
    assert refused.json()["code"] == "image_url_forbidden"


async def test_results_are_purged_after_their_retention(
    client: httpx.AsyncClient,
    services: Services,
    account: Account,
    use_scripted: ScriptedEngine,
    person_png: bytes,
    garment_png: bytes,
) -> None:
    done = await completed_job(client, services, account, payload(person_png, garment_png))
    job_id = str(done.id)
    assert done.results_expire_at is not None
    assert await services.tryon.maintenance.purge_expired_results() == 0  # not yet due
    await TryOnJob.get_pymongo_collection().update_one(
        {"_id": done.id}, {"$set": {"results_expire_at": done.results_expire_at.replace(year=2000)}}
    )
    assert await services.tryon.maintenance.purge_expired_results() == 1
    assert not await services.tryon.blobs.exists(done.results[0].key)
    gone = await client.get(f"/api/v1/tryon/{job_id}/base64", headers=account.auth)
    assert gone.status_code == 404
    assert gone.json()["code"] == "results_gone"
