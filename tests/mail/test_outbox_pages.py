"""The dev outbox at /dev/outbox: the list (newest first), one mail (text, HTML in a sandboxed frame
with its own strict policy, links), attachment downloads, 404s; absent in production and when SMTP
is set; and what it looks like in a real Chromium (screenshots in test-artifacts/mail/)."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Page

from tests.browser import ARTIFACTS, launched_chromium
from trailroom.core.config import Settings
from trailroom.domain.mail.jobs import send_mail
from trailroom.domain.mail.models import OutgoingMail
from trailroom.domain.mail.services import Attachment
from trailroom.domain.services import Services
from trailroom.server.app import create_app
from trailroom.web.dev_outbox import MAIL_HTML_POLICY

from .test_sending import PDF, RECEIPT

HTML = {"Accept": "text/html"}
SHOTS = ARTIFACTS / "mail"


async def shoot(page: Page, name: str) -> None:
    """The whole page, by stretching the viewport to it (a full-page capture leaves frames half drawn)."""
    size = page.viewport_size
    assert size is not None
    height = await page.evaluate("document.documentElement.scrollHeight")
    await page.set_viewport_size({"width": size["width"], "height": max(height, size["height"])})
    await page.wait_for_timeout(100)
    path = SHOTS / f"{name}.png"
    await page.screenshot(path=str(path))
    await page.set_viewport_size(size)
    assert path.stat().st_size > 5_000


async def kept_receipt(services: Services) -> OutgoingMail:
    mail = await services.mail.queue(
        to="ada@example.com",
        template="receipt",
        context=RECEIPT,
        attachments=[Attachment("TR-2026-27-000123.pdf", "application/pdf", PDF)],
    )
    await send_mail({"services": services}, mail_id=str(mail.id))
    return mail


async def test_the_outbox_lists_and_shows_mails(client: httpx.AsyncClient, services: Services) -> None:
    empty = await client.get("/dev/outbox", headers=HTML)
    assert empty.status_code == 200
    assert "No mail yet" in empty.text
    receipt = await kept_receipt(services)
    later = await services.mail.queue(
        to="bo@example.com",
        template="credits_low",
        context={"name": "Bo", "balance": 2, "threshold": 5, "billing_url": "http://127.0.0.1/app/billing"},
    )

    listing = await client.get("/dev/outbox", headers=HTML)
    assert listing.status_code == 200
    rows = re.findall(r'data-mail="([0-9a-f]{24})"', listing.text)
    assert rows == [str(later.id), str(receipt.id)]  # newest first
    assert "Your TrailRoom receipt TR/2026-27/000123: 2,100 credits" in listing.text
    assert ">outbox<" in listing.text
    assert ">queued<" in listing.text
    assert " style=" not in listing.text  # the page itself keeps the strict page policy

    page = await client.get(f"/dev/outbox/{receipt.id}", headers=HTML)
    assert page.status_code == 200
    assert "content-security-policy" in page.headers
    assert "unsafe" not in page.headers["content-security-policy"]
    assert "ada@example.com" in page.text
    assert "2,100 credits are in your account now." in page.text  # the text version
    assert f'src="/dev/outbox/{receipt.id}/html"' in page.text
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page.text
    assert 'href="http://127.0.0.1:8000/app/billing" data-mail-link' in page.text

    html = await client.get(f"/dev/outbox/{receipt.id}/html")
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert html.headers["content-security-policy"] == MAIL_HTML_POLICY
    assert html.headers["x-frame-options"] == "SAMEORIGIN"
    assert html.text == receipt.html

    download = await client.get(f"/dev/outbox/{receipt.id}/attachments/0")
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith('attachment; filename="TR-2026-27-000123.pdf"')
    for missing in (
        f"/dev/outbox/{receipt.id}/attachments/1",
        f"/dev/outbox/{later.id}/attachments/0",
        "/dev/outbox/000000000000000000000000",
        "/dev/outbox/not-an-id",
        "/dev/outbox/not-an-id/html",
    ):
        assert (await client.get(missing, headers=HTML)).status_code == 404, missing


@pytest.mark.parametrize(
    "changes",
    [
        {"env": "production", "secret_key": "production-secret-key-long-enough-for-tests-1234"},
        {"smtp_host": "smtp.example.com"},
    ],
    ids=["production", "smtp-configured"],
)
async def test_no_outbox_in_production_or_with_smtp(settings: Settings, changes: dict[str, str]) -> None:
    app = create_app(settings.model_copy(update=changes), configure_logs=False)
    assert not [route.path for route in app.routes if route.path.startswith("/dev")]


async def test_the_outbox_in_chromium(base_url: str, services: Services) -> None:
    receipt = await kept_receipt(services)
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with launched_chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        await page.goto(f"{base_url}/dev/outbox")
        await shoot(page, "outbox")
        await page.click(f"[data-mail='{receipt.id}'] a")
        await page.wait_for_url(f"**/dev/outbox/{receipt.id}")
        frame = page.frame_locator("[data-mail-html]")
        heading = frame.locator("h1")
        assert await heading.text_content() == "Thank you for your purchase"
        # The mail's inline styles apply inside the frame (its own policy allows them).
        color = await frame.locator("a", has_text="Open billing").evaluate("a => getComputedStyle(a).color")
        assert color == "rgb(255, 255, 255)"
        await shoot(page, "mail")
        async with page.expect_download() as download_info:
            await page.click("[data-attachment]")
        download = await download_info.value
        assert download.suggested_filename == "TR-2026-27-000123.pdf"
        await page.set_viewport_size({"width": 360, "height": 800})
        await shoot(page, "mail-360")
        assert problems == []
