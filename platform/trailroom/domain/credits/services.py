"""Credit rules.

Invariants:
- A balance is never negative: every spend is one conditional update that only matches when the
  account holds enough (`free + purchased >= cost`), so concurrent spends cannot overspend.
- Every movement is a ledger entry written in the same transaction as the balance change, with
  the balance after it: the stored balance always equals the sum of the ledger.
- Free daily credits are spent before purchased ones. The day's allowance is granted (topped up
  to the allowance, with its ledger entry) on the first spend of a UTC day or by the midnight
  cron, whichever comes first; both are the same conditional update, so it happens once.
- A refund is keyed by the job (`refund:<job id>`, a unique ledger reference): it happens once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from beanie import PydanticObjectId
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from trailroom.core.clock import utcnow
from trailroom.core.errors import InvalidInput, NotFound, PaymentRequired
from trailroom.core.logging import get_logger
from trailroom.core.pagination import NEWEST_FIRST, after_cursor, page_cursor
from trailroom.core.transactions import in_transaction
from trailroom.domain.accounts.models import User
from trailroom.domain.credits.models import CreditTransaction, TransactionKind
from trailroom.domain.events.models import CREDITS_LOW, DomainEvent
from trailroom.domain.runtime_config.services import RuntimeConfigService

log = get_logger("trailroom.credits")


def utc_day(now: datetime | None = None) -> str:
    return (now or utcnow()).date().isoformat()


def next_reset(now: datetime | None = None) -> datetime:
    now = now or utcnow()
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


@dataclass(frozen=True)
class Balance:
    balance: int
    free_daily_remaining: int
    free_daily_allowance: int
    purchased: int
    resets_at: datetime


@dataclass(frozen=True)
class Charge:
    amount: int
    free: int
    purchased: int
    balance_after: int


@dataclass(frozen=True)
class TransactionPage:
    items: list[CreditTransaction]
    next_cursor: str | None


class CreditService:
    def __init__(
        self,
        mongo: AsyncMongoClient[Any],
        config: RuntimeConfigService,
        free_daily: int,
        on_change: Callable[[PydanticObjectId], None] | None = None,
    ) -> None:
        self.mongo = mongo
        self.config = config
        self.free_daily = free_daily
        # Told after a balance changed (and committed), so caches of the account can be dropped.
        self._on_change = on_change

    def changed(self, account_id: PydanticObjectId) -> None:
        """Tell listeners a committed balance changed. Best effort: the movement is already in the
        database, so a listener that fails (say, Redis is away) must not fail the caller."""
        if self._on_change is None:
            return
        try:
            self._on_change(account_id)
        except Exception:
            log.warning("credits-changed notification failed", account_id=str(account_id), exc_info=True)

    def balance_of(self, user: User, now: datetime | None = None) -> Balance:
        """What the account can spend now (no database access: the day's grant is implied)."""
        today = utc_day(now)
        free = (
            user.free_daily_credits if user.free_credits_day == today else max(user.free_daily_credits, self.free_daily)
        )
        return Balance(
            balance=free + user.purchased_credits,
            free_daily_remaining=free,
            free_daily_allowance=self.free_daily,
            purchased=user.purchased_credits,
            resets_at=next_reset(now),
        )

    async def cost_of(self, mode: str, samples: int = 1) -> int:
        return (await self.config.current()).cost_of(mode, samples)

    # -- movements inside a caller's transaction ----------------------------------------------

    async def grant_daily(self, session: AsyncClientSession, account_id: PydanticObjectId, day: str) -> None:
        """Top the free allowance up to the day's amount, once per account and day."""
        collection = User.get_pymongo_collection()
        before = await collection.find_one_and_update(
            {"_id": account_id, "free_credits_day": {"$ne": day}},
            {"$set": {"free_daily_credits": self.free_daily, "free_credits_day": day}},
            return_document=ReturnDocument.BEFORE,
            session=session,
        )
        if before is None:
            return
        delta = self.free_daily - before["free_daily_credits"]
        await CreditTransaction(
            account_id=account_id,
            kind=TransactionKind.FREE_GRANT,
            amount=delta,
            free_delta=delta,
            purchased_delta=0,
            balance_after=self.free_daily + before["purchased_credits"],
            description=f"Free daily credits for {day}",
            reference=f"free:{account_id}:{day}",
        ).insert(session=session)

    async def spend(
        self,
        session: AsyncClientSession,
        account_id: PydanticObjectId,
        cost: int,
        *,
        job_ids: list[PydanticObjectId],
        description: str,
    ) -> Charge:
        """Take `cost` credits, free ones first, or raise PaymentRequired. Never read-then-write."""
        await self.grant_daily(session, account_id, utc_day())
        before = await User.get_pymongo_collection().find_one_and_update(
            {"_id": account_id, "$expr": {"$gte": [{"$add": ["$free_daily_credits", "$purchased_credits"]}, cost]}},
            [
                {"$set": {"_free_used": {"$min": ["$free_daily_credits", cost]}}},
                {
                    "$set": {
                        "free_daily_credits": {"$subtract": ["$free_daily_credits", "$_free_used"]},
                        "purchased_credits": {
                            "$subtract": ["$purchased_credits", {"$subtract": [cost, "$_free_used"]}]
                        },
                    }
                },
                {"$unset": "_free_used"},
            ],
            return_document=ReturnDocument.BEFORE,
            session=session,
        )
        if before is None:
            raise PaymentRequired(
                f"This needs {cost} credit{'s' if cost != 1 else ''}; buy credits or wait for the daily free credits.",
                required=cost,
            )
        free = min(before["free_daily_credits"], cost)
        balance_before = before["free_daily_credits"] + before["purchased_credits"]
        charge = Charge(amount=cost, free=free, purchased=cost - free, balance_after=balance_before - cost)
        await CreditTransaction(
            account_id=account_id,
            kind=TransactionKind.USAGE,
            amount=-cost,
            free_delta=-charge.free,
            purchased_delta=-charge.purchased,
            balance_after=charge.balance_after,
            description=description,
            job_ids=job_ids,
        ).insert(session=session)
        threshold = (await self.config.current()).low_balance_threshold
        if balance_before >= threshold > charge.balance_after:
            await DomainEvent(
                account_id=account_id,
                type=CREDITS_LOW,
                data={"balance": charge.balance_after, "threshold": threshold},
            ).insert(session=session)
        return charge

    async def refund_in(
        self,
        session: AsyncClientSession,
        account_id: PydanticObjectId,
        *,
        job_id: PydanticObjectId,
        free: int,
        purchased: int,
        reason: str,
    ) -> bool:
        """Give a job's credits back to the buckets they came from, once. False if already refunded."""
        if free + purchased <= 0:
            return False
        after = await User.get_pymongo_collection().find_one_and_update(
            {"_id": account_id},
            {"$inc": {"free_daily_credits": free, "purchased_credits": purchased}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if after is None:
            return False
        await CreditTransaction(
            account_id=account_id,
            kind=TransactionKind.REFUND,
            amount=free + purchased,
            free_delta=free,
            purchased_delta=purchased,
            balance_after=after["free_daily_credits"] + after["purchased_credits"],
            description=f"Refund: {reason}"[:200],
            job_ids=[job_id],
            reference=f"refund:{job_id}",
        ).insert(session=session)
        return True

    # -- movements in their own transaction ------------------------------------------------------

    async def add_in(
        self,
        session: AsyncClientSession,
        account_id: PydanticObjectId,
        amount: int,
        *,
        kind: TransactionKind,
        description: str,
        reference: str | None = None,
        actor: str | None = None,
    ) -> CreditTransaction:
        """Purchased credits in (or, for admin adjustments, out; never below zero), inside the
        caller's transaction. A reference already in the ledger raises DuplicateKeyError."""
        if amount == 0:
            raise InvalidInput("The amount must not be zero.", code="invalid_amount", field="amount")
        update: dict[str, Any] = {"$inc": {"purchased_credits": amount}}
        if kind == TransactionKind.PURCHASE:
            update["$inc"]["lifetime_purchased"] = amount
        after = await User.get_pymongo_collection().find_one_and_update(
            {"_id": account_id, "purchased_credits": {"$gte": max(0, -amount)}},
            update,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if after is None:
            if not await User.find_one(User.id == account_id, session=session):
                raise NotFound("No such account.", code="account_not_found")
            raise InvalidInput(
                "That would make the purchased balance negative.", code="negative_balance", field="amount"
            )
        entry = CreditTransaction(
            account_id=account_id,
            kind=kind,
            amount=amount,
            free_delta=0,
            purchased_delta=amount,
            balance_after=after["free_daily_credits"] + after["purchased_credits"],
            description=description,
            reference=reference,
            actor=actor,
        )
        await entry.insert(session=session)
        return entry

    async def reclaim_in(
        self,
        session: AsyncClientSession,
        account_id: PydanticObjectId,
        wanted: int,
        *,
        description: Callable[[int], str],
        reference: str,
        actor: str | None = None,
    ) -> CreditTransaction | None:
        """Take back up to `wanted` purchased credits (a refunded purchase), only what is still
        unspent: one update that floors the bucket at zero, so a balance never goes negative.
        `description(taken)` writes the ledger's reason. None when nothing was left to take."""
        before = await User.get_pymongo_collection().find_one_and_update(
            {"_id": account_id},
            [{"$set": {"purchased_credits": {"$max": [0, {"$subtract": ["$purchased_credits", wanted]}]}}}],
            return_document=ReturnDocument.BEFORE,
            session=session,
        )
        if before is None:
            raise NotFound("No such account.", code="account_not_found")
        taken = min(wanted, before["purchased_credits"])
        if taken <= 0:
            return None
        entry = CreditTransaction(
            account_id=account_id,
            kind=TransactionKind.PAYMENT_REFUND,
            amount=-taken,
            free_delta=0,
            purchased_delta=-taken,
            balance_after=before["free_daily_credits"] + before["purchased_credits"] - taken,
            description=description(taken)[:200],
            reference=reference,
            actor=actor,
        )
        await entry.insert(session=session)
        return entry

    async def add(
        self,
        account_id: PydanticObjectId,
        amount: int,
        *,
        kind: TransactionKind,
        description: str,
        reference: str | None = None,
        actor: str | None = None,
    ) -> CreditTransaction | None:
        """`add_in` in its own transaction. Once per reference: None if it was already credited."""
        try:
            entry = await in_transaction(
                self.mongo,
                lambda session: self.add_in(
                    session, account_id, amount, kind=kind, description=description, reference=reference, actor=actor
                ),
            )
        except DuplicateKeyError:
            return None  # this reference was already credited
        self.changed(account_id)
        return entry

    async def grant_daily_to_all(self, day: str | None = None) -> int:
        """The midnight cron: grant the day's allowance to every account that has not had it."""
        day = day or utc_day()
        granted = 0
        while True:
            pending = await User.find(User.free_credits_day != day).limit(200).to_list()
            if not pending:
                return granted
            for user in pending:
                await in_transaction(self.mongo, lambda s, uid=user.id: self.grant_daily(s, uid, day))  # type: ignore[misc]
                granted += 1

    # -- reading ------------------------------------------------------------------------------------

    async def history(self, account_id: PydanticObjectId, *, cursor: str | None, limit: int) -> TransactionPage:
        query = {"account_id": account_id, **after_cursor(cursor)}
        fetched = await CreditTransaction.find(query).sort(NEWEST_FIRST).limit(limit + 1).to_list()  # type: ignore[arg-type]
        items, next_cursor = page_cursor(fetched, limit)
        return TransactionPage(items=items, next_cursor=next_cursor)
