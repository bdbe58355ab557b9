"""Credits: balance, free daily allowance, ledger integrity, spends under concurrency, refunds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from beanie import PydanticObjectId

from trailroom.core.errors import PaymentRequired
from trailroom.core.transactions import in_transaction
from trailroom.domain.accounts.models import User
from trailroom.domain.credits.jobs import grant_daily_credits
from trailroom.domain.credits.models import CreditTransaction, TransactionKind
from trailroom.domain.credits.services import utc_day
from trailroom.domain.events.models import CREDITS_LOW, DomainEvent
from trailroom.domain.services import Services

from .helpers import Account, signed_up


async def user_of(account: Account) -> User:
    user = await User.find_one(User.email == account.email)
    assert user is not None
    return user


async def assert_ledger_matches(user_id: PydanticObjectId) -> int:
    """The stored balance equals the sum of the ledger, and every entry's balance_after chains."""
    user = await User.get(user_id)
    assert user is not None
    entries = await CreditTransaction.find(CreditTransaction.account_id == user_id).sort("+created_at").to_list()
    total = sum(e.amount for e in entries)
    assert total == user.free_daily_credits + user.purchased_credits
    assert sum(e.free_delta for e in entries) == user.free_daily_credits
    assert sum(e.purchased_delta for e in entries) == user.purchased_credits
    assert user.free_daily_credits >= 0
    assert user.purchased_credits >= 0
    return total


async def spend(services: Services, user_id: PydanticObjectId, cost: int) -> None:
    await in_transaction(
        services.resources.mongo,
        lambda s: services.credits.spend(s, user_id, cost, job_ids=[], description="test spend"),
    )


async def test_new_account_sees_its_free_daily_credits(client: httpx.AsyncClient) -> None:
    account = await signed_up(client, "fresh@example.com")
    response = await client.get("/api/v1/credits", headers=account.auth)
    assert response.status_code == 200
    body = response.json()
    assert body["balance"] == 3
    assert body["free_daily_remaining"] == 3
    assert body["purchased"] == 0
    assert body["costs"] == {"top": 1, "bottom": 1, "dress": 1, "full": 2}
    resets = datetime.fromisoformat(body["free_resets_at"])
    assert resets.hour == 0
    assert resets.minute == 0
    assert timedelta(0) < resets - datetime.now(UTC) <= timedelta(days=1)


async def test_free_credits_are_spent_before_purchased(client: httpx.AsyncClient, services: Services) -> None:
    account = await signed_up(client, "order@example.com")
    user = await user_of(account)
    await services.credits.add(user.id, 10, kind=TransactionKind.PURCHASE, description="test purchase")  # type: ignore[arg-type]
    await spend(services, user.id, 2)  # type: ignore[arg-type]
    body = (await client.get("/api/v1/credits", headers=account.auth)).json()
    assert (body["free_daily_remaining"], body["purchased"], body["balance"]) == (1, 10, 11)
    await spend(services, user.id, 3)  # type: ignore[arg-type]
    body = (await client.get("/api/v1/credits", headers=account.auth)).json()
    assert (body["free_daily_remaining"], body["purchased"], body["balance"]) == (0, 8, 8)
    assert await assert_ledger_matches(user.id) == 8  # type: ignore[arg-type]


async def test_spend_beyond_the_balance_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, services: Services
) -> None:
    account = await signed_up(client, "poor@example.com")
    user = await user_of(account)
    with pytest.raises(PaymentRequired):
        await spend(services, user.id, 4)  # type: ignore[arg-type]
    await spend(services, user.id, 3)  # type: ignore[arg-type]
    with pytest.raises(PaymentRequired):
        await spend(services, user.id, 1)  # type: ignore[arg-type]
    assert await assert_ledger_matches(user.id) == 0  # type: ignore[arg-type]


async def test_concurrent_spends_never_overspend(client: httpx.AsyncClient, services: Services) -> None:
    account = await signed_up(client, "crowd@example.com")
    user = await user_of(account)
    await services.credits.add(user.id, 17, kind=TransactionKind.PURCHASE, description="test purchase")  # type: ignore[arg-type]
    results = await asyncio.gather(*(spend(services, user.id, 1) for _ in range(60)), return_exceptions=True)  # type: ignore[arg-type]
    assert sum(r is None for r in results) == 20  # 3 free + 17 purchased
    assert all(isinstance(r, PaymentRequired) for r in results if r is not None)
    assert await assert_ledger_matches(user.id) == 0  # type: ignore[arg-type]


async def test_daily_grant_happens_once_per_day_and_tops_up(client: httpx.AsyncClient, services: Services) -> None:
    account = await signed_up(client, "daily@example.com")
    user = await user_of(account)
    # The midnight cron grants today's allowance to an account that has not spent yet.
    assert await grant_daily_credits({"services": services}) == 1
    assert await grant_daily_credits({"services": services}) == 0  # once per day
    await spend(services, user.id, 2)  # type: ignore[arg-type]
    # The next day tops the one remaining credit up to 3 (not 4), once.
    tomorrow = utc_day(datetime.now(UTC) + timedelta(days=1))
    assert await services.credits.grant_daily_to_all(day=tomorrow) == 1
    assert await services.credits.grant_daily_to_all(day=tomorrow) == 0
    fresh = await User.get(user.id)
    assert fresh is not None
    assert fresh.free_daily_credits == 3
    assert fresh.free_credits_day == tomorrow
    grants = await CreditTransaction.find(
        CreditTransaction.account_id == user.id, CreditTransaction.kind == TransactionKind.FREE_GRANT
    ).to_list()
    assert sorted(g.amount for g in grants) == [2, 3]
    assert await assert_ledger_matches(user.id) == 3  # type: ignore[arg-type]


async def test_refund_is_idempotent_per_job(client: httpx.AsyncClient, services: Services) -> None:
    account = await signed_up(client, "refund@example.com")
    user = await user_of(account)
    await spend(services, user.id, 2)  # type: ignore[arg-type]
    job_id = PydanticObjectId()

    async def refund() -> bool:
        return await in_transaction(
            services.resources.mongo,
            lambda s: services.credits.refund_in(s, user.id, job_id=job_id, free=2, purchased=0, reason="failed"),  # type: ignore[arg-type]
        )

    results = await asyncio.gather(*(refund() for _ in range(5)), return_exceptions=True)
    assert sum(r is True for r in results) == 1
    assert await assert_ledger_matches(user.id) == 3  # type: ignore[arg-type]


async def test_low_balance_event_when_crossing_the_threshold(client: httpx.AsyncClient, services: Services) -> None:
    account = await signed_up(client, "low@example.com")
    user = await user_of(account)
    await services.credits.add(user.id, 4, kind=TransactionKind.PURCHASE, description="test purchase")  # type: ignore[arg-type]
    await spend(services, user.id, 2)  # 7 -> 5: not below the threshold of 5  # type: ignore[arg-type]
    assert await DomainEvent.find(DomainEvent.type == CREDITS_LOW).count() == 0
    await spend(services, user.id, 1)  # 5 -> 4: crosses  # type: ignore[arg-type]
    await spend(services, user.id, 1)  # 4 -> 3: already below, no second event  # type: ignore[arg-type]
    events = await DomainEvent.find(DomainEvent.type == CREDITS_LOW).to_list()
    assert len(events) == 1
    assert events[0].account_id == user.id
    assert events[0].data == {"balance": 4, "threshold": 5}


async def test_purchase_reference_credits_once(client: httpx.AsyncClient, services: Services) -> None:
    account = await signed_up(client, "buyer@example.com")
    user = await user_of(account)
    first = await services.credits.add(
        user.id,
        2100,
        kind=TransactionKind.PURCHASE,
        description="Plan",
        reference="payment:pay_1",  # type: ignore[arg-type]
    )
    again = await services.credits.add(
        user.id,
        2100,
        kind=TransactionKind.PURCHASE,
        description="Plan",
        reference="payment:pay_1",  # type: ignore[arg-type]
    )
    assert first is not None
    assert again is None
    fresh = await User.get(user.id)
    assert fresh is not None
    assert fresh.purchased_credits == 2100
    assert fresh.is_paying


async def test_transactions_are_paginated_newest_first(client: httpx.AsyncClient, services: Services) -> None:
    account = await signed_up(client, "pages@example.com")
    user = await user_of(account)
    for i in range(5):
        await services.credits.add(user.id, i + 1, kind=TransactionKind.ADMIN_ADJUST, description=f"adj {i}")  # type: ignore[arg-type]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/credits/transactions", headers=account.auth, params=params)).json()
        seen += [item["description"] for item in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"adj {i}" for i in reversed(range(5))]
    bad = await client.get("/api/v1/credits/transactions", headers=account.auth, params={"cursor": "!!"})
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_cursor"
    too_many = await client.get("/api/v1/credits/transactions", headers=account.auth, params={"limit": 1000})
    assert too_many.status_code == 400


async def test_ledger_of_another_account_is_not_visible(client: httpx.AsyncClient, services: Services) -> None:
    alice = await signed_up(client, "alice2@example.com")
    bob = await signed_up(client, "bob2@example.com")
    await services.credits.add((await user_of(alice)).id, 5, kind=TransactionKind.PURCHASE, description="alice")  # type: ignore[arg-type]
    page = (await client.get("/api/v1/credits/transactions", headers=bob.auth)).json()
    assert page["data"] == []
