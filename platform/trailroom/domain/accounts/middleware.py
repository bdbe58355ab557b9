"""One authentication layer for every route: a user access token (Bearer or cookie) or an API key.

It attaches a Principal to `scope["auth"]` (and the User to `scope["user"]`), or nothing for
anonymous requests; guards decide what each route needs. Credentials that are present but wrong
are refused here, never treated as anonymous. API-key requests are rate limited per key and
answer `RateLimit-*` headers (the limit is `LimitPolicies.api_key_requests`); a key over its limit is
refused by the account guards (inside the route, so the refusal carries the same headers, CORS included).

CORS: only the widget's publishable keys are meant for browsers on other origins. A preflight
(which carries no key) is answered for origins some publishable key allows; a real request gets
`Access-Control-Allow-Origin` only when its key allows the request's origin. A page served by the
platform itself (the demo store) sends no Origin on same-origin GETs: `Sec-Fetch-Site: same-origin`
then stands for the platform's own origin.
"""

from __future__ import annotations

import re
from typing import Any

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Message, Receive, Scope, Send

from trailroom.core.asgi import add_headers, is_platform_path, raw_headers
from trailroom.core.errors import Forbidden, Unauthenticated
from trailroom.domain.accounts.cookies import ACCESS_COOKIE, CSRF_HEADER, csrf_ok
from trailroom.domain.accounts.models import ApiKeyKind
from trailroom.domain.accounts.principal import Principal, Via
from trailroom.domain.accounts.services import AccountService, SessionAuth
from trailroom.domain.services import Services

API_KEY_PREFIXES = ("tr_sk_", "tr_pk_")
# The routes a publishable key may call from a browser: a shopper id, create a try-on, its status and events.
CORS_PATH = re.compile(r"^/api/v1/(shoppers|tryon(/[0-9a-f]{24}(/events)?)?)/?$")
CORS_REQUEST_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Shopper-ID, X-Client-Secret, Last-Event-ID"
CORS_EXPOSED_HEADERS = (
    "Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Idempotent-Replayed, Location, X-Request-ID"
)
API_PREFIX = "/api/"
# The web pages' own session endpoints (renewal, sign-out) live under the refresh cookie's path.
WEB_SESSION_PREFIX = "/api/v1/auth/web/"


def _headers(scope: Scope) -> dict[str, str]:
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


def _cookies(header: str | None) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            cookies[name] = value
    return cookies


class AuthenticationMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)
    should_bypass_for_scope = staticmethod(is_platform_path)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        state = scope["app"].state
        headers = _headers(scope)
        services: Services = state.services
        if scope.get("method") == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(scope, headers, services, send)
            return
        principal: Principal | None = None
        authorization = headers.get("authorization", "")
        scheme, _, credential = authorization.partition(" ")
        if authorization and scheme.lower() != "bearer":
            raise Unauthenticated("Use `Authorization: Bearer <token or API key>`.", code="invalid_authorization")
        credential = credential.strip()
        accounts = services.accounts
        if credential.startswith(API_KEY_PREFIXES):
            principal = await self._api_key(services, state.settings, credential, headers)
        elif credential:
            bearer = await accounts.session_for_access_token(credential)
            principal = Principal(user=bearer.user, via=Via.SESSION, session_id=bearer.session_id)
        else:
            cookies = _cookies(headers.get("cookie"))
            access = cookies.get(ACCESS_COOKIE)
            if access:
                session = await self._cookie_session(accounts, access, scope["path"])
                if session is not None:
                    # The CSRF check happens in the guards, only where the cookie grants authority.
                    csrf_valid = csrf_ok(accounts.csrf, cookies, headers.get(CSRF_HEADER), session.session_id)
                    principal = Principal(
                        user=session.user,
                        via=Via.SESSION,
                        session_id=session.session_id,
                        cookie_auth=True,
                        csrf_valid=csrf_valid,
                    )
        if principal is not None:
            scope["auth"] = principal
            scope["user"] = principal.user
        if principal is None or principal.rate_limit is None:  # API keys only: limits and CORS headers
            await next_app(scope, receive, send)
            return
        extra_headers = principal.rate_limit.headers()
        if principal.via == Via.PUBLISHABLE_KEY and "origin" in headers:
            extra_headers.update(_cors_headers(headers["origin"]))
            extra_headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS
        extra = raw_headers(extra_headers)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_headers(message, extra)
            await send(message)

        await next_app(scope, receive, send_with_headers)

    async def _preflight(self, scope: Scope, headers: dict[str, str], services: Services, send: Send) -> None:
        origin = headers.get("origin", "")
        if not CORS_PATH.match(scope["path"]) or not await services.api_keys.origin_allowed_anywhere(origin):
            raise Forbidden(
                "Cross-origin calls are only for try-ons with a publishable key that allows this origin.",
                code="origin_not_allowed",
            )
        response_headers = {
            **_cors_headers(origin),
            "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Allow-Headers": CORS_REQUEST_HEADERS,
            "Access-Control-Max-Age": "600",
        }
        start = HTTPResponseStartEvent(type="http.response.start", status=204, headers=raw_headers(response_headers))
        await send(start)
        await send(HTTPResponseBodyEvent(type="http.response.body", body=b"", more_body=False))

    @staticmethod
    async def _cookie_session(accounts: AccountService, access: str, path: str) -> SessionAuth | None:
        """The API answers a bad session cookie with 401 (the page's script renews and retries);
        a web page treats it as no session, so its guard can send the browser to renew it."""
        try:
            return await accounts.session_for_access_token(access)
        except Unauthenticated:
            if path.startswith(API_PREFIX) and not path.startswith(WEB_SESSION_PREFIX):
                raise
            return None

    async def _api_key(self, services: Services, settings: Any, key: str, headers: dict[str, str]) -> Principal:
        api_keys = services.api_keys
        api_key, user = await api_keys.authenticate(key)
        if api_key.kind == ApiKeyKind.PUBLISHABLE:
            origin = headers.get("origin")
            if origin is None and headers.get("sec-fetch-site") == "same-origin":
                origin = settings.base_url
            if origin not in api_key.allowed_origins:
                raise Forbidden(
                    "This publishable key is not allowed from this origin; add the origin to the key.",
                    code="origin_not_allowed",
                )
        # Taken here (its `RateLimit-*` headers go on every answer); refused by the account guards.
        policy = services.limits.api_key_requests
        decision = await api_keys.limiter.take(policy.key(api_key.id), policy.limit)
        if decision.allowed:
            await api_keys.touch(api_key)
        via = Via.PUBLISHABLE_KEY if api_key.kind == ApiKeyKind.PUBLISHABLE else Via.SECRET_KEY
        return Principal(user=user, via=via, api_key=api_key, rate_limit=decision)


def _cors_headers(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
