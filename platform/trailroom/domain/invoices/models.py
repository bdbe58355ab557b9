"""Invoices and credit notes, and their number counters.

An invoice is a snapshot: seller, buyer, lines and every figure are copied in when it is issued and
never change after (a later change of settings or billing details does not rewrite history).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import pymongo
from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import IndexModel

from trailroom.core.clock import utcnow


class InvoiceKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class Party(BaseModel):
    """The seller or the buyer as they were when the document was issued."""

    name: str
    address_lines: list[str] = Field(default_factory=list)
    gstin: str | None = None
    email: str | None = None
    state: str | None = None  # an Indian state's GST name, when known
    state_code: str | None = None  # its two-digit GST code
    country: str = "IN"


class LineItem(BaseModel):
    description: str  # "2,100 TrailRoom credits"
    sac: str  # the services accounting code (HSN for services)
    quantity: int
    unit_price: int | None  # per unit before discount, paise (None on a credit note's line)
    amount: int  # quantity x unit price (a credit note: the taxable value credited), paise


class TaxLine(BaseModel):
    name: str  # "CGST", "SGST", "IGST" or "GST" (see services.tax_lines)
    percent: str  # Decimal as text: "9", "18", "12.5"
    amount: int  # paise


class Invoice(Document):
    kind: InvoiceKind
    number: str  # "TR/26-27/000123", "TR/26-27/C00045": at most 16 characters, unique
    financial_year: str  # "2026-27" (April to March, India time)
    sequence: int  # the number's place in its kind's sequence of that year, from 1 without gaps
    account_id: PydanticObjectId
    payment_id: PydanticObjectId  # our payment document
    order_id: str  # the gateway's order id
    gateway_payment_id: str | None = None
    # Credit notes only: the gateway's refund (unique: one credit note per refund) and what it credits.
    refund_id: str | None = None
    original_invoice_id: PydanticObjectId | None = None
    original_invoice_number: str | None = None

    seller: Party
    buyer: Party
    place_of_supply: str  # "Maharashtra (27)", or the buyer's country outside India
    lines: list[LineItem]
    credits: int
    currency: str
    subtotal: int
    discount_percent: str  # Decimal as text
    discount: int
    taxable: int
    tax_percent: str  # Decimal as text: the total rate (CGST + SGST, or IGST)
    tax: int
    taxes: list[TaxLine]  # how `tax` is split; the amounts add up to it
    amount: int  # taxable + tax: what was paid (an invoice) or is given back (a credit note)
    amount_in_words: str
    issued_at: datetime  # when it was paid (an invoice) or refunded (a credit note)
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def pdf_filename(self) -> str:
        """TR/26-27/000123 → TR-26-27-000123.pdf (a file name cannot hold slashes)."""
        return self.number.replace("/", "-") + ".pdf"

    class Settings:
        name = "invoices"
        indexes = [
            IndexModel([("number", pymongo.ASCENDING)], unique=True, name="number_unique"),
            # One invoice per payment, ever: a second issue for it fails on this index.
            IndexModel(
                [("kind", pymongo.ASCENDING), ("payment_id", pymongo.ASCENDING)],
                unique=True,
                name="one_invoice_per_payment",
                partialFilterExpression={"kind": InvoiceKind.INVOICE.value},
            ),
            # The documents of a payment (its credit notes: what was credited already). Not on
            # (payment_id, kind): Beanie treats indexes on the same fields in any order as one.
            IndexModel([("payment_id", pymongo.ASCENDING), ("issued_at", pymongo.ASCENDING)], name="payment"),
            IndexModel(
                [("refund_id", pymongo.ASCENDING)],
                unique=True,
                name="refund_unique",
                partialFilterExpression={"refund_id": {"$type": "string"}},
            ),
            IndexModel(
                [("account_id", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING), ("_id", pymongo.DESCENDING)],
                name="account_history",
            ),
        ]

    @property
    def is_credit_note(self) -> bool:
        return self.kind == InvoiceKind.CREDIT_NOTE


class InvoiceCounter(Document):
    """The last number taken in one sequence: `_id` is "<kind>:<financial year>". It is incremented
    inside the transaction that inserts the invoice, so an aborted issue takes no number (no gaps)
    and concurrent issues conflict on it and run one after the other (consecutive numbers)."""

    id: str  # type: ignore[assignment]
    last: int = 0

    class Settings:
        name = "invoice_counters"
