"""Authorization guards. The authentication middleware has already attached the Principal (or None).

Guards are `async def` although they do no I/O: Litestar runs a plain `def` guard in a worker thread,
which costs more than the check itself on every request."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from trailroom.core.errors import Forbidden, RateLimited, Unauthenticated
from trailroom.domain.accounts.cookies import SAFE_METHODS, csrf_failed
from trailroom.domain.accounts.models import Role
from trailroom.domain.accounts.principal import Principal, Via

# Route option that lets publishable (widget) keys in: only try-on create and status set it.
ALLOW_PUBLISHABLE = "allow_publishable"


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """Who the request is from, as the middleware found it; it only reads (the checks are the guards').
    No principal here means the route lacks an account guard: then it is anonymous."""
    principal = connection.scope.get("auth")
    if not isinstance(principal, Principal):
        raise Unauthenticated("Sign in, or send an API key as `Authorization: Bearer tr_sk_…`.", code="unauthenticated")
    return principal


def _admitted(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The principal once it may act: CSRF-checked for a cookie session, and an API key within its
    rate limit (taken by the middleware; refused here, once, by the guard of the route)."""
    principal = principal_of(connection)
    if principal.cookie_auth and not principal.csrf_valid and connection.scope.get("method") not in SAFE_METHODS:
        raise csrf_failed()
    decision = principal.rate_limit
    if decision is not None and not decision.allowed:
        raise RateLimited(
            f"Rate limit of {decision.limit} requests per minute reached for this key.",
            retry_after=decision.retry_after_s,
            limit=decision.limit,
            reset=decision.reset_s,
        )
    return principal


async def requires_account(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """A user session or a secret key; a publishable key only where the route allows it."""
    principal = _admitted(connection)
    if principal.via == Via.PUBLISHABLE_KEY and not handler.opt.get(ALLOW_PUBLISHABLE):
        raise Forbidden(
            "Publishable keys can only create try-ons and read their status; use a secret key on your server.",
            code="publishable_key_not_allowed",
        )


async def requires_session(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A signed-in user: managing keys is not something an API key may do."""
    if _admitted(connection).via != Via.SESSION:
        raise Forbidden("This needs a signed-in user, not an API key.", code="user_session_required")


def requires_role(*roles: Role) -> Any:
    allowed = set(roles) | {Role.SUPER_ADMIN}

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        await requires_session(connection, handler)
        if principal_of(connection).user.role not in allowed:
            raise Forbidden("Your role does not allow this.", code="insufficient_role")

    guard.__name__ = guard.__qualname__ = f"requires_role({', '.join(sorted(allowed))})"
    _ROLE_GUARDS.add(guard)
    return guard


_ROLE_GUARDS: set[Any] = set()


def callers_of(handler: BaseRouteHandler) -> frozenset[Via] | None:
    """Who a route's guards let in (what its OpenAPI operation declares as security), or None for a
    route without guards, open to anyone. The guards above are the only ones that admit callers."""
    callers: frozenset[Via] | None = None
    for guard in handler.resolve_guards():
        if guard is requires_account:
            admitted = {Via.SESSION, Via.SECRET_KEY}
            if handler.opt.get(ALLOW_PUBLISHABLE):
                admitted.add(Via.PUBLISHABLE_KEY)
        elif guard is requires_session or guard in _ROLE_GUARDS:
            admitted = {Via.SESSION}
        else:
            continue
        callers = frozenset(admitted) if callers is None else callers & admitted
    return callers


def refusals_of(handler: BaseRouteHandler) -> tuple[str, ...]:
    """The 403 codes a route's guards can answer (each guard checks CSRF for cookie sessions)."""
    codes: list[str] = []
    for guard in handler.resolve_guards():
        if guard is requires_account and not handler.opt.get(ALLOW_PUBLISHABLE):
            codes.append("publishable_key_not_allowed")
        elif guard is requires_session:
            codes.append("user_session_required")
        elif guard in _ROLE_GUARDS:
            codes += ["user_session_required", "insufficient_role"]
    return ("csrf_failed", *dict.fromkeys(codes)) if handler.resolve_guards() else ()
