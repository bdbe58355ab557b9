"""Where webhooks may go: the URL rules for endpoints, checked when one is saved and again before every
attempt, and the guarded client (core/netguard) that sends to the checked address only."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from trailroom.core.config import Settings
from trailroom.core.errors import InvalidInput
from trailroom.core.netguard import (
    AddressForbidden,
    GuardedClient,
    OutboundPolicy,
    OutboundRefused,
    Unresolvable,
    UrlRejected,
)

MAX_URL_LENGTH = 2000


class WebhookUrls:
    def __init__(self, settings: Settings, http: httpx.AsyncClient | None, *, timeout_s: float) -> None:
        self.allow_http = settings.url_fetch_allow_http
        # No redirects followed: a 3xx is a failed attempt.
        self.outbound = GuardedClient(
            OutboundPolicy(
                allow_http=self.allow_http,
                allow_loopback=settings.url_fetch_allow_loopback,
                timeout_s=timeout_s,
                connect_timeout_s=min(5.0, timeout_s),
            ),
            http,
        )

    async def aclose(self) -> None:
        await self.outbound.aclose()

    def invalid_url(self) -> InvalidInput:
        return InvalidInput(
            "url must be an https:// URL" + (" (or http://)" if self.allow_http else "") + " without credentials.",
            code="invalid_webhook_url",
            field="url",
        )

    def check_text(self, url: str) -> httpx.URL:
        url = url.strip()
        invalid = self.invalid_url()
        if not url or len(url) > MAX_URL_LENGTH or any(c.isspace() for c in url):
            raise invalid
        try:
            parsed = self.outbound.parse(url)
        except UrlRejected as exc:
            raise invalid from exc
        if urlsplit(url).fragment:
            raise invalid
        return parsed

    def refusal(self, exc: OutboundRefused) -> InvalidInput:
        """Webhooks' words for a URL the guarded client will not request."""
        if isinstance(exc, AddressForbidden):
            return InvalidInput(
                f"The URL resolves to {exc.reason}; webhooks can only go to public internet addresses.",
                code="webhook_url_forbidden",
                field="url",
            )
        if isinstance(exc, Unresolvable):
            return InvalidInput(
                f"The host {exc.host} could not be resolved.", code="webhook_url_unresolvable", field="url"
            )
        return self.invalid_url()  # UrlRejected (no redirect is followed, so nothing else comes)

    async def check_url(self, url: str) -> str:
        parsed = self.check_text(url)
        try:
            await self.outbound.check(parsed)
        except OutboundRefused as exc:
            raise self.refusal(exc) from exc
        return str(parsed)
