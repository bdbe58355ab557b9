"""Invoice and credit note PDFs: WeasyPrint from the Jinja templates in `templates/invoices/`.

Nothing is fetched while rendering: the URL fetcher serves only the package's invoice templates
folder and the DejaVu font files found on this machine (Debian's `fonts-dejavu-core`, installed by
scripts/system-deps.sh and the Dockerfile); every other URL is refused. Without DejaVu the
stylesheet falls back to the system's sans-serif through fontconfig (no download either).
"""

from __future__ import annotations

import threading
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from PIL import ImageFile

from trailroom.domain.invoices.models import Invoice
from trailroom.domain.invoices.numbering import INDIA
from trailroom.web.assets import TEMPLATES_DIR

INVOICE_TEMPLATES = TEMPLATES_DIR / "invoices"
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
FONT_FILES = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}


def inr(paise: int) -> str:
    """Paise as rupees with Indian digit grouping: 12345678 → "₹1,23,456.78"."""
    sign = "-" if paise < 0 else ""
    rupees, rest = divmod(abs(paise), 100)
    digits = str(rupees)
    if len(digits) > 3:
        head, tail = digits[:-3], digits[-3:]
        groups = [head[max(0, i - 2) : i] for i in range(len(head), 0, -2)][::-1]
        digits = ",".join([*groups, tail])
    return f"{sign}₹{digits}.{rest:02d}"


def percent(text: str) -> str:
    return f"{Decimal(text).normalize():f}%"


def india_date(at: datetime) -> str:
    return at.astimezone(INDIA).strftime("%d %b %Y")


@cache
def fonts() -> dict[str, Path]:
    """The DejaVu files on this machine, by weight (empty when none is installed)."""
    for folder in FONT_DIRS:
        found = {weight: folder / name for weight, name in FONT_FILES.items() if (folder / name).is_file()}
        if "regular" in found:
            return found
    return {}


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(INVOICE_TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["inr"] = inr
    environment.filters["percent"] = percent
    environment.filters["india_date"] = india_date
    return environment


def render_html(invoice: Invoice) -> str:
    template = "credit_note.html" if invoice.is_credit_note else "invoice.html"
    return (
        _environment()
        .get_template(template)
        .render(invoice=invoice, fonts={weight: path.as_uri() for weight, path in fonts().items()})
    )


def _allowed(path: Path) -> bool:
    resolved = path.resolve()
    return resolved in {p.resolve() for p in fonts().values()} or resolved.is_relative_to(INVOICE_TEMPLATES.resolve())


_IMPORT_LOCK = threading.Lock()


@cache
def _weasyprint() -> tuple[Any, type]:
    """WeasyPrint's HTML class and a URL fetcher that serves nothing but package files.

    Imported on the first render, not at start-up: the import takes about two seconds, which every
    API and worker process (and every restart after a crash) would pay. Importing it turns on
    Pillow's process-wide LOAD_TRUNCATED_IMAGES; invoices embed no images and the try-on intake must
    go on refusing truncated uploads, so it is turned off again at once."""
    with _IMPORT_LOCK:
        from weasyprint import HTML  # type: ignore[import-untyped]
        from weasyprint.urls import URLFetcher, URLFetcherResponse  # type: ignore[import-untyped]

        ImageFile.LOAD_TRUNCATED_IMAGES = False

    class PackageFilesOnly(URLFetcher):  # type: ignore[misc]
        """Serves the invoice templates' folder and the font files; refuses every other URL."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            parts = urlsplit(url)
            path = Path(unquote(parts.path))
            if parts.scheme != "file" or parts.netloc not in ("", "localhost") or not _allowed(path):
                raise ValueError(f"invoice rendering fetches nothing but package files, not {url[:80]}")
            return URLFetcherResponse(url, body=path.read_bytes())

    return HTML, PackageFilesOnly


def render_invoice(invoice: Invoice) -> bytes:
    """The PDF of an invoice or credit note (synchronous and CPU-bound: run it in a thread)."""
    html_class, fetcher_class = _weasyprint()
    html = html_class(
        string=render_html(invoice), base_url=INVOICE_TEMPLATES.as_uri() + "/", url_fetcher=fetcher_class()
    )
    pdf: bytes = html.write_pdf()
    return pdf
