"""Usage analytics: counted calls match the calls made, per account, period, endpoint and time zone."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import httpx
import pytest
from beanie import PydanticObjectId

from tests.helpers import new_key, signed_up
from tests.tryon.conftest import small_png
from trailroom.domain.analytics.models import UsageEvent, UsageHourly
from trailroom.domain.analytics.recorder import Call
from trailroom.domain.services import Services


async def test_calls_are_counted_per_account_and_endpoint(client: httpx.AsyncClient, services: Services) -> None:
    alice = await signed_up(client, "alice-stats@example.com")
    bob = await signed_up(client, "bob-stats@example.com")
    key = (await new_key(client, alice))["key"]
    with_key = {"Authorization": f"Bearer {key}"}
    for _ in range(4):
        assert (await client.get("/api/v1/credits", headers=with_key)).status_code == 200
    for _ in range(2):
        assert (await client.get("/api/v1/tryon/000000000000000000000000", headers=with_key)).status_code == 404
    body = {
        "mode": "top",
        "person_image": base64.b64encode(small_png()).decode(),
        "garment_image": base64.b64encode(small_png((0, 0, 200))).decode(),
    }
    assert (await client.post("/api/v1/tryon", headers=with_key, json=body)).status_code == 202
    assert (await client.get("/api/v1/credits", headers=bob.auth)).status_code == 200
    await services.usage.flush()

    usage = (await client.get("/api/v1/analytics/usage", headers=alice.auth)).json()
    # Alice's own calls: 4 + 2 + 1 with the key, 1 api-keys/generate with her token; this query is counted later.
    [today] = usage["data"]
    assert today["calls"] == 8
    assert today["errors"] == 2
    assert today["error_rate"] == pytest.approx(0.25)
    assert today["credits"] == 1
    endpoints = (await client.get("/api/v1/analytics/endpoints", headers=alice.auth)).json()["data"]
    by_route = {(e["method"], e["route"]): e for e in endpoints}
    assert by_route[("GET", "/api/v1/credits")]["calls"] == 4
    assert by_route[("GET", "/api/v1/tryon/{job_id}")]["errors"] == 2
    assert by_route[("POST", "/api/v1/tryon")]["calls"] == 1
    # Bob sees only his own call.
    await services.usage.flush()
    bobs = (await client.get("/api/v1/analytics/usage", headers=bob.auth)).json()["data"]
    assert sum(p["calls"] for p in bobs) == 1
    # One by one, only the calls worth a look are kept: the two errors and the charged try-on.
    kept = await UsageEvent.find_all().to_list()
    assert sorted((e.status, e.credits) for e in kept) == [(202, 1), (404, 0), (404, 0)]


async def test_credit_analytics_come_from_the_ledger(client: httpx.AsyncClient, services: Services) -> None:
    account = await signed_up(client, "ledger-stats@example.com")
    body = {
        "mode": "top",
        "person_image": base64.b64encode(small_png()).decode(),
        "garment_image": base64.b64encode(small_png((0, 0, 200))).decode(),
    }
    for _ in range(2):
        assert (await client.post("/api/v1/tryon", headers=account.auth, json=body)).status_code == 202
    [today] = (await client.get("/api/v1/analytics/credits", headers=account.auth)).json()["data"]
    assert today["used"] == 2
    assert today["free_granted"] == 3


async def test_periods_follow_the_time_zone(client: httpx.AsyncClient, services: Services) -> None:
    account = await signed_up(client, "tz-stats@example.com")
    user_id = (await client.get("/api/v1/auth/me", headers=account.auth)).json()["user"]["id"]

    # 22:30 UTC on Nov 1 is Nov 2 in Kolkata (+05:30) but Nov 1 in New York.
    late = datetime(2026, 11, 1, 22, 30, tzinfo=UTC)
    services.usage.record(Call(PydanticObjectId(user_id), None, "GET", "/api/v1/credits", 200, 3.0, 0, late))
    services.usage.record(Call(PydanticObjectId(user_id), None, "GET", "/api/v1/credits", 500, 5.0, 0, late))
    await services.usage.flush()
    params = {"from": "2026-10-30T00:00:00Z", "to": "2026-11-04T00:00:00Z"}
    kolkata = (
        await client.get("/api/v1/analytics/usage", headers=account.auth, params={**params, "tz": "Asia/Kolkata"})
    ).json()["data"]
    new_york = (
        await client.get("/api/v1/analytics/usage", headers=account.auth, params={**params, "tz": "America/New_York"})
    ).json()["data"]
    assert [p["period_start"][:10] for p in kolkata] == ["2026-11-01"]  # local midnight Nov 2 = 18:30Z Nov 1
    assert datetime.fromisoformat(kolkata[0]["period_start"]) == datetime(2026, 11, 1, 18, 30, tzinfo=UTC)
    assert datetime.fromisoformat(new_york[0]["period_start"]) == datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    assert kolkata[0]["server_errors"] == 1
    monthly = (
        await client.get("/api/v1/analytics/usage", headers=account.auth, params={**params, "granularity": "month"})
    ).json()["data"]
    assert datetime.fromisoformat(monthly[0]["period_start"]) == datetime(2026, 11, 1, tzinfo=UTC)
    assert await UsageHourly.find(UsageHourly.hour == late.replace(minute=0)).count() == 1


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"tz": "Mars/Olympus"}, "invalid_timezone"),
        ({"granularity": "year"}, "invalid_range"),
        ({"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "invalid_range"),
        ({"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "invalid_range"),
    ],
)
async def test_bad_ranges_are_problems(client: httpx.AsyncClient, params: dict[str, str], code: str) -> None:
    account = await signed_up(client, "range@example.com")
    response = await client.get("/api/v1/analytics/usage", headers=account.auth, params=params)
    assert response.status_code == 422
    assert response.json()["code"] == code
    assert (await client.get("/api/v1/analytics/usage")).status_code == 401
