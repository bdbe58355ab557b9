"""What an invoice carries (the quote's figures, seller and buyer snapshots, the GST split by place
of supply) and the credit notes of refunds (proportional taxable value and tax, never more than the
invoice, one per refund, the original referenced)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pymongo.errors import DuplicateKeyError

from trailroom.core.errors import InvalidInput, NotFound
from trailroom.domain.accounts.models import User
from trailroom.domain.billing.pricing import PriceList
from trailroom.domain.invoices.details import parse_billing_details
from trailroom.domain.invoices.models import Invoice, InvoiceKind
from trailroom.domain.invoices.services import InvoiceService
from trailroom.domain.services import Services

from .conftest import SELLER_GSTIN, credit_note, gstin, issue, new_user

MUMBAI = {
    "name": "Asha Retail LLP",
    "address_line1": "12 Linking Road",
    "address_line2": "Bandra West",
    "city": "Mumbai",
    "state": "Maharashtra",
    "postal_code": "400050",
    "gstin": "27AAPFU0939F1ZV",
}
BENGALURU = {**MUMBAI, "city": "Bengaluru", "state": "Karnataka", "postal_code": "560001", "gstin": gstin("29")}


async def with_details(invoices: InvoiceService, user: User, details: dict[str, str]) -> None:
    assert user.id is not None
    await invoices.save_billing_details(user.id, parse_billing_details(details))


async def test_an_invoice_snapshots_the_quote_seller_and_buyer(services: Services, invoices: InvoiceService) -> None:
    user = await new_user(services)
    await with_details(invoices, user, MUMBAI)
    invoice = await issue(services, user.id, service=invoices, credits=2100)
    quote = PriceList.of(invoices.settings).quote(2100)
    assert (invoice.subtotal, invoice.discount, invoice.taxable, invoice.tax, invoice.amount) == (
        quote.subtotal,
        quote.discount,
        quote.taxable,
        quote.tax,
        quote.amount,
    )
    assert (invoice.discount_percent, invoice.tax_percent) == ("10", "18")
    assert invoice.amount_in_words == "Rupees Eight Thousand Nine Hundred Twenty and Eighty Paise Only"
    [line] = invoice.lines
    assert (line.description, line.sac, line.quantity, line.unit_price, line.amount) == (
        "2,100 TrailRoom credits",
        "998314",
        2100,
        400,
        840_000,
    )
    assert invoice.seller.gstin == SELLER_GSTIN
    assert invoice.seller.address_lines == ["4th Floor, Prestige Tower", "MG Road", "Bengaluru, Karnataka 560001"]
    assert (invoice.buyer.name, invoice.buyer.gstin, invoice.buyer.email) == (
        "Asha Retail LLP",
        "27AAPFU0939F1ZV",
        "buyer@example.com",
    )
    # Karnataka sells to Maharashtra: inter-state, IGST.
    assert invoice.place_of_supply == "Maharashtra (27)"
    assert [(t.name, t.percent, t.amount) for t in invoice.taxes] == [("IGST", "18", quote.tax)]
    # Later billing details do not change an issued invoice.
    await with_details(invoices, user, BENGALURU)
    stored = await Invoice.get(invoice.id)
    assert stored is not None
    assert stored.buyer.gstin == "27AAPFU0939F1ZV"


async def test_gst_is_cgst_and_sgst_within_the_sellers_state(services: Services, invoices: InvoiceService) -> None:
    user = await new_user(services)
    await with_details(invoices, user, BENGALURU)
    invoice = await issue(services, user.id, service=invoices, credits=777)
    assert invoice.place_of_supply == "Karnataka (29)"
    cgst, sgst = invoice.taxes
    assert (cgst.name, cgst.percent, sgst.name, sgst.percent) == ("CGST", "9", "SGST", "9")
    assert cgst.amount + sgst.amount == invoice.tax
    assert abs(cgst.amount - sgst.amount) <= 1
    # Without an address on record the place of supply is the seller's: intra-state too.
    other = await new_user(services, "walkin@example.com")
    plain = await issue(services, other.id, service=invoices)
    assert plain.place_of_supply == "Karnataka (29)"
    assert [t.name for t in plain.taxes] == ["CGST", "SGST"]
    assert plain.buyer.name == "Asha Buyer"
    assert plain.buyer.gstin is None


async def test_without_a_seller_gstin_tax_is_one_gst_line(services: Services) -> None:
    user = await new_user(services)
    invoice = await issue(services, user.id)  # the test settings have no seller GSTIN
    assert [(t.name, t.percent, t.amount) for t in invoice.taxes] == [("GST", "18", invoice.tax)]


async def test_credit_notes_split_refunds_like_the_invoice_and_never_exceed_it(
    services: Services, invoices: InvoiceService
) -> None:
    user = await new_user(services)
    await with_details(invoices, user, BENGALURU)
    invoice = await issue(services, user.id, service=invoices, credits=2100)
    assert (invoice.taxable, invoice.tax, invoice.amount) == (756_000, 136_080, 892_080)

    first = await credit_note(services, invoice, amount=100_000, credits=235, refund_id="rfnd_A", service=invoices)
    assert first.kind == InvoiceKind.CREDIT_NOTE
    assert (first.number, first.original_invoice_id, first.original_invoice_number) == (
        "TR/26-27/C00001",
        invoice.id,
        invoice.number,
    )
    # 100000 x 756000 / 892080 = 84745.76…: the taxable part, the rest is GST.
    assert (first.taxable, first.tax, first.amount) == (84_746, 15_254, 100_000)
    assert sum(t.amount for t in first.taxes) == first.tax
    assert [t.name for t in first.taxes] == ["CGST", "SGST"]
    assert first.amount_in_words == "Rupees One Thousand Only"
    assert first.credits == 235
    assert first.lines[0].quantity == 235
    assert first.lines[0].amount == 84_746
    assert (first.seller, first.buyer) == (invoice.seller, invoice.buyer)

    # More than what is left is refused, and takes no number.
    with pytest.raises(InvalidInput) as too_much:
        await credit_note(services, invoice, amount=792_081, credits=0, refund_id="rfnd_B", service=invoices)
    assert too_much.value.code == "credit_exceeds_invoice"
    # The rest: together the notes credit exactly the invoice's taxable value and tax.
    rest = await credit_note(services, invoice, amount=792_080, credits=1865, refund_id="rfnd_C", service=invoices)
    assert rest.number == "TR/26-27/C00002"
    assert (first.taxable + rest.taxable, first.tax + rest.tax) == (invoice.taxable, invoice.tax)
    with pytest.raises(InvalidInput):
        await credit_note(services, invoice, amount=1, credits=0, refund_id="rfnd_D", service=invoices)

    # One credit note per refund.
    with pytest.raises(DuplicateKeyError):
        await credit_note(services, invoice, amount=1, credits=0, refund_id="rfnd_A", service=invoices)
    assert await Invoice.find(Invoice.kind == InvoiceKind.CREDIT_NOTE).count() == 2


async def test_a_credit_note_needs_the_accounts_own_invoice(services: Services, invoices: InvoiceService) -> None:
    owner, other = await new_user(services), await new_user(services, "other@example.com")
    invoice = await issue(services, owner.id, service=invoices)
    with pytest.raises(NotFound) as missing:
        await credit_note(services, invoice, amount=100, credits=0, refund_id="rfnd_X", account_id=other.id)
    assert missing.value.code == "invoice_not_found"
    with pytest.raises(InvalidInput):
        await credit_note(services, invoice, amount=0, credits=0, refund_id="rfnd_Y")
    assert await Invoice.find(Invoice.kind == InvoiceKind.CREDIT_NOTE).count() == 0
    assert Decimal(invoice.tax_percent) == invoices.settings.gst_percent
