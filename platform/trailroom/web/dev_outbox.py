"""The dev outbox (`/dev/outbox`): the mails a server without SMTP keeps, readable in the browser.

Registered only outside production and only while no SMTP host is set (`outbox_enabled`); each
handler checks again, so a misregistration still answers 404. A mail's HTML is shown in a
sandboxed iframe from its own route, with a policy that allows its inline styles and nothing else
(no scripts, no requests, an opaque origin).
"""

from __future__ import annotations

import re
from urllib.parse import quote

from litestar import Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template

from trailroom.core.config import Settings
from trailroom.domain.mail.models import OutgoingMail
from trailroom.web.base import PageController
from trailroom.web.context import Page

OUTBOX_PATH = "/dev/outbox"
LIST_LIMIT = 200
# The mail's own HTML: its inline styles and data: images, nothing fetched, nothing run, framed
# only by our outbox page.
MAIL_HTML_POLICY = "; ".join(
    [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
        "sandbox allow-popups allow-popups-to-escape-sandbox",
    ]
)
_LINK = re.compile(r"https?://[^\s<>\"']+")


def outbox_enabled(settings: Settings) -> bool:
    return not settings.is_production and settings.mail_outbox


def links_in(text: str) -> list[str]:
    """The addresses in a mail's text, in order, once each (clickable on the page)."""
    return list(dict.fromkeys(_LINK.findall(text)))


class DevOutboxPages(PageController):
    path = OUTBOX_PATH

    @get("/", summary="The dev outbox: every stored mail, newest first")
    async def index(self, ctx: Page) -> Template:
        self._check(ctx)
        mails = await ctx.services.mail.recent(limit=LIST_LIMIT)
        return ctx.render("pages/dev/outbox.html", mails=mails, limit=LIST_LIMIT)

    @get("/{mail_id:str}", summary="One mail of the dev outbox")
    async def show(self, ctx: Page, mail_id: FromPath[str]) -> Template:
        mail = await self._mail(ctx, mail_id)
        return ctx.render("pages/dev/mail.html", mail=mail, links=links_in(mail.text))

    @get("/{mail_id:str}/html", summary="A mail's HTML, for the sandboxed preview")
    async def html(self, ctx: Page, mail_id: FromPath[str]) -> Response[str]:
        mail = await self._mail(ctx, mail_id)
        return Response(
            mail.html,
            media_type="text/html; charset=utf-8",
            headers={
                "Content-Security-Policy": MAIL_HTML_POLICY,
                "X-Frame-Options": "SAMEORIGIN",
                "Cache-Control": "no-store",
            },
        )

    @get("/{mail_id:str}/attachments/{index:int}", summary="Download an attachment of a mail")
    async def attachment(self, ctx: Page, mail_id: FromPath[str], index: FromPath[int]) -> Response[bytes]:
        mail = await self._mail(ctx, mail_id)
        if not 0 <= index < len(mail.attachments):
            raise NotFoundException()
        attachment = mail.attachments[index]
        filename = attachment.filename.replace('"', "").replace("\\", "")
        return Response(
            attachment.content,
            media_type=attachment.content_type,
            headers={
                "Content-Disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}",
                "Cache-Control": "no-store",
            },
        )

    @staticmethod
    def _check(ctx: Page) -> None:
        if not outbox_enabled(ctx.settings):
            raise NotFoundException()

    async def _mail(self, ctx: Page, mail_id: str) -> OutgoingMail:
        self._check(ctx)
        mail = await ctx.services.mail.get(mail_id)
        if mail is None:
            raise NotFoundException()
        return mail
