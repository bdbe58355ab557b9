"""The platform foundation: probes, problem details, request ids, OpenAPI, queues and cron."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from saq import Job

from trailroom.domain.services import Services
from trailroom.domain.system.heartbeat import HEARTBEAT_KEY
from trailroom.resources import Resources
from trailroom.worker.queues import DEFAULT_QUEUE

from .conftest import running_workers


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"].startswith("req_")


async def test_readyz_checks_database_and_redis(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"] == {"mongodb": "ok", "redis": "ok"}


async def test_unknown_route_is_a_problem_with_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here", headers={"X-Request-ID": "trace-abc-123"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 404
    assert problem["code"] == "not_found"
    assert problem["title"]
    assert problem["instance"] == "/api/v1/nothing-here"
    assert problem["type"].endswith("#not_found")
    # A well-formed incoming id is kept, so a caller can correlate its own logs with ours.
    assert problem["request_id"] == "trace-abc-123"
    assert response.headers["x-request-id"] == "trace-abc-123"


async def test_malformed_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert response.headers["x-request-id"].startswith("req_")


async def test_wrong_method_is_a_problem(client: httpx.AsyncClient) -> None:
    response = await client.delete("/healthz")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_openapi_document_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["info"]["title"] == "TrailRoom API"
    assert "/healthz" in spec["paths"]
    assert "/readyz" in spec["paths"]


async def test_interactive_reference_uses_local_assets(client: httpx.AsyncClient) -> None:
    page = await client.get("/schema")
    assert page.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page.text
    # No CDN: the assets the page loads are ours.
    assert "cdn.jsdelivr" not in page.text
    assert "unpkg.com" not in page.text
    asset = await client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert len(asset.content) > 100_000


async def test_jobs_run_through_real_workers(resources: Resources, services: Services) -> None:
    queue = resources.queues.by_name(DEFAULT_QUEUE)
    assert queue is resources.queues.default
    # SAQ's sweeper can abort a job dequeued in the same instant as a worker starts; jobs are
    # therefore enqueued with more than one attempt (SAQ's `retries` counts attempts).
    job = await queue.enqueue("record_heartbeat", retries=3)
    assert isinstance(job, Job)
    async with running_workers(services):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            await job.refresh()
            if job.status == "complete":
                break
            await asyncio.sleep(0.05)
    assert job.status == "complete"
    assert isinstance(job.result, float)
    assert await resources.redis.get(HEARTBEAT_KEY) is not None


async def test_cron_scheduler_runs_the_heartbeat(
    resources: Resources, services: Services, client: httpx.AsyncClient
) -> None:
    # The test settings schedule the heartbeat every second (six-field cron).
    assert await resources.redis.get(HEARTBEAT_KEY) is None
    async with running_workers(services):
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and await resources.redis.get(HEARTBEAT_KEY) is None:
            await asyncio.sleep(0.1)
    assert await resources.redis.get(HEARTBEAT_KEY) is not None
    ready = (await client.get("/readyz")).json()
    assert ready["worker_heartbeat_age_s"] is not None
    assert ready["worker_heartbeat_age_s"] < 10


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_probes_are_documented(client: httpx.AsyncClient, path: str) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    assert "get" in spec["paths"][path]
