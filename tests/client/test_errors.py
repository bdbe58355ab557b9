"""Errors from the real app, and retries against a small local app that fails on purpose."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from litestar import Litestar, Request, Response, get, post

from tests.client.conftest import Merchant
from tests.conftest import serve
from tests.helpers import new_key
from trailroom.embedded.process import free_port
from trailroom_client import (
    APIConnectionError,
    AsyncTrailRoom,
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TrailRoom,
    TrailRoomError,
)

CREDITS = {
    "balance": 5,
    "free_daily_remaining": 3,
    "free_daily_allowance": 3,
    "purchased": 2,
    "free_resets_at": "2030-01-01T00:00:00Z",
    "costs": {"top": 1},
}
JOB = {
    "id": "job-1",
    "status": "queued",
    "mode": "top",
    "samples": 1,
    "credits_charged": 1,
    "created_at": "2030-01-01T00:00:00Z",
    "started_at": None,
    "completed_at": None,
    "error": None,
    "batch_id": None,
    "attempts": 0,
    "links": {"status": "/api/v1/tryon/job-1", "events": "", "base64": "", "results": []},
}


@dataclass
class Flaky:
    """Answers `failures` (status, headers) in order, then succeeds; records every request's headers."""

    port: int
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    calls: list[dict[str, str]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _answer(self, request: Request[Any, Any, Any], body: dict[str, Any], status: int) -> Response[Any]:
        self.calls.append(dict(request.headers))
        self.times.append(time.monotonic())
        if self.failures:
            code, headers = self.failures.pop(0)
            problem = {"status": code, "code": f"failure_{code}", "detail": "on purpose", "request_id": "req-x"}
            return Response(problem, status_code=code, headers=headers, media_type="application/problem+json")
        return Response(body, status_code=status)

    def app(self) -> Litestar:
        @get("/api/v1/credits")
        async def credits(request: Request[Any, Any, Any]) -> Response[Any]:
            return self._answer(request, CREDITS, 200)

        @post("/api/v1/tryon")
        async def create(request: Request[Any, Any, Any]) -> Response[Any]:
            return self._answer(request, JOB, 202)

        @post("/api/v1/tryon/batch")
        async def batch(request: Request[Any, Any, Any]) -> Response[Any]:
            return self._answer(request, {"batch_id": "b", "jobs": [JOB]}, 202)

        return Litestar(route_handlers=[credits, create, batch], logging_config=None)


@pytest.fixture
async def flaky() -> AsyncIterator[Flaky]:
    target = Flaky(port=free_port())
    async with serve(target.app(), "127.0.0.1", target.port):
        yield target


async def test_unknown_job_is_not_found_with_the_request_id(base_url: str, merchant: Merchant) -> None:
    async with AsyncTrailRoom(api_key=merchant.secret_key, base_url=base_url) as trailroom:
        with pytest.raises(NotFoundError) as caught:
            await trailroom.get_tryon("0123456789abcdef01234567")
    assert caught.value.status == 404
    assert caught.value.code
    assert caught.value.request_id
    assert isinstance(caught.value, TrailRoomError)


async def test_wrong_key_and_a_publishable_key_on_secret_routes(
    base_url: str, merchant: Merchant, client: httpx.AsyncClient
) -> None:
    async with AsyncTrailRoom(api_key="tr_sk_not-a-real-key", base_url=base_url) as wrong:
        with pytest.raises(AuthenticationError) as unauthenticated:
            await wrong.get_credits()
    assert unauthenticated.value.status == 401
    publishable = await new_key(client, merchant.account, kind="publishable", origins=["https://shop.example"])
    # As from a shop page (its allowed origin): the key is accepted, the route is not for it.
    async with (
        httpx.AsyncClient(headers={"Origin": "https://shop.example"}) as shop_page,
        AsyncTrailRoom(api_key=publishable["key"], base_url=base_url, http_client=shop_page) as shopper_side,
    ):
        with pytest.raises(PermissionDeniedError) as forbidden:
            await shopper_side.list_webhooks()
        assert forbidden.value.code == "publishable_key_not_allowed"
    async with AsyncTrailRoom(api_key=merchant.secret_key, base_url=base_url) as trailroom:
        assert await trailroom.list_webhooks() == []  # a secret key manages its account's webhooks
        with pytest.raises(InvalidRequestError) as invalid:
            await trailroom.create_tryon("not base64 at all!", "nor this", samples=9)
        assert invalid.value.status in (400, 422)


async def test_429_is_retried_after_the_servers_retry_after(flaky: Flaky) -> None:
    flaky.failures = [(429, {"Retry-After": "1"})]
    async with AsyncTrailRoom(api_key="k", base_url=flaky.url, max_retries=2, backoff_s=0) as trailroom:
        credits = await trailroom.get_credits()
    assert credits.balance == 5
    assert len(flaky.calls) == 2
    assert flaky.times[1] - flaky.times[0] >= 0.95  # no backoff of its own: the wait is Retry-After's


async def test_a_429_that_lifts_only_in_hours_is_raised_at_once(flaky: Flaky) -> None:
    flaky.failures = [(429, {"Retry-After": "7200"})]
    async with AsyncTrailRoom(api_key="k", base_url=flaky.url, max_retries=3, backoff_s=0) as trailroom:
        with pytest.raises(RateLimitError) as caught:
            await trailroom.get_credits()
    assert len(flaky.calls) == 1
    assert caught.value.retry_after == 7200


async def test_sync_client_retries_5xx_and_gives_up_after_max_retries(flaky: Flaky) -> None:
    flaky.failures = [(503, {}), (500, {})]

    def get_balance() -> int:
        with TrailRoom(api_key="k", base_url=flaky.url, max_retries=2, backoff_s=0.01) as trailroom:
            return trailroom.get_credits().balance

    assert await asyncio.to_thread(get_balance) == 5
    assert len(flaky.calls) == 3
    flaky.failures = [(429, {"Retry-After": "0"})] * 3
    flaky.calls.clear()
    async with AsyncTrailRoom(api_key="k", base_url=flaky.url, max_retries=2, backoff_s=0.01) as trailroom:
        with pytest.raises(RateLimitError) as caught:
            await trailroom.get_credits()
    assert len(flaky.calls) == 3
    assert caught.value.retry_after == 0
    assert caught.value.code == "failure_429"
    assert caught.value.request_id == "req-x"


async def test_retried_creates_carry_the_same_idempotency_key(flaky: Flaky) -> None:
    flaky.failures = [(502, {}), (503, {})]
    async with AsyncTrailRoom(api_key="k", base_url=flaky.url, max_retries=3, backoff_s=0.01) as trailroom:
        job = await trailroom.create_tryon(b"person", b"garment")
        assert job.id == "job-1"
        keys = {headers["idempotency-key"] for headers in flaky.calls}
        assert len(flaky.calls) == 3
        assert len(keys) == 1
        flaky.calls.clear()
        await trailroom.create_tryon("https://example.com/p.jpg", "https://example.com/g.jpg")
        assert flaky.calls[0]["idempotency-key"] not in keys  # a new key for a new create
        assert flaky.calls[0]["content-type"] == "application/json"


async def test_batches_without_a_key_are_not_resent_after_a_server_error(flaky: Flaky) -> None:
    flaky.failures = [(500, {})]
    async with AsyncTrailRoom(api_key="k", base_url=flaky.url, max_retries=3, backoff_s=0.01) as trailroom:
        with pytest.raises(ServerError) as caught:
            await trailroom.batch_tryon([{"garment_image": "https://example.com/g.jpg"}], person_image="x")
    assert caught.value.status == 500
    assert len(flaky.calls) == 1


async def test_connection_errors_are_retried_then_raised() -> None:
    port = free_port()  # nothing listens there
    started = time.monotonic()
    async with AsyncTrailRoom(api_key="k", base_url=f"http://127.0.0.1:{port}", max_retries=2, backoff_s=0.2) as tr:
        with pytest.raises(APIConnectionError):
            await tr.get_credits()
    assert time.monotonic() - started >= 0.2  # two backoffs of at least half their ceiling (0.1 + 0.2)
