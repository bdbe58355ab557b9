"""Invoice numbers: at most 16 characters, consecutive per kind and Indian financial year (which
starts on 1 April in India's time), no gap when a transaction aborts, distinct and consecutive under
concurrent issues; one invoice per payment."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from beanie import PydanticObjectId
from pydantic import ValidationError
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from trailroom.core.config import Settings
from trailroom.core.transactions import in_transaction
from trailroom.domain.billing.pricing import PriceList
from trailroom.domain.invoices.models import Invoice, InvoiceCounter, InvoiceKind
from trailroom.domain.invoices.numbering import financial_year_label, format_number
from trailroom.domain.services import Services

from .conftest import PAID_AT, credit_note, issue, new_user

# 31 March 2027, 23:59:59 in Kolkata, and one second later (1 April, a new financial year).
LAST_SECOND_OF_FY = datetime(2027, 3, 31, 18, 29, 59, tzinfo=UTC)
FIRST_SECOND_OF_FY = datetime(2027, 3, 31, 18, 30, 0, tzinfo=UTC)


def test_the_financial_year_turns_at_midnight_of_1_april_in_india() -> None:
    assert financial_year_label(LAST_SECOND_OF_FY) == "2026-27"
    assert financial_year_label(FIRST_SECOND_OF_FY) == "2027-28"
    assert financial_year_label(datetime(2027, 1, 15, tzinfo=UTC)) == "2026-27"
    assert financial_year_label(datetime(2099, 12, 31, tzinfo=UTC)) == "2099-00"


def test_numbers_fit_sixteen_characters() -> None:
    assert format_number("TR", InvoiceKind.INVOICE, PAID_AT, 123) == "TR/26-27/000123"
    assert format_number("TR", InvoiceKind.CREDIT_NOTE, PAID_AT, 45) == "TR/26-27/C00045"
    assert len(format_number("ABC", InvoiceKind.INVOICE, PAID_AT, 999_999)) == 16
    assert len(format_number("ABC", InvoiceKind.CREDIT_NOTE, PAID_AT, 99_999)) == 16
    with pytest.raises(RuntimeError):
        format_number("ABC", InvoiceKind.INVOICE, PAID_AT, 1_000_000)
    # The prefix setting cannot make numbers too long.
    with pytest.raises(ValidationError):
        Settings(_env_file=None, invoice_prefix="ABCD")


async def test_numbers_are_consecutive_per_year_and_restart_on_1_april(services: Services) -> None:
    user = await new_user(services)
    numbers = [(await issue(services, user.id)).number for _ in range(3)]
    assert numbers == ["TR/26-27/000001", "TR/26-27/000002", "TR/26-27/000003"]
    last = await issue(services, user.id, paid_at=LAST_SECOND_OF_FY)
    first = await issue(services, user.id, paid_at=FIRST_SECOND_OF_FY)
    assert (last.number, last.financial_year, last.sequence) == ("TR/26-27/000004", "2026-27", 4)
    assert (first.number, first.financial_year, first.sequence) == ("TR/27-28/000001", "2027-28", 1)
    # Credit notes have a sequence of their own.
    note = await credit_note(services, last, amount=1000, credits=10, refund_id="rfnd_1")
    assert note.number == "TR/26-27/C00001"
    assert (await issue(services, user.id)).number == "TR/26-27/000005"


async def test_an_aborted_transaction_leaves_no_gap(services: Services) -> None:
    user = await new_user(services)
    assert user.id is not None
    await issue(services, user.id)
    quote = PriceList.of(services.resources.settings).quote(500)

    async def issue_then_fail(session: AsyncClientSession) -> None:
        assert user.id is not None
        invoice = await services.invoices.issue_in(
            session,
            account_id=user.id,
            payment_id=PydanticObjectId(),
            order_id="order_x",
            gateway_payment_id=None,
            quote=quote,
            paid_at=PAID_AT,
        )
        assert invoice.number == "TR/26-27/000002"
        raise RuntimeError("the payment's own write failed")

    with pytest.raises(RuntimeError):
        await in_transaction(services.resources.mongo, issue_then_fail)
    assert await Invoice.count() == 1
    counter = await InvoiceCounter.get("invoice:2026-27")
    assert counter is not None
    assert counter.last == 1
    assert (await issue(services, user.id)).number == "TR/26-27/000002"


async def test_one_invoice_per_payment(services: Services) -> None:
    user = await new_user(services)
    payment_id = PydanticObjectId()
    first = await issue(services, user.id, payment_id=payment_id)
    with pytest.raises(DuplicateKeyError):
        await issue(services, user.id, payment_id=payment_id)
    assert await Invoice.count() == 1
    found = await services.invoices.for_payment(payment_id)
    assert found is not None
    assert (found.id, found.number) == (first.id, "TR/26-27/000001")
    assert await services.invoices.for_payment(PydanticObjectId()) is None
    # The refused second issue took no number.
    assert (await issue(services, user.id)).number == "TR/26-27/000002"


async def test_concurrent_issues_get_distinct_consecutive_numbers(services: Services) -> None:
    user = await new_user(services)
    issued = await asyncio.gather(*(issue(services, user.id) for _ in range(6)))
    assert sorted(i.sequence for i in issued) == [1, 2, 3, 4, 5, 6]
    assert len({i.number for i in issued}) == 6
    stored = await Invoice.find(Invoice.account_id == user.id).to_list()
    assert sorted(i.number for i in stored) == [f"TR/26-27/{n:06d}" for n in range(1, 7)]
