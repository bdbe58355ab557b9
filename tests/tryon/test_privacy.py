"""A shopper's try-ons are reachable only by that shopper (and the merchant's account): a publishable
key reads a job it created, for the same platform-issued shopper id, with the job's client secret.
Job ids carry no guessable structure; shopper ids are issued (and capped) by the platform."""

from __future__ import annotations

import asyncio
import base64
import time
from collections import Counter

import httpx
from bson import ObjectId

from tests.helpers import Account, new_key, signed_up
from trailroom.core.config import Settings
from trailroom.domain.accounts.models import User
from trailroom.domain.credits.models import CreditTransaction
from trailroom.domain.services import Services
from trailroom.domain.tryon.models import TryOnJob

from .conftest import fund
from .test_widget_access import SHOP, TOP, new_shopper, pk_headers, publishable, upload


async def _create(client: httpx.AsyncClient, key: str, shopper: str, **headers: str) -> dict:
    response = await client.post(
        "/api/v1/tryon", headers={**pk_headers(key, shopper), **headers}, files=upload(), data=TOP
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


async def test_a_shopper_reads_only_their_own_job_and_only_with_its_client_secret(
    client: httpx.AsyncClient, account: Account, services: Services
) -> None:
    await fund(services, account, 10)
    key = (await publishable(client, account))["key"]
    alice, mallory = await new_shopper(client, key), await new_shopper(client, key)
    job = await _create(client, key, alice)
    secret = job["client_secret"]
    assert secret.startswith("tcs_")
    path = f"/api/v1/tryon/{job['id']}"

    owner = {**pk_headers(key, alice), "X-Client-Secret": secret}
    assert (await client.get(path, headers=owner)).status_code == 200
    seen = (await client.get(path, headers=owner)).json()
    assert "client_secret" not in seen  # handed out once, at creation

    attempts = {
        "another shopper with the secret": {**pk_headers(key, mallory), "X-Client-Secret": secret},
        "the shopper without the secret": pk_headers(key, alice),
        "a wrong secret": {**pk_headers(key, alice), "X-Client-Secret": "tcs_" + "0" * 40},
        "a forged shopper id": {**pk_headers(key, "shopper-aaaaaaaa"), "X-Client-Secret": secret},
        "no shopper id": {**pk_headers(key), "X-Client-Secret": secret},
    }
    for what, headers in attempts.items():
        for target in (path, f"{path}/events"):
            refused = await client.get(target, headers=headers)
            assert refused.status_code == 404, (what, target, refused.text)
            assert refused.json()["code"] == "tryon_not_found"

    # Another publishable key of the same account, with a shopper id of its own, sees nothing either.
    other_key = (await publishable(client, account))["key"]
    other_shopper = await new_shopper(client, other_key)
    foreign = {**pk_headers(other_key, other_shopper), "X-Client-Secret": secret}
    assert (await client.get(path, headers=foreign)).status_code == 404

    # The account itself (session or secret key) reads every job of its own.
    assert (await client.get(path, headers=account.auth)).status_code == 200


async def test_jobs_created_with_a_secret_key_or_a_session_are_never_readable_with_a_publishable_key(
    client: httpx.AsyncClient, account: Account, services: Services
) -> None:
    await fund(services, account, 10)
    key = (await publishable(client, account))["key"]
    shopper = await new_shopper(client, key)
    secret_key = (await new_key(client, account))["key"]
    server = {"Authorization": f"Bearer {secret_key}", "X-Shopper-ID": shopper}
    by_server = await client.post("/api/v1/tryon", headers=server, files=upload(), data=TOP)
    by_session = await client.post("/api/v1/tryon", headers=account.auth, files=upload(), data=TOP)
    for created in (by_server, by_session):
        assert created.status_code == 202, created.text
        assert "client_secret" not in created.json()
        response = await client.get(f"/api/v1/tryon/{created.json()['id']}", headers=pk_headers(key, shopper))
        assert response.status_code == 404


async def test_job_ids_carry_no_time_or_counter(client: httpx.AsyncClient, account: Account) -> None:
    """Generated ObjectIds are a timestamp and a counter: from one id, its neighbours were found in
    21 guesses. Ours are 12 random bytes."""
    ids = []
    for _ in range(3):
        response = await client.post("/api/v1/tryon", headers=account.auth, files=upload(), data=TOP)
        assert response.status_code == 202, response.text
        ids.append(ObjectId(response.json()["id"]))
    now = time.time()
    # The first 4 bytes of a generated ObjectId are the creation time; random ones land anywhere in 136 years.
    assert all(abs(oid.generation_time.timestamp() - now) > 3600 for oid in ids), ids
    tails = [int.from_bytes(oid.binary[-3:]) for oid in ids]
    assert max(tails) - min(tails) > 16, tails  # no running counter either


async def test_shopper_ids_are_issued_bound_to_their_key_and_capped_per_ip(
    client: httpx.AsyncClient, account: Account, services: Services, settings: Settings
) -> None:
    await fund(services, account, 10)
    key = (await publishable(client, account))["key"]
    other_key = (await publishable(client, account))["key"]
    charges_before = await CreditTransaction.count()

    # A name the browser made up, or one issued for another key, is refused before anything is charged.
    for shopper in ("shopper-aaaaaaaa", await new_shopper(client, other_key), None):
        refused = await client.post("/api/v1/tryon", headers=pk_headers(key, shopper), files=upload(), data=TOP)
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "invalid_shopper_id"
        assert refused.headers["access-control-allow-origin"] == SHOP
    assert await CreditTransaction.count() == charges_before
    assert await TryOnJob.count() == 0

    # Minting fresh ids for fresh daily caps is capped per IP and key (one was minted for `other_key`).
    minted = [
        await client.post("/api/v1/shoppers", headers=pk_headers(key)) for _ in range(settings.shopper_ids_per_ip_daily)
    ]
    assert {r.status_code for r in minted} == {201}
    assert len({r.json()["shopper_id"] for r in minted}) == settings.shopper_ids_per_ip_daily
    capped = await client.post("/api/v1/shoppers", headers=pk_headers(key))
    assert capped.status_code == 429
    assert capped.json()["code"] == "shopper_id_limit_reached"
    assert int(capped.headers["retry-after"]) > 0
    assert capped.headers["access-control-allow-origin"] == SHOP

    # The ids still work, and a secret key names its shoppers itself.
    await _create(client, key, minted[0].json()["shopper_id"])
    secret_key = (await new_key(client, account))["key"]
    server_mint = await client.post("/api/v1/shoppers", headers={"Authorization": f"Bearer {secret_key}"})
    assert server_mint.status_code == 403
    assert server_mint.json()["code"] == "publishable_key_required"


async def test_one_shoppers_idempotency_key_never_reaches_another_shoppers_job(
    client: httpx.AsyncClient, account: Account, services: Services
) -> None:
    await fund(services, account, 10)
    key = (await publishable(client, account))["key"]
    alice, mallory = await new_shopper(client, key), await new_shopper(client, key)
    files = upload()
    first = await client.post(
        "/api/v1/tryon", headers={**pk_headers(key, alice), "Idempotency-Key": "k-1"}, files=files, data=TOP
    )
    stolen = await client.post(
        "/api/v1/tryon", headers={**pk_headers(key, mallory), "Idempotency-Key": "k-1"}, files=files, data=TOP
    )
    assert first.status_code == stolen.status_code == 202
    assert "idempotent-replayed" not in stolen.headers
    assert stolen.json()["id"] != first.json()["id"]
    assert stolen.json()["client_secret"] != first.json()["client_secret"]


async def test_in_flight_limit_holds_under_concurrent_submissions(
    client: httpx.AsyncClient, account: Account, services: Services
) -> None:
    """30 concurrent submissions on a cap of 10 used to leave 11 in flight (the count ran before the charge)."""
    user = await fund(services, account, 50)
    await User.find_one(User.id == user.id).update({"$set": {"max_jobs_in_flight": 10}})
    body = {
        "mode": "top",
        "person_image": base64.b64encode(upload()["person_image"][1]).decode(),
        "garment_image": base64.b64encode(upload()["garment_image"][1]).decode(),
    }
    limits = httpx.Limits(max_connections=30, max_keepalive_connections=30)
    async with httpx.AsyncClient(base_url=str(client.base_url), limits=limits, timeout=120) as burst:
        responses = await asyncio.gather(
            *(burst.post("/api/v1/tryon", headers=account.auth, json=body) for _ in range(30))
        )
    codes = Counter(r.status_code for r in responses)
    assert codes == {202: 10, 429: 20}, codes
    assert {r.json()["code"] for r in responses if r.status_code == 429} == {"concurrency_limited"}
    assert await TryOnJob.find(TryOnJob.account_id == user.id).count() == 10
    balance = (await client.get("/api/v1/credits", headers=account.auth)).json()["balance"]
    assert balance == 53 - 10


async def test_a_stranger_account_never_sees_the_job(client: httpx.AsyncClient, account: Account) -> None:
    created = await client.post("/api/v1/tryon", headers=account.auth, files=upload(), data=TOP)
    stranger = await signed_up(client, "stranger@example.com")
    for suffix in ("", "/events", "/base64"):
        response = await client.get(f"/api/v1/tryon/{created.json()['id']}{suffix}", headers=stranger.auth)
        assert response.status_code == 404
