"""The invoice PDF: rendered by WeasyPrint from the template and read back (pypdf) for what an Indian
tax invoice must show; a credit note names the invoice it credits; rendering fetches nothing."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from trailroom.domain.invoices import pdf
from trailroom.domain.invoices.details import parse_billing_details
from trailroom.domain.invoices.services import InvoiceService
from trailroom.domain.services import Services

from .conftest import SELLER_GSTIN, credit_note, issue, new_user


def text_of(document: bytes) -> str:
    reader = PdfReader(io.BytesIO(document))
    # One space for every run of whitespace: table cells and wrapped lines come out apart.
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


async def test_the_invoice_pdf_reads_back_as_a_tax_invoice(services: Services, invoices: InvoiceService) -> None:
    user = await new_user(services)
    assert user.id is not None
    await invoices.save_billing_details(
        user.id,
        parse_billing_details(
            {
                "name": "Asha Retail LLP",
                "address_line1": "12 Linking Road",
                "city": "Mumbai",
                "state": "Maharashtra",
                "postal_code": "400050",
                "gstin": "27AAPFU0939F1ZV",
            }
        ),
    )
    invoice = await issue(services, user.id, service=invoices, credits=2100)
    document = invoices.render_pdf(invoice)
    assert document.startswith(b"%PDF-")
    text = text_of(document)
    for expected in (
        "TAX INVOICE",
        "TR/26-27/000001",
        "01 Dec 2026",
        "TrailRoom Technologies Pvt Ltd",
        f"GSTIN: {SELLER_GSTIN}",
        "Asha Retail LLP",
        "27AAPFU0939F1ZV",
        "Place of supply Maharashtra (27)",
        "998314",
        "2,100 TrailRoom credits",
        "8,400.00",  # subtotal
        "Discount (10%)",
        "840.00",
        "7,560.00",  # taxable value
        "IGST @ 18%",
        "1,360.80",
        "8,920.80",  # total
        "Rupees Eight Thousand Nine Hundred Twenty and Eighty Paise Only",
        "This is a computer-generated invoice",
    ):
        assert expected in text, expected
    assert "₹8,920.80" in text  # the rupee sign is in the embedded font


async def test_the_credit_note_pdf_names_the_invoice_it_credits(services: Services, invoices: InvoiceService) -> None:
    user = await new_user(services)
    invoice = await issue(services, user.id, service=invoices)
    note = await credit_note(services, invoice, amount=100_000, credits=235, refund_id="rfnd_pdf", service=invoices)
    text = text_of(invoices.render_pdf(note))
    for expected in ("CREDIT NOTE", "TR/26-27/C00001", "Against invoice TR/26-27/000001", "1,000.00"):
        assert expected in text, expected
    assert "Rupees One Thousand Only" in text
    assert "This is a computer-generated credit note" in text


def test_rendering_fetches_nothing_but_package_files() -> None:
    fetcher = pdf._weasyprint()[1]()
    for url in ("https://fonts.example/x.woff2", "http://127.0.0.1/", "file:///etc/passwd", "data:text/css,x"):
        with pytest.raises(ValueError, match="fetches nothing but package files"):
            fetcher.fetch(url)
    template = pdf.INVOICE_TEMPLATES / "invoice.html"
    assert fetcher.fetch(template.as_uri()).read() == template.read_bytes()
    fonts = pdf.fonts()
    assert fonts, "DejaVu fonts (fonts-dejavu-core) are installed by scripts/system-deps.sh"
    regular = fonts["regular"]
    assert isinstance(regular, Path)
    assert fetcher.fetch(regular.as_uri()).read()[:4] == b"\x00\x01\x00\x00"


def test_rendering_leaves_pillow_refusing_truncated_images() -> None:
    """WeasyPrint turns on Pillow's process-wide LOAD_TRUNCATED_IMAGES when imported; the try-on
    intake relies on truncated uploads being refused, so the invoices module turns it off again."""
    from PIL import ImageFile

    pdf._weasyprint()
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
