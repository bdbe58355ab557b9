"""Shapes of the invoices and billing details API. Amounts are integers in paise; percentages are
decimal strings ("18", "12.5") as printed on the invoice."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from trailroom.domain.invoices.details import BillingDetails
from trailroom.domain.invoices.models import Invoice, LineItem, Party, TaxLine


class PartyResponse(msgspec.Struct):
    name: str
    address_lines: list[str]
    gstin: str | None
    email: str | None
    state: str | None
    state_code: str | None
    country: str

    @classmethod
    def of(cls, party: Party) -> PartyResponse:
        return cls(
            name=party.name,
            address_lines=party.address_lines,
            gstin=party.gstin,
            email=party.email,
            state=party.state,
            state_code=party.state_code,
            country=party.country,
        )


class LineItemResponse(msgspec.Struct):
    description: str
    sac: str
    quantity: int
    unit_price: int | None
    amount: int

    @classmethod
    def of(cls, line: LineItem) -> LineItemResponse:
        return cls(
            description=line.description,
            sac=line.sac,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
        )


class TaxLineResponse(msgspec.Struct):
    name: str
    percent: str
    amount: int

    @classmethod
    def of(cls, line: TaxLine) -> TaxLineResponse:
        return cls(name=line.name, percent=line.percent, amount=line.amount)


class InvoiceResponse(msgspec.Struct):
    id: str
    kind: str  # "invoice" or "credit_note"
    number: str
    financial_year: str
    payment_id: str
    order_id: str
    gateway_payment_id: str | None
    refund_id: str | None
    original_invoice_id: str | None
    original_invoice_number: str | None
    seller: PartyResponse
    buyer: PartyResponse
    place_of_supply: str
    lines: list[LineItemResponse]
    credits: int
    currency: str
    subtotal: int
    discount_percent: str
    discount: int
    taxable: int
    tax_percent: str
    tax: int
    taxes: list[TaxLineResponse]
    amount: int
    amount_in_words: str
    issued_at: datetime
    download_url: str

    @classmethod
    def of(cls, invoice: Invoice) -> InvoiceResponse:
        return cls(
            id=str(invoice.id),
            kind=invoice.kind.value,
            number=invoice.number,
            financial_year=invoice.financial_year,
            payment_id=str(invoice.payment_id),
            order_id=invoice.order_id,
            gateway_payment_id=invoice.gateway_payment_id,
            refund_id=invoice.refund_id,
            original_invoice_id=str(invoice.original_invoice_id) if invoice.original_invoice_id else None,
            original_invoice_number=invoice.original_invoice_number,
            seller=PartyResponse.of(invoice.seller),
            buyer=PartyResponse.of(invoice.buyer),
            place_of_supply=invoice.place_of_supply,
            lines=[LineItemResponse.of(line) for line in invoice.lines],
            credits=invoice.credits,
            currency=invoice.currency,
            subtotal=invoice.subtotal,
            discount_percent=invoice.discount_percent,
            discount=invoice.discount,
            taxable=invoice.taxable,
            tax_percent=invoice.tax_percent,
            tax=invoice.tax,
            taxes=[TaxLineResponse.of(t) for t in invoice.taxes],
            amount=invoice.amount,
            amount_in_words=invoice.amount_in_words,
            issued_at=invoice.issued_at,
            download_url=f"/api/v1/invoices/{invoice.id}/download",
        )


class InvoiceList(msgspec.Struct):
    data: list[InvoiceResponse]
    next_cursor: str | None


Short = Annotated[str, msgspec.Meta(max_length=200)]


class BillingDetailsRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Who invoices are made out to (India: a GST state by name, a 6-digit PIN, a GSTIN of that state)."""

    name: Annotated[str, msgspec.Meta(max_length=100, examples=["Asha Retail LLP"])]
    address_line1: Short
    city: Annotated[str, msgspec.Meta(max_length=100)]
    state: Annotated[str, msgspec.Meta(max_length=100, examples=["Maharashtra"])]
    postal_code: Annotated[str, msgspec.Meta(max_length=12, examples=["400050"])]
    address_line2: Short = ""
    country: Annotated[str, msgspec.Meta(max_length=2, examples=["IN"])] = "IN"
    gstin: Annotated[str, msgspec.Meta(max_length=20, examples=["27AAPFU0939F1ZV"])] | None = None


class BillingDetailsResponse(msgspec.Struct):
    name: str
    address_line1: str
    address_line2: str
    city: str
    state: str
    postal_code: str
    country: str
    gstin: str | None

    @classmethod
    def of(cls, details: BillingDetails) -> BillingDetailsResponse:
        return cls(
            name=details.name,
            address_line1=details.address_line1,
            address_line2=details.address_line2,
            city=details.city,
            state=details.state,
            postal_code=details.postal_code,
            country=details.country,
            gstin=details.gstin,
        )


class BillingDetailsEnvelope(msgspec.Struct):
    details: BillingDetailsResponse | None  # None until the account saves its details
