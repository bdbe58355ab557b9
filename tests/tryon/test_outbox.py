"""Redis away: the database is the truth for accepted try-ons, and everything recovers by itself.

These tests kill the session's real redis-server (SIGKILL, like a crash) and start it again on the
same port; it runs without persistence, so its queue comes back empty, the worst case.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from beanie import PydanticObjectId

from tests.conftest import running_workers
from tests.fakes.engines import ScriptedEngine
from tests.helpers import Account, new_key
from tests.test_credits import assert_ledger_matches
from tests.tryon.test_pipeline import payload, wait_for
from trailroom.core.config import Settings
from trailroom.domain.credits.models import CreditTransaction, TransactionKind
from trailroom.domain.services import Services
from trailroom.domain.tryon.models import JobStatus, TryOnJob
from trailroom.embedded.services import EmbeddedMongo, EmbeddedRedis


@asynccontextmanager
async def redis_down(embedded_redis: EmbeddedRedis) -> AsyncIterator[None]:
    """redis-server killed for the block (SIGKILL), started again on its port afterwards, whatever happens."""
    popen = embedded_redis.process.popen
    assert popen is not None
    popen.kill()
    popen.wait(10)
    try:
        yield
    finally:
        await asyncio.to_thread(embedded_redis.restart)


async def usage_entries(account_id: PydanticObjectId) -> list[CreditTransaction]:
    return await CreditTransaction.find(
        CreditTransaction.account_id == account_id, CreditTransaction.kind == TransactionKind.USAGE
    ).to_list()


async def test_api_key_calls_answer_503_with_retry_after_while_redis_is_down(
    client: httpx.AsyncClient, account: Account, embedded_redis: EmbeddedRedis
) -> None:
    key = await new_key(client, account)
    auth = {"Authorization": f"Bearer {key['key']}"}
    assert (await client.get("/api/v1/credits", headers=auth)).status_code == 200
    async with redis_down(embedded_redis):
        for path in ("/api/v1/credits", "/api/v1/tryon/history?limit=5"):
            response = await client.get(path, headers=auth)
            assert response.status_code == 503, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.headers["retry-after"].isdigit()
            problem = response.json()
            assert problem["code"] == "service_unavailable"
            assert problem["request_id"]
    # Back by itself once Redis is: the client reconnects.
    assert (await client.get("/api/v1/credits", headers=auth)).status_code == 200


async def test_calls_answer_503_with_retry_after_while_the_database_is_down(
    client: httpx.AsyncClient, account: Account, embedded_mongo: EmbeddedMongo, settings: Settings
) -> None:
    assert (await client.get("/api/v1/credits", headers=account.auth)).status_code == 200
    popen = embedded_mongo.process.popen
    assert popen is not None
    popen.kill()
    popen.wait(10)
    try:
        await asyncio.sleep(settings.auth_cache_ttl_s + 0.5)  # past the cached sign-in lookups
        response = await client.get("/api/v1/credits", headers=account.auth)
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"].isdigit()
        assert response.json()["code"] == "service_unavailable"
    finally:
        await asyncio.to_thread(embedded_mongo.restart)
    deadline = time.monotonic() + 30
    while (await client.get("/api/v1/credits", headers=account.auth)).status_code != 200:
        assert time.monotonic() < deadline, "the API did not answer again after the database came back"
        await asyncio.sleep(0.5)


async def test_a_try_on_submitted_while_redis_is_down_is_accepted_once_and_runs_when_it_is_back(
    client: httpx.AsyncClient,
    services: Services,
    account: Account,
    embedded_redis: EmbeddedRedis,
    use_scripted: ScriptedEngine,
    person_png: bytes,
    garment_png: bytes,
) -> None:
    async with redis_down(embedded_redis):
        response = await client.post("/api/v1/tryon", headers=account.auth, json=payload(person_png, garment_png))
        # Accepted (the database holds it, with its id) or refused with nothing charged: never a 500.
        assert response.status_code in (202, 503), response.text
        user_jobs = await TryOnJob.find({}).to_list()
        if response.status_code == 503:
            assert response.headers["retry-after"].isdigit()
            assert user_jobs == []
            return
        job_id = response.json()["id"]
        [job] = user_jobs
        assert str(job.id) == job_id
        assert job.status == JobStatus.QUEUED
        assert job.dispatched is False  # waits in the outbox
        [charge] = await usage_entries(job.account_id)
        assert charge.amount == -1
    # Redis is back, empty: the worker's dispatcher queues the job and it runs, charged once.
    async with running_workers(services):
        done = await wait_for(job_id, JobStatus.COMPLETED, timeout=20)
    assert done.dispatched is True
    assert len(await usage_entries(done.account_id)) == 1
    await assert_ledger_matches(done.account_id)


async def test_workers_pause_quietly_while_redis_is_down_and_the_jobs_resume_in_seconds(
    client: httpx.AsyncClient,
    services: Services,
    account: Account,
    embedded_redis: EmbeddedRedis,
    use_scripted: ScriptedEngine,
    person_png: bytes,
    garment_png: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Queued in Redis before the crash; the crash loses its queue entry.
    before = await client.post("/api/v1/tryon", headers=account.auth, json=payload(person_png, garment_png))
    assert before.status_code == 202, before.text
    queued = await TryOnJob.get(PydanticObjectId(before.json()["id"]))
    assert queued is not None
    assert queued.dispatched
    caplog.set_level(logging.INFO)
    async with running_workers(services):
        async with redis_down(embedded_redis):
            during = await client.post("/api/v1/tryon", headers=account.auth, json=payload(person_png, garment_png))
            assert during.status_code == 202, during.text
            seen = len(caplog.records)
            cpu, wall = time.process_time(), time.monotonic()
            await asyncio.sleep(4)
            cpu_used = time.process_time() - cpu
            outage_records = caplog.records[seen:]
        back = time.monotonic()
        ids = [before.json()["id"], during.json()["id"]]
        for job_id in ids:
            await wait_for(job_id, JobStatus.COMPLETED, timeout=20)
        recovered_in = time.monotonic() - back

    # A busy loop would burn the whole 4 s; waiting costs a ping now and then.
    assert cpu_used < 0.25 * (time.monotonic() - wall), f"{cpu_used:.2f} s of CPU while Redis was down"
    # Quiet: at most the one outage line, no traceback per loop (SAQ's are dropped).
    assert [r for r in outage_records if r.exc_info] == []
    assert len(outage_records) <= 2, [r.getMessage()[:200] for r in outage_records]
    paused = [r for r in caplog.records if "worker paused" in r.getMessage()]
    resumed = [r for r in caplog.records if "worker resumed" in r.getMessage()]
    assert len(paused) == 1
    assert len(resumed) == 1
    assert recovered_in < 10, f"jobs took {recovered_in:.1f} s to finish after Redis came back"
    first = await TryOnJob.get(PydanticObjectId(ids[0]))
    assert first is not None
    await assert_ledger_matches(first.account_id)


async def test_concurrent_dispatchers_queue_each_job_once(
    client: httpx.AsyncClient,
    services: Services,
    account: Account,
    embedded_redis: EmbeddedRedis,
    person_png: bytes,
    garment_png: bytes,
) -> None:
    async with redis_down(embedded_redis):
        for _ in range(3):
            response = await client.post("/api/v1/tryon", headers=account.auth, json=payload(person_png, garment_png))
            assert response.status_code == 202, response.text
    await TryOnJob.get_pymongo_collection().update_many({}, {"$currentDate": {"dispatch_at": True}})
    await asyncio.sleep(0.05)
    tryon = services.tryon
    counts = await asyncio.gather(*(tryon.dispatch.dispatch_pending(grace_s=0) for _ in range(4)))
    assert sum(counts) >= 3
    assert await tryon.dispatch.queue.count("queued") == 3  # SAQ's job keys: one entry per attempt
    assert await TryOnJob.find({"dispatched": False}).count() == 0
    assert await tryon.dispatch.dispatch_pending(grace_s=0) == 0
