"""The credit ledger. Entries are only ever inserted, never changed or deleted."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import pymongo
from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import IndexModel

from trailroom.core.clock import utcnow


class TransactionKind(StrEnum):
    USAGE = "usage"
    REFUND = "refund"
    PURCHASE = "purchase"
    FREE_GRANT = "free_grant"
    ADMIN_ADJUST = "admin_adjust"
    PAYMENT_REFUND = "payment_refund"  # a refunded purchase took its unspent credits back


class CreditTransaction(Document):
    account_id: PydanticObjectId
    kind: TransactionKind
    amount: int  # signed: what this entry added to (or took from) the balance
    free_delta: int  # the part of `amount` in the free daily allowance
    purchased_delta: int  # the part in purchased credits
    balance_after: int
    description: str
    job_ids: list[PydanticObjectId] = Field(default_factory=list)
    # Makes a movement happen once: "refund:<job id>", "free:<account>:<day>", "purchase:<order id>",
    # "payment_refund:<refund id>".
    reference: str | None = None
    actor: str | None = None  # who made an admin adjustment
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "credit_transactions"
        indexes = [
            IndexModel(
                [("account_id", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING), ("_id", pymongo.DESCENDING)],
                name="account_history",
            ),
            IndexModel(
                [("reference", pymongo.ASCENDING)],
                unique=True,
                name="reference_unique",
                partialFilterExpression={"reference": {"$type": "string"}},
            ),
        ]
