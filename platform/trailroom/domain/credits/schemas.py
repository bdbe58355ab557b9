"""Shapes of the credits API."""

from __future__ import annotations

from datetime import datetime

import msgspec

from trailroom.domain.credits.models import CreditTransaction
from trailroom.domain.credits.services import Balance


class CreditsResponse(msgspec.Struct):
    balance: int  # what can be spent now
    free_daily_remaining: int
    free_daily_allowance: int
    purchased: int
    free_resets_at: datetime
    costs: dict[str, int]  # credits per sample, by mode

    @classmethod
    def of(cls, balance: Balance, costs: dict[str, int]) -> CreditsResponse:
        return cls(
            balance=balance.balance,
            free_daily_remaining=balance.free_daily_remaining,
            free_daily_allowance=balance.free_daily_allowance,
            purchased=balance.purchased,
            free_resets_at=balance.resets_at,
            costs=costs,
        )


class TransactionResponse(msgspec.Struct):
    id: str
    kind: str
    amount: int
    balance_after: int
    free_delta: int
    purchased_delta: int
    description: str
    job_ids: list[str]
    created_at: datetime

    @classmethod
    def of(cls, entry: CreditTransaction) -> TransactionResponse:
        return cls(
            id=str(entry.id),
            kind=entry.kind.value,
            amount=entry.amount,
            balance_after=entry.balance_after,
            free_delta=entry.free_delta,
            purchased_delta=entry.purchased_delta,
            description=entry.description,
            job_ids=[str(j) for j in entry.job_ids],
            created_at=entry.created_at,
        )


class TransactionList(msgspec.Struct):
    data: list[TransactionResponse]
    next_cursor: str | None
