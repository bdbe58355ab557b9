"""API keys: generation, listing, revocation, regeneration, scopes, origins, rate limits, last use."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from trailroom.core.config import Settings
from trailroom.core.errors import Unauthenticated
from trailroom.core.ratelimit import LeasedRateLimiter, Limit, RateLimiter
from trailroom.domain.accounts.jobs import flush_api_key_last_used
from trailroom.domain.accounts.models import ApiKey, User
from trailroom.domain.accounts.security import sha256_hex
from trailroom.domain.accounts.services import ApiKeyService
from trailroom.domain.services import Services
from trailroom.resources import Resources

from .helpers import after_draining_key, new_key, signed_up


def bearer(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


async def test_secret_key_is_shown_once_and_stored_as_a_hash(client: httpx.AsyncClient) -> None:
    account = await signed_up(client, "keys@example.com")
    created = await new_key(client, account)
    key = created["key"]
    assert key.startswith("tr_sk_")
    assert len(key) > 40
    assert created["prefix"] == key[:12] + "…"
    stored = await ApiKey.find_one(ApiKey.key_hash == sha256_hex(key))
    assert stored is not None
    assert key not in stored.model_dump_json()
    listing = await client.get("/api/v1/api-keys", headers=account.auth)
    assert listing.status_code == 200
    [item] = listing.json()["data"]
    assert item["id"] == created["id"]
    assert "key" not in item
    assert key not in listing.text
    # The key authenticates the account.
    me = await client.get("/api/v1/auth/me", headers=bearer(key))
    assert me.status_code == 200
    assert me.json()["user"]["email"] == "keys@example.com"
    assert me.json()["authenticated_via"] == "secret_key"
    assert me.headers["ratelimit-limit"] == "600"
    assert int(me.headers["ratelimit-remaining"]) <= 599


async def test_revoked_key_stops_working_at_once(client: httpx.AsyncClient) -> None:
    account = await signed_up(client, "revoke@example.com")
    created = await new_key(client, account)
    assert (await client.get("/api/v1/auth/me", headers=bearer(created["key"]))).status_code == 200
    deleted = await client.delete(f"/api/v1/api-keys/{created['id']}", headers=account.auth)
    assert deleted.status_code == 204
    response = await client.get("/api/v1/auth/me", headers=bearer(created["key"]))
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"
    assert (await client.get("/api/v1/api-keys", headers=account.auth)).json()["data"] == []


async def test_regenerate_replaces_the_secret(client: httpx.AsyncClient) -> None:
    account = await signed_up(client, "regen@example.com")
    created = await new_key(client, account)
    response = await client.post(f"/api/v1/api-keys/{created['id']}/regenerate", headers=account.auth)
    assert response.status_code == 200
    renewed = response.json()
    assert renewed["id"] == created["id"]
    assert renewed["name"] == created["name"]
    assert renewed["key"] != created["key"]
    assert renewed["rotated_at"] is not None
    assert (await client.get("/api/v1/auth/me", headers=bearer(created["key"]))).status_code == 401
    assert (await client.get("/api/v1/auth/me", headers=bearer(renewed["key"]))).status_code == 200


async def test_other_accounts_keys_are_invisible(client: httpx.AsyncClient) -> None:
    alice = await signed_up(client, "alice@example.com")
    bob = await signed_up(client, "bob@example.com")
    alices = await new_key(client, alice)
    for response in [
        await client.delete(f"/api/v1/api-keys/{alices['id']}", headers=bob.auth),
        await client.post(f"/api/v1/api-keys/{alices['id']}/regenerate", headers=bob.auth),
        await client.delete("/api/v1/api-keys/not-an-id", headers=bob.auth),
        await client.delete("/api/v1/api-keys/000000000000000000000000", headers=bob.auth),
    ]:
        assert response.status_code == 404
        assert response.json()["code"] == "api_key_not_found"
    assert (await client.get("/api/v1/api-keys", headers=bob.auth)).json()["data"] == []
    # Alice's key is untouched.
    assert (await client.get("/api/v1/auth/me", headers=bearer(alices["key"]))).status_code == 200


async def test_keys_cannot_manage_keys(client: httpx.AsyncClient) -> None:
    account = await signed_up(client, "nokeys@example.com")
    created = await new_key(client, account)
    response = await client.post("/api/v1/api-keys/generate", headers=bearer(created["key"]), json={"name": "x"})
    assert response.status_code == 403
    assert response.json()["code"] == "user_session_required"
    assert await ApiKey.count() == 1
    assert (await client.get("/api/v1/api-keys")).status_code == 401


async def test_publishable_key_needs_an_allowed_origin_and_stays_in_its_scope(client: httpx.AsyncClient) -> None:
    account = await signed_up(client, "shop@example.com")
    created = await new_key(
        client, account, kind="publishable", origins=["https://Shop.Example", "http://localhost:3000"]
    )
    key = created["key"]
    assert key.startswith("tr_pk_")
    assert created["allowed_origins"] == ["http://localhost:3000", "https://shop.example"]
    foreign = await client.get("/api/v1/auth/me", headers=bearer(key, Origin="https://evil.example"))
    assert foreign.status_code == 403
    assert foreign.json()["code"] == "origin_not_allowed"
    missing = await client.get("/api/v1/auth/me", headers=bearer(key))
    assert missing.status_code == 403
    assert missing.json()["code"] == "origin_not_allowed"
    # From an allowed origin it authenticates, but a secret-only route refuses it.
    scoped = await client.get("/api/v1/auth/me", headers=bearer(key, Origin="https://shop.example"))
    assert scoped.status_code == 403
    assert scoped.json()["code"] == "publishable_key_not_allowed"
    assert "user" not in scoped.json()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "p", "kind": "publishable"}, "invalid_origins"),
        ({"name": "p", "kind": "publishable", "allowed_origins": ["shop.example"]}, "invalid_origins"),
        ({"name": "p", "kind": "publishable", "allowed_origins": ["http://shop.example"]}, "invalid_origins"),
        ({"name": "p", "kind": "publishable", "allowed_origins": ["https://shop.example/path"]}, "invalid_origins"),
        ({"name": "s", "kind": "secret", "allowed_origins": ["https://shop.example"]}, "invalid_origins"),
        ({"name": "   ", "kind": "secret"}, "invalid_name"),
        ({"name": "x", "kind": "admin"}, "validation_failed"),
        ({"kind": "secret"}, "validation_failed"),
    ],
)
async def test_bad_key_requests_change_nothing(client: httpx.AsyncClient, body: dict, code: str) -> None:
    account = await signed_up(client, "bad@example.com")
    response = await client.post("/api/v1/api-keys/generate", headers=account.auth, json=body)
    assert 400 <= response.status_code < 500
    assert response.json()["code"] == code
    assert await ApiKey.count() == 0


async def test_rate_limit_per_key_answers_429_with_retry_after(
    client: httpx.AsyncClient, resources: Resources, settings: Settings
) -> None:
    account = await signed_up(client, "limit@example.com")
    created = await new_key(client, account)
    other = await new_key(client, account)
    # Drain the bucket as a burst of calls would.
    response = await after_draining_key(
        resources, settings, created["id"], lambda: client.get("/api/v1/auth/me", headers=bearer(created["key"]))
    )
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["ratelimit-remaining"] == "0"
    # Buckets are per key.
    assert (await client.get("/api/v1/auth/me", headers=bearer(other["key"]))).status_code == 200


async def test_token_bucket_never_allows_more_than_capacity_under_concurrency(resources: Resources) -> None:
    limiter = RateLimiter(resources.redis)
    limit = Limit(capacity=10, period_s=3600)
    decisions = await asyncio.gather(*(limiter.take("burst", limit) for _ in range(50)))
    assert sum(d.allowed for d in decisions) == 10
    assert all(d.retry_after_s > 0 for d in decisions if not d.allowed)


async def test_last_used_is_tracked_without_writing_on_each_call(client: httpx.AsyncClient, services: Services) -> None:
    account = await signed_up(client, "used@example.com")
    created = await new_key(client, account)
    assert (await client.get("/api/v1/auth/me", headers=bearer(created["key"]))).status_code == 200
    stored = await ApiKey.get(created["id"])
    assert stored is not None
    assert stored.last_used_at is None  # the request path did not write to the database
    listing = (await client.get("/api/v1/api-keys", headers=account.auth)).json()["data"]
    assert listing[0]["last_used_at"] is not None  # merged from Redis
    written = await flush_api_key_last_used({"services": services})
    assert written == 1
    stored = await ApiKey.get(created["id"])
    assert stored is not None
    assert stored.last_used_at is not None


async def _evalsha_calls(resources: Resources) -> int:
    stats = await resources.redis.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


async def test_leased_buckets_never_exceed_the_bucket_and_save_round_trips(resources: Resources) -> None:
    leased = LeasedRateLimiter(RateLimiter(resources.redis), max_lease=16)
    limit = Limit(100, 3600)  # refills one token every 36 s: nothing comes back during the test
    before = await _evalsha_calls(resources)
    allowed = 0
    for _ in range(60):
        allowed += (await leased.take("busy", limit)).allowed
    assert allowed == 60
    assert await _evalsha_calls(resources) - before < 15  # leases of 1, 2, 4, 8, 16, 16, ... tokens
    # Concurrent callers on top: the bucket (100) is the bound, and it is (nearly) all usable.
    results = await asyncio.gather(*(leased.take("busy", limit) for _ in range(200)))
    total = allowed + sum(r.allowed for r in results)
    assert 90 <= total <= 100
    refused = next(r for r in results if not r.allowed)
    assert refused.retry_after_s >= 1


async def test_sparse_traffic_takes_single_tokens(resources: Resources) -> None:
    leased = LeasedRateLimiter(RateLimiter(resources.redis), lease_s=0.05)
    limit = Limit(10, 3600)
    remaining = []
    for _ in range(3):
        remaining.append((await leased.take("sparse", limit)).remaining)
        await asyncio.sleep(0.15)  # past the lease and its grace: the next lease starts at 1 again
    assert remaining == [9, 8, 7]


async def test_an_expired_key_lookup_is_shared_by_concurrent_requests(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    account = await signed_up(client, "flight@example.com")
    created = await new_key(client, account)
    service = ApiKeyService(resources.redis, RateLimiter(resources.redis), cache_ttl_s=60)
    lookups = 0
    lookup = service._lookup

    async def counting_lookup(key_hash: str) -> tuple[ApiKey, User]:
        nonlocal lookups
        lookups += 1
        return await lookup(key_hash)

    service._lookup = counting_lookup  # type: ignore[method-assign]
    found = await asyncio.gather(*(service.authenticate(created["key"]) for _ in range(30)))
    assert lookups == 1
    assert {str(key.id) for key, _ in found} == {created["id"]}
    with pytest.raises(Unauthenticated):
        await asyncio.gather(*(service.authenticate("tr_sk_not-a-key") for _ in range(5)))
    assert lookups == 2
