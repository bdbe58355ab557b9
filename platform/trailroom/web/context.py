"""What every page handler gets: the signed-in user (or None), the CSRF token for its forms, the
theme, flash messages, and helpers that render a template or redirect with the right cookies.

Controllers declare `ctx: Page` (a PageContext provided by `provide_page_context`) and end with
`return ctx.render("pages/…html", **values)` or `return ctx.redirect("/…", flash=…)`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from litestar import Request
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from trailroom.core.config import Settings
from trailroom.core.paths import safe_next
from trailroom.domain.accounts.cookies import CSRF_COOKIE, REFRESH_COOKIE, csrf_cookie
from trailroom.domain.accounts.models import User
from trailroom.domain.accounts.principal import Principal, Via
from trailroom.domain.accounts.security import ANONYMOUS_CSRF, session_csrf_binding
from trailroom.domain.credits.services import Balance
from trailroom.domain.services import Services
from trailroom.web.security import PAGE_SECURITY_HEADERS

THEME_COOKIE = "tr_theme"
FLASH_COOKIE = "tr_flash"
THEMES = ("system", "light", "dark")
CSRF_FIELD = "csrf_token"
ANONYMOUS_CSRF_MAX_AGE = 7 * 24 * 3600
# Anyone can fetch an anonymous token, so a form posted before sign-in must also not come from
# another site, a sibling subdomain included (browsers say so in Sec-Fetch-Site).
FOREIGN_FETCH_SITES = frozenset({"cross-site", "same-site"})
FlashKind = Literal["success", "info", "warning", "error"]


class CsrfRejected(Exception):
    """A state-changing form arrived without the page's CSRF token."""


@dataclass(frozen=True)
class Flash:
    kind: FlashKind
    text: str


def sign_in_url(next_path: str) -> str:
    return f"/login?next={quote(next_path, safe='/')}"


class FlashCodec:
    """Flash messages travel in a short-lived cookie, signed so no other site can plant text."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"trailroom-flash:" + secret.encode()).digest()

    def encode(self, flashes: list[Flash]) -> str:
        payload = base64.urlsafe_b64encode(json.dumps([[f.kind, f.text] for f in flashes]).encode()).decode()
        return payload + "." + self._sign(payload)

    def decode(self, value: str | None) -> list[Flash]:
        if not value or "." not in value:
            return []
        payload, signature = value.rsplit(".", 1)
        if not hmac.compare_digest(signature, self._sign(payload)):
            return []
        try:
            items = json.loads(base64.urlsafe_b64decode(payload.encode()))
            return [Flash(kind, str(text)) for kind, text in items if kind in ("success", "info", "warning", "error")]
        except (ValueError, TypeError):
            return []

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()[:32]


@dataclass
class PageContext:
    request: Request[Any, Any, Any]
    settings: Settings
    services: Services
    user: User | None
    csrf_token: str
    theme: str
    flashes: list[Flash]
    _codec: FlashCodec
    _csrf_binding: str = ANONYMOUS_CSRF  # what the page's CSRF token is bound to (session or anonymous)
    _new_csrf: bool = False
    _outgoing_flashes: list[Flash] = field(default_factory=list)

    # -- what templates read ---------------------------------------------------------------------

    @property
    def path(self) -> str:
        return self.request.url.path

    @property
    def balance(self) -> Balance | None:
        return self.services.credits.balance_of(self.user) if self.user else None

    @property
    def google_enabled(self) -> bool:
        return self.settings.google_enabled

    def is_active(self, href: str) -> bool:
        """Whether a navigation entry is the current page (or a page under it)."""
        if href == "/app":
            return self.path in ("/app", "/app/")
        return self.path == href or self.path.startswith(href + "/")

    # -- what controllers call -----------------------------------------------------------------

    def flash(self, kind: FlashKind, text: str) -> None:
        """Show `text` on the next page rendered (after a redirect)."""
        self._outgoing_flashes.append(Flash(kind, text))

    def render(
        self,
        template: str,
        *,
        status_code: int = 200,
        cookies: list[Cookie] | None = None,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> Template:
        """`headers` replace the page's defaults (a page that loads a payment script opens its CSP for it)."""
        return Template(
            template_name=template,
            context={"ctx": self, **context},
            status_code=status_code,
            cookies=self._cookies(cookies, rendered=True),
            # Pages hold personal data and tokens for forms: neither proxies nor the back button keep them.
            # The security headers are set here too: error pages for unknown paths never reach
            # the middleware that adds them to routed responses.
            headers={"Cache-Control": "no-store", **PAGE_SECURITY_HEADERS, **(headers or {})},
        )

    def redirect(
        self, to: str, *, flash: str | None = None, kind: FlashKind = "success", cookies: list[Cookie] | None = None
    ) -> Redirect:
        """A 303 See Other (a POST's answer becomes a GET); `to` must be a path on this site."""
        if flash:
            self.flash(kind, flash)
        return Redirect(path=safe_next(to, "/"), status_code=303, cookies=self._cookies(cookies, rendered=False))

    def _cookies(self, extra: list[Cookie] | None, *, rendered: bool) -> list[Cookie]:
        cookies = list(extra or [])
        names = {cookie.key for cookie in cookies}
        if self._new_csrf and CSRF_COOKIE not in names:
            cookies.append(csrf_cookie(self.settings, self.csrf_token, ANONYMOUS_CSRF_MAX_AGE))
        if self._outgoing_flashes:
            cookies.append(self._flash_cookie(self._codec.encode(self._outgoing_flashes), 60))
        elif rendered and self.flashes:
            cookies.append(self._flash_cookie("", 0))  # shown now: forget them
        return cookies

    def _flash_cookie(self, value: str, max_age: int) -> Cookie:
        return Cookie(
            key=FLASH_COOKIE,
            value=value,
            max_age=max_age,
            httponly=True,
            secure=self.settings.secure_cookies,
            samesite="lax",
            path="/",
        )

    async def form(self) -> dict[str, str]:
        """The posted form's fields (first value each), after checking its CSRF token: it equals
        the `tr_csrf` cookie and was issued for this browser's session (or, before sign-in, it is
        an anonymous token posted from this site)."""
        data = await self.request.form()
        posted = data.get(CSRF_FIELD)
        binding = await self._posted_binding()
        if not (isinstance(posted, str) and self.services.accounts.csrf.matches(self._cookie_token, posted, binding)):
            raise CsrfRejected
        if binding == ANONYMOUS_CSRF and self.request.headers.get("sec-fetch-site") in FOREIGN_FETCH_SITES:
            raise CsrfRejected
        return {key: value for key, value in data.items() if isinstance(value, str)}

    @property
    def _cookie_token(self) -> str | None:
        return self.request.cookies.get(CSRF_COOKIE)

    async def _posted_binding(self) -> str:
        """The session of the page, or, where only the refresh cookie arrives (sign-out under
        /api/v1/auth after the access cookie expired), the refresh token's session."""
        if self._csrf_binding != ANONYMOUS_CSRF:
            return self._csrf_binding
        refresh = self.request.cookies.get(REFRESH_COOKIE)
        session_id = await self.services.accounts.session_id_of(refresh) if refresh else None
        return session_csrf_binding(session_id) if session_id else ANONYMOUS_CSRF

    async def confirmed(self, *, title: str, question: str, button: str, back: str) -> Template | None:
        """For a destructive form post: None once the visitor confirmed, else the page that asks.
        With JavaScript the button's `data-confirm` prompt asks first and adds `confirm=yes`."""
        form = await self.form()
        if form.get("confirm") == "yes":
            return None
        question_page = ConfirmPage(
            title=title, question=question, button=button, action=self.request.url.path, back=back
        )
        return self.render("pages/app/confirm.html", confirm=question_page)

    async def form_lists(self) -> dict[str, list[str]]:
        """Every value of repeated fields (checkbox groups, lists); call after `form()`."""
        data = await self.request.form()
        return {key: [v for v in data.getall(key) if isinstance(v, str)] for key in data}


@dataclass(frozen=True)
class ConfirmPage:
    title: str
    question: str
    button: str
    action: str  # this same path: the confirmed form posts here again
    back: str


def provide_page_context(request: Request[Any, Any, Any], state: State) -> PageContext:
    settings: Settings = state.settings
    services: Services = state.services
    codec: FlashCodec | None = state.get("flash_codec")
    if codec is None:
        codec = state.flash_codec = FlashCodec(settings.resolved_secret_key())
    user = request.scope.get("user")
    principal = request.scope.get("auth")
    session_id = principal.session_id if isinstance(principal, Principal) and principal.via == Via.SESSION else None
    binding = session_csrf_binding(session_id) if session_id else ANONYMOUS_CSRF
    # The cookie's token is kept while it belongs to this session (or is a valid anonymous one);
    # otherwise (none yet, signed in or out since, or planted) the page gets a fresh one.
    csrf = request.cookies.get(CSRF_COOKIE)
    keep = services.accounts.csrf.valid_for(csrf, binding)
    theme = request.cookies.get(THEME_COOKIE, "system")
    return PageContext(
        request=request,
        settings=settings,
        services=services,
        user=user if isinstance(user, User) else None,
        csrf_token=csrf if keep and csrf else services.accounts.csrf.issue(binding),
        theme=theme if theme in THEMES else "system",
        flashes=codec.decode(request.cookies.get(FLASH_COOKIE)),
        _codec=codec,
        _new_csrf=not keep,
        _csrf_binding=binding,
    )


# The annotation page handlers use: `async def page(self, ctx: Page) -> Template`.
Page = NamedDependency[PageContext]
