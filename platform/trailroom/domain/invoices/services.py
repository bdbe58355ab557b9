"""Invoices and credit notes: issued inside the payment's (or refund's) own transaction, so a paid
order has its invoice exactly when its credits, and a number is only ever taken by a committed one.

Invariants:
- One invoice per payment: a unique index on (kind, payment_id); issuing again raises pymongo's
  DuplicateKeyError (and the caller's transaction takes no number).
- Numbers are consecutive per kind and financial year (numbering.py), taken in the transaction.
- Figures come from the payment's `Quote` (pricing.py), never recomputed here; a credit note's
  split of a refund into taxable value and tax is proportional to the invoice's, and a payment's
  credit notes never add up to more than its invoice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from beanie import PydanticObjectId
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from trailroom.core.clock import utcnow
from trailroom.core.config import Settings
from trailroom.core.errors import InvalidInput, NotFound
from trailroom.core.ids import parse_object_id
from trailroom.core.pagination import NEWEST_FIRST, after_cursor, page_cursor
from trailroom.domain.accounts.models import User
from trailroom.domain.billing.pricing import Quote
from trailroom.domain.invoices.details import GST_STATES, BillingDetails, gstin_problem
from trailroom.domain.invoices.models import Invoice, InvoiceKind, LineItem, Party, TaxLine
from trailroom.domain.invoices.numbering import format_number, take_sequence
from trailroom.domain.invoices.words import amount_in_words

# SAC (the services' HSN) 998314: information technology design and development services, under
# which hosted software services such as TrailRoom's API are commonly invoiced.
SAC_CODE = "998314"


@dataclass(frozen=True)
class InvoicePage:
    items: list[Invoice]
    next_cursor: str | None


def _text(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def supply_of(seller: Party, buyer: Party) -> tuple[str, list[str]]:
    """The place of supply and the names tax is split into.

    - Both states known and equal: intra-state, CGST and SGST (half each).
    - Both known and different, or a buyer outside India: IGST.
    - The buyer's address not on record: the place of supply is the seller's location (IGST Act,
      section 12(2)(b)), so intra-state.
    - The seller's state unknown (no GSTIN configured, as in development): one "GST" line, as the
      split cannot be told.
    """
    if buyer.country != "IN":
        return f"Outside India ({buyer.country})", ["IGST"]
    if seller.state_code is None:
        place = f"{buyer.state} ({buyer.state_code})" if buyer.state_code else "Not stated"
        return place, ["GST"]
    code = buyer.state_code or seller.state_code
    place = f"{GST_STATES[code]} ({code})"
    return place, (["CGST", "SGST"] if code == seller.state_code else ["IGST"])


def split_tax(tax: int, percent: Decimal, names: list[str]) -> list[TaxLine]:
    """`tax` under each name; CGST and SGST take half each (an odd paisa goes to CGST)."""
    if len(names) == 1:
        return [TaxLine(name=names[0], percent=_text(percent), amount=tax)]
    half = _text(percent / 2)
    return [
        TaxLine(name=names[0], percent=half, amount=tax - tax // 2),
        TaxLine(name=names[1], percent=half, amount=tax // 2),
    ]


class InvoiceService:
    def __init__(self, settings: Settings, mongo: AsyncMongoClient[Any]) -> None:
        self.settings = settings
        self.mongo = mongo

    # -- issuing, inside the caller's transaction --------------------------------------------

    async def issue_in(
        self,
        session: AsyncClientSession,
        *,
        account_id: PydanticObjectId,
        payment_id: PydanticObjectId,
        order_id: str,
        gateway_payment_id: str | None,
        quote: Quote,
        paid_at: datetime,
    ) -> Invoice:
        """The payment's invoice, inserted in `session`'s transaction. Raises DuplicateKeyError when
        the payment already has one."""
        user = await User.find_one(User.id == account_id, session=session)
        if user is None:
            raise NotFound("No such account.", code="account_not_found")
        seller, buyer = self.seller(), buyer_of(user)
        place, names = supply_of(seller, buyer)
        year, sequence = await take_sequence(session, InvoiceKind.INVOICE, paid_at)
        invoice = Invoice(
            kind=InvoiceKind.INVOICE,
            number=format_number(self.settings.invoice_prefix, InvoiceKind.INVOICE, paid_at, sequence),
            financial_year=year,
            sequence=sequence,
            account_id=account_id,
            payment_id=payment_id,
            order_id=order_id,
            gateway_payment_id=gateway_payment_id,
            seller=seller,
            buyer=buyer,
            place_of_supply=place,
            lines=[
                LineItem(
                    description=f"{quote.credits:,} TrailRoom credits",
                    sac=SAC_CODE,
                    quantity=quote.credits,
                    unit_price=quote.unit_price,
                    amount=quote.subtotal,
                )
            ],
            credits=quote.credits,
            currency=quote.currency,
            subtotal=quote.subtotal,
            discount_percent=_text(quote.discount_percent),
            discount=quote.discount,
            taxable=quote.taxable,
            tax_percent=_text(quote.tax_percent),
            tax=quote.tax,
            taxes=split_tax(quote.tax, quote.tax_percent, names),
            amount=quote.amount,
            amount_in_words=amount_in_words(quote.amount),
            issued_at=paid_at,
        )
        await invoice.insert(session=session)
        return invoice

    async def credit_note_in(
        self,
        session: AsyncClientSession,
        *,
        account_id: PydanticObjectId,
        payment_id: PydanticObjectId,
        refund_id: str,
        amount: int,
        credits: int,
        refunded_at: datetime,
    ) -> Invoice:
        """A credit note for a refund of `amount` paise (tax included) and `credits` credits taken
        back, against the payment's invoice, in `session`'s transaction. Raises DuplicateKeyError when
        the refund already has one, NotFound (`invoice_not_found`) without an invoice of the account,
        InvalidInput (`credit_exceeds_invoice`) when the payment's credit notes would exceed it.

        Every credit note of a payment takes a number from the one credit-note counter in its
        transaction, so two for one payment never run side by side: the "already credited" sum read
        below cannot go stale before the commit."""
        original = await Invoice.find_one(
            {"kind": InvoiceKind.INVOICE.value, "payment_id": payment_id, "account_id": account_id}, session=session
        )
        if original is None:
            raise NotFound("This payment has no invoice.", code="invoice_not_found")
        year, sequence = await take_sequence(session, InvoiceKind.CREDIT_NOTE, refunded_at)
        earlier = await Invoice.find(
            {"payment_id": payment_id, "kind": InvoiceKind.CREDIT_NOTE.value}, session=session
        ).to_list()
        if any(n.refund_id == refund_id for n in earlier):
            # A replayed refund: the same answer as the unique index gives, whatever is left to credit.
            raise DuplicateKeyError(f"refund {refund_id} already has a credit note", code=11000)
        credited, credited_taxable = sum(n.amount for n in earlier), sum(n.taxable for n in earlier)
        if amount < 1 or credited + amount > original.amount:
            raise InvalidInput(
                f"Credit notes of this payment may add up to {original.amount} at most; {credited} is credited.",
                code="credit_exceeds_invoice",
                field="amount",
            )
        if not 0 <= credits <= original.credits:
            raise InvalidInput("More credits than the invoice sold.", code="credit_exceeds_invoice", field="credits")
        # The taxable part of everything credited so far, less what earlier notes credited: rounding
        # never drifts, and notes adding up to the invoice credit exactly its taxable value and tax.
        taxable = _round(Decimal(credited + amount) * original.taxable / original.amount) - credited_taxable
        tax = amount - taxable
        names = [line.name for line in original.taxes]
        note = Invoice(
            kind=InvoiceKind.CREDIT_NOTE,
            number=format_number(self.settings.invoice_prefix, InvoiceKind.CREDIT_NOTE, refunded_at, sequence),
            financial_year=year,
            sequence=sequence,
            account_id=account_id,
            payment_id=payment_id,
            order_id=original.order_id,
            gateway_payment_id=original.gateway_payment_id,
            refund_id=refund_id,
            original_invoice_id=original.id,
            original_invoice_number=original.number,
            seller=original.seller,
            buyer=original.buyer,
            place_of_supply=original.place_of_supply,
            lines=[
                LineItem(
                    description=f"Refund of {credits:,} TrailRoom credits (invoice {original.number})",
                    sac=original.lines[0].sac if original.lines else SAC_CODE,
                    quantity=credits,
                    unit_price=None,
                    amount=taxable,
                )
            ],
            credits=credits,
            currency=original.currency,
            subtotal=taxable,
            discount_percent="0",
            discount=0,
            taxable=taxable,
            tax_percent=original.tax_percent,
            tax=tax,
            taxes=split_tax(tax, Decimal(original.tax_percent), names),
            amount=amount,
            amount_in_words=amount_in_words(amount),
            issued_at=refunded_at,
        )
        await note.insert(session=session)
        return note

    # -- reading -------------------------------------------------------------------------------

    async def for_payment(self, payment_id: PydanticObjectId) -> Invoice | None:
        return await Invoice.find_one({"kind": InvoiceKind.INVOICE.value, "payment_id": payment_id})

    async def list_for(self, account_id: PydanticObjectId, *, cursor: str | None, limit: int) -> InvoicePage:
        """The account's invoices and credit notes, newest first."""
        query = {"account_id": account_id, **after_cursor(cursor)}
        fetched = await Invoice.find(query).sort(NEWEST_FIRST).limit(limit + 1).to_list()  # type: ignore[arg-type]
        items, next_cursor = page_cursor(fetched, limit)
        return InvoicePage(items=items, next_cursor=next_cursor)

    async def get_for(self, account_id: PydanticObjectId, invoice_id: str) -> Invoice:
        object_id = parse_object_id(invoice_id)
        invoice = await Invoice.find_one({"_id": object_id, "account_id": account_id}) if object_id else None
        if invoice is None:
            # Another account's invoice and a missing one look the same.
            raise NotFound("No such invoice.", code="invoice_not_found")
        return invoice

    def render_pdf(self, invoice: Invoice) -> bytes:
        """The invoice as a PDF. CPU-bound (a few tenths of a second): call it in a thread."""
        from trailroom.domain.invoices.pdf import render_invoice  # WeasyPrint loads only when used

        return render_invoice(invoice)

    # -- the buyer's details -------------------------------------------------------------------

    async def save_billing_details(self, account_id: PydanticObjectId, details: BillingDetails) -> BillingDetails:
        await User.find_one(User.id == account_id).update(
            {"$set": {"billing": details.model_dump(), "updated_at": utcnow()}}
        )
        return details

    async def billing_details(self, account_id: PydanticObjectId) -> BillingDetails | None:
        user = await User.find_one(User.id == account_id)
        return user.billing if user else None

    # -- parties -------------------------------------------------------------------------------

    def seller(self) -> Party:
        """The seller from settings. Its GSTIN's first two digits are its state (for the tax split);
        the address is one setting with lines separated by newlines or `|`."""
        settings = self.settings
        gstin = settings.seller_gstin.strip().upper() or None
        code = gstin[:2] if gstin and gstin_problem(gstin) is None else None
        lines = [line.strip() for line in settings.seller_address.replace("|", "\n").splitlines() if line.strip()]
        return Party(
            name=settings.seller_name,
            address_lines=lines,
            gstin=gstin,
            state=GST_STATES[code] if code else None,
            state_code=code,
        )


def buyer_of(user: User) -> Party:
    """The buyer as the account's billing details say, or its name and email without them."""
    details = user.billing
    if details is None:
        return Party(name=user.name, email=user.email)
    return Party(
        name=details.name,
        email=user.email,
        address_lines=details.address_lines,
        gstin=details.gstin,
        state=details.state if details.country == "IN" else None,
        state_code=details.state_code,
        country=details.country,
    )
