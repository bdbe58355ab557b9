"""Helpers of the invoice tests: accounts made by the service, invoices issued the way the payments
code issues them (inside a transaction, with a payment id of its own), and a seller with a GSTIN."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from beanie import PydanticObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from trailroom.core.config import Settings
from trailroom.core.transactions import in_transaction
from trailroom.domain.accounts.models import User
from trailroom.domain.billing.pricing import PriceList
from trailroom.domain.invoices.details import gstin_check_character
from trailroom.domain.invoices.models import Invoice
from trailroom.domain.invoices.services import InvoiceService
from trailroom.domain.services import Services

# 1 December 2026, financial year 2026-27.
PAID_AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
_orders = itertools.count(1)


def gstin(state_code: str, pan: str = "AAPFU0939F", entity: str = "1") -> str:
    """A GSTIN with a right check character."""
    first14 = f"{state_code}{pan}{entity}Z"
    return first14 + gstin_check_character(first14)


SELLER_GSTIN = gstin("29", "AABCT1234C")  # Karnataka


@pytest.fixture
def seller_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "seller_name": "TrailRoom Technologies Pvt Ltd",
            "seller_address": "4th Floor, Prestige Tower|MG Road|Bengaluru, Karnataka 560001",
            "seller_gstin": SELLER_GSTIN,
        }
    )


@pytest.fixture
def invoices(seller_settings: Settings, services: Services) -> InvoiceService:
    """The invoice service of a registered seller in Karnataka."""
    return InvoiceService(seller_settings, services.resources.mongo)


async def new_user(services: Services, email: str = "buyer@example.com", name: str = "Asha Buyer") -> User:
    return await services.accounts.create_user(email=email, password=None, name=name)


async def issue(
    services: Services,
    account_id: PydanticObjectId | None,
    *,
    service: InvoiceService | None = None,
    payment_id: PydanticObjectId | None = None,
    credits: int = 2100,
    paid_at: datetime = PAID_AT,
) -> Invoice:
    assert account_id is not None
    invoices = service or services.invoices
    quote = PriceList.of(invoices.settings).quote(credits)
    order = next(_orders)

    async def work(session: AsyncClientSession) -> Invoice:
        return await invoices.issue_in(
            session,
            account_id=account_id,
            payment_id=payment_id or PydanticObjectId(),
            order_id=f"order_test{order:08d}",
            gateway_payment_id=f"pay_test{order:08d}",
            quote=quote,
            paid_at=paid_at,
        )

    return await in_transaction(services.resources.mongo, work)


async def credit_note(
    services: Services,
    original: Invoice,
    *,
    amount: int,
    credits: int,
    refund_id: str,
    service: InvoiceService | None = None,
    account_id: PydanticObjectId | None = None,
    refunded_at: datetime = PAID_AT,
) -> Invoice:
    invoices = service or services.invoices

    async def work(session: AsyncClientSession) -> Invoice:
        return await invoices.credit_note_in(
            session,
            account_id=account_id or original.account_id,
            payment_id=original.payment_id,
            refund_id=refund_id,
            amount=amount,
            credits=credits,
            refunded_at=refunded_at,
        )

    return await in_transaction(services.resources.mongo, work)
