"""The widget's direct mode: CORS only for a publishable key's origins, and daily caps per shopper
(browser id and IP) so one visitor cannot drain a merchant's credits."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.helpers import Account, after_draining_key, new_key
from trailroom.core.config import Settings
from trailroom.domain.credits.models import CreditTransaction
from trailroom.domain.services import Services
from trailroom.domain.tryon.models import TryOnJob
from trailroom.resources import Resources

from .conftest import fund, small_png

SHOP = "https://shop.example"
TOP = {"mode": "top"}


def pk_headers(key: str, shopper: str | None = None, origin: str | None = SHOP) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if origin:
        headers["Origin"] = origin
    if shopper:
        headers["X-Shopper-ID"] = shopper
    return headers


def upload() -> dict[str, tuple[str, bytes, str]]:
    return {
        "person_image": ("me.png", small_png((90, 90, 90)), "image/png"),
        "garment_image": ("shirt.png", small_png((10, 60, 200), (300, 300)), "image/png"),
    }


async def new_shopper(client: httpx.AsyncClient, key: str, origin: str = SHOP) -> str:
    """A shopper id the platform issues to a browser for this publishable key."""
    response = await client.post("/api/v1/shoppers", headers=pk_headers(key, origin=origin))
    assert response.status_code == 201, response.text
    return str(response.json()["shopper_id"])


async def publishable(client: httpx.AsyncClient, account: Account, **limits: int) -> dict:
    body = {"name": "widget", "kind": "publishable", "allowed_origins": [SHOP], **limits}
    response = await client.post("/api/v1/api-keys/generate", headers=account.auth, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_preflight_is_answered_only_for_known_origins_and_try_on_paths(
    client: httpx.AsyncClient, account: Account
) -> None:
    await publishable(client, account)
    asks = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,x-shopper-id"}
    ok = await client.options("/api/v1/tryon", headers={"Origin": SHOP, **asks})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == SHOP
    assert "x-shopper-id" in ok.headers["access-control-allow-headers"].lower()
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    status = await client.options("/api/v1/tryon/0123456789abcdef01234567/events", headers={"Origin": SHOP, **asks})
    assert status.status_code == 204

    for path, origin in [("/api/v1/tryon", "https://evil.example"), ("/api/v1/credits", SHOP)]:
        refused = await client.options(path, headers={"Origin": origin, **asks})
        assert refused.status_code == 403
        assert refused.json()["code"] == "origin_not_allowed"
        assert "access-control-allow-origin" not in refused.headers


async def test_allowed_origin_gets_cors_headers_on_success_and_on_errors(
    client: httpx.AsyncClient, account: Account, use_scripted: object
) -> None:
    key = (await publishable(client, account))["key"]
    shopper = await new_shopper(client, key)
    accepted = await client.post("/api/v1/tryon", headers=pk_headers(key, shopper), files=upload(), data=TOP)
    assert accepted.status_code == 202, accepted.text
    assert accepted.headers["access-control-allow-origin"] == SHOP
    assert "Retry-After" in accepted.headers["access-control-expose-headers"]
    job = await TryOnJob.get(accepted.json()["id"])
    assert job is not None
    assert shopper == f"shp_{job.client['shopper_id']}." + shopper.split(".")[1]

    reader = {**pk_headers(key, shopper), "X-Client-Secret": accepted.json()["client_secret"]}
    status = await client.get(f"/api/v1/tryon/{accepted.json()['id']}", headers=reader)
    assert status.status_code == 200
    assert status.headers["access-control-allow-origin"] == SHOP

    # A problem answer must be readable by the widget too (else it only sees a network error).
    bad = await client.post(
        "/api/v1/tryon",
        headers=pk_headers(key, shopper),
        files={"person_image": ("x.png", b"not an image", "image/png")},
    )
    assert 400 <= bad.status_code < 500
    assert bad.headers["access-control-allow-origin"] == SHOP

    foreign = await client.get(
        f"/api/v1/tryon/{accepted.json()['id']}", headers={**reader, "Origin": "https://x.example"}
    )
    assert foreign.status_code == 403
    assert "access-control-allow-origin" not in foreign.headers


async def test_key_rate_limit_answers_with_cors_headers(
    client: httpx.AsyncClient, account: Account, resources: Resources, settings: Settings
) -> None:
    created = await publishable(client, account)
    path = "/api/v1/tryon/0123456789abcdef01234567"
    limited = await after_draining_key(
        resources, settings, created["id"], lambda: client.get(path, headers=pk_headers(created["key"]))
    )
    assert limited.status_code == 429
    assert limited.headers["access-control-allow-origin"] == SHOP
    assert int(limited.headers["retry-after"]) >= 1


async def test_same_origin_page_may_omit_origin_only_when_the_key_allows_the_platform(
    client: httpx.AsyncClient, account: Account, base_url: str
) -> None:
    body = {"name": "demo", "kind": "publishable", "allowed_origins": [base_url]}
    own = (await client.post("/api/v1/api-keys/generate", headers=account.auth, json=body)).json()["key"]
    other = (await publishable(client, account))["key"]
    same_origin = {"Sec-Fetch-Site": "same-origin"}
    path = "/api/v1/tryon/0123456789abcdef01234567"
    assert (await client.get(path, headers={**pk_headers(own, origin=None), **same_origin})).status_code == 404
    refused = await client.get(path, headers={**pk_headers(other, origin=None), **same_origin})
    assert refused.json()["code"] == "origin_not_allowed"
    cross_site = await client.get(path, headers={**pk_headers(own, origin=None), "Sec-Fetch-Site": "cross-site"})
    assert cross_site.json()["code"] == "origin_not_allowed"


async def test_shopper_cap_refuses_the_next_try_on_and_charges_nothing(
    client: httpx.AsyncClient, account: Account, services: Services, use_scripted: object
) -> None:
    await fund(services, account, 20)
    key = (await publishable(client, account, shopper_daily_limit=2, ip_daily_limit=3))["key"]
    shopper = await new_shopper(client, key)
    for _ in range(2):
        ok = await client.post("/api/v1/tryon", headers=pk_headers(key, shopper), files=upload(), data=TOP)
        assert ok.status_code == 202, ok.text
    charges_before = await CreditTransaction.count()

    capped = await client.post("/api/v1/tryon", headers=pk_headers(key, shopper), files=upload(), data=TOP)
    assert capped.status_code == 429
    assert capped.json()["code"] == "shopper_limit_reached"
    assert 0 < int(capped.headers["retry-after"]) <= 86_400
    assert capped.headers["access-control-allow-origin"] == SHOP
    assert await CreditTransaction.count() == charges_before
    assert await TryOnJob.count() == 2

    # Another browser id on the same IP gets one more (IP cap 3), then the IP is capped too.
    second, third_shopper = await new_shopper(client, key), await new_shopper(client, key)
    assert (
        await client.post("/api/v1/tryon", headers=pk_headers(key, second), files=upload(), data=TOP)
    ).status_code == 202
    third = await client.post("/api/v1/tryon", headers=pk_headers(key, third_shopper), files=upload(), data=TOP)
    assert third.json()["code"] == "shopper_limit_reached"
    assert "network" in third.json()["detail"]


async def test_refused_and_replayed_submissions_do_not_use_up_the_cap(
    client: httpx.AsyncClient, account: Account, use_scripted: object
) -> None:
    key = (await publishable(client, account, shopper_daily_limit=1))["key"]
    shopper = await new_shopper(client, key)
    broken = {"person_image": ("x.png", b"not an image", "image/png"), "garment_image": ("g.png", b"nope", "image/png")}
    refused = await client.post("/api/v1/tryon", headers=pk_headers(key, shopper), files=broken, data=TOP)
    assert refused.status_code == 422
    headers = {**pk_headers(key, shopper), "Idempotency-Key": "order-1"}
    files = upload()
    first = await client.post("/api/v1/tryon", headers=headers, files=files, data=TOP)
    assert first.status_code == 202, first.text
    replay = await client.post("/api/v1/tryon", headers=headers, files=files, data=TOP)
    assert replay.status_code == 202
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["client_secret"] == first.json()["client_secret"]
    capped = await client.post("/api/v1/tryon", headers=pk_headers(key, shopper), files=upload(), data=TOP)
    assert capped.status_code == 429


async def test_concurrent_submissions_never_pass_the_cap(
    client: httpx.AsyncClient, account: Account, services: Services, use_scripted: object
) -> None:
    await fund(services, account, 50)
    key = (await publishable(client, account, shopper_daily_limit=3))["key"]
    shopper = await new_shopper(client, key)
    responses = await asyncio.gather(
        *(client.post("/api/v1/tryon", headers=pk_headers(key, shopper), files=upload(), data=TOP) for _ in range(10))
    )
    assert sorted(r.status_code for r in responses) == [202] * 3 + [429] * 7
    assert await TryOnJob.count() == 3


async def test_secret_key_is_capped_only_when_it_names_the_shopper(
    client: httpx.AsyncClient, account: Account, services: Services, use_scripted: object
) -> None:
    await fund(services, account, 20)
    created = await new_key(client, account)
    await client.patch(f"/api/v1/api-keys/{created['id']}", headers=account.auth, json={"ip_daily_limit": 1})
    server = {"Authorization": f"Bearer {created['key']}"}
    for _ in range(2):
        assert (await client.post("/api/v1/tryon", headers=server, files=upload(), data=TOP)).status_code == 202
    proxied = {**server, "X-Shopper-ID": "session-1", "X-Shopper-IP": "203.0.113.7"}
    assert (await client.post("/api/v1/tryon", headers=proxied, files=upload(), data=TOP)).status_code == 202
    again = await client.post(
        "/api/v1/tryon", headers={**proxied, "X-Shopper-ID": "session-2"}, files=upload(), data=TOP
    )
    assert again.status_code == 429
    assert again.json()["code"] == "shopper_limit_reached"


async def test_key_limits_are_updated_validated_and_private(client: httpx.AsyncClient, account: Account) -> None:
    created = await publishable(client, account, shopper_daily_limit=5)
    assert created["shopper_daily_limit"] == 5
    assert created["ip_daily_limit"] is None
    path = f"/api/v1/api-keys/{created['id']}"
    updated = await client.patch(path, headers=account.auth, json={"ip_daily_limit": 40, "name": "storefront"})
    assert updated.status_code == 200
    assert (updated.json()["shopper_daily_limit"], updated.json()["ip_daily_limit"]) == (5, 40)
    assert updated.json()["name"] == "storefront"
    reset = await client.patch(path, headers=account.auth, json={"shopper_daily_limit": None})
    assert reset.json()["shopper_daily_limit"] is None
    assert reset.json()["allowed_origins"] == [SHOP]

    for body in ({"shopper_daily_limit": 0}, {"allowed_origins": []}, {"name": " "}, {"unknown": 1}):
        bad = await client.patch(path, headers=account.auth, json=body)
        assert 400 <= bad.status_code < 500, body
    after = (await client.get("/api/v1/api-keys", headers=account.auth)).json()["data"][0]
    assert (after["name"], after["ip_daily_limit"], after["allowed_origins"]) == ("storefront", 40, [SHOP])

    from tests.helpers import signed_up

    stranger = await signed_up(client, "stranger@example.com")
    assert (await client.patch(path, headers=stranger.auth, json={"name": "mine"})).status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/credits", "/api/v1/tryon/history"])
async def test_publishable_key_still_cannot_reach_other_routes(
    client: httpx.AsyncClient, account: Account, path: str
) -> None:
    key = (await publishable(client, account))["key"]
    response = await client.get(path, headers=pk_headers(key))
    assert response.status_code == 403
    assert response.json()["code"] == "publishable_key_not_allowed"
