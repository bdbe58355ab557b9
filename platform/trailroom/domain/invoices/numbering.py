"""Invoice numbers: `<prefix>/<yy-yy>/<sequence>`, gap-free per kind and financial year.

Indian GST rules: at most 16 characters (letters, digits, `/` and `-`), consecutive within a
financial year (1 April to 31 March). The year is India's: a payment at 23:00 UTC on 31 March is
already 1 April in Kolkata. With a prefix of up to three characters, `TR/26-27/000123` and the
credit note `TR/26-27/C00045` stay within 16 characters up to 999,999 and 99,999 a year.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from trailroom.domain.invoices.models import InvoiceCounter, InvoiceKind

INDIA = ZoneInfo("Asia/Kolkata")
MAX_NUMBER_LENGTH = 16
_WIDTH = {InvoiceKind.INVOICE: 6, InvoiceKind.CREDIT_NOTE: 5}
_MARK = {InvoiceKind.INVOICE: "", InvoiceKind.CREDIT_NOTE: "C"}


def financial_year(at: datetime) -> tuple[int, int]:
    """The financial year (first and last calendar year) of an aware time, in India's time zone."""
    local = at.astimezone(INDIA)
    start = local.year if local.month >= 4 else local.year - 1
    return start, start + 1


def financial_year_label(at: datetime) -> str:
    """ "2026-27" """
    start, end = financial_year(at)
    return f"{start}-{end % 100:02d}"


def format_number(prefix: str, kind: InvoiceKind, at: datetime, sequence: int) -> str:
    start, end = financial_year(at)
    number = f"{prefix}/{start % 100:02d}-{end % 100:02d}/{_MARK[kind]}{sequence:0{_WIDTH[kind]}d}"
    if len(number) > MAX_NUMBER_LENGTH:
        # A year with more invoices than the format holds: a person must choose a shorter prefix.
        raise RuntimeError(f"invoice number {number} is longer than {MAX_NUMBER_LENGTH} characters")
    return number


async def take_sequence(session: AsyncClientSession, kind: InvoiceKind, at: datetime) -> tuple[str, int]:
    """The next sequence of `kind` in the financial year of `at`, taken in the caller's transaction
    (it is only taken if that transaction commits). Returns the year's label and the sequence."""
    year = financial_year_label(at)
    counter = await InvoiceCounter.get_pymongo_collection().find_one_and_update(
        {"_id": f"{kind.value}:{year}"},
        {"$inc": {"last": 1}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    assert counter is not None  # an upsert returning the document after it always finds one
    return year, int(counter["last"])
