"""Base controllers of the web pages: their dependencies, their guard and their error pages.

Every page controller subclasses `PageController` (public) or `DashboardController` (signed-in
users only). Errors on a page render an HTML error page, never problem+json; an anonymous visit
to the dashboard is sent through the session renewal to `/login?next=…`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, Response
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect

from trailroom.core import errors
from trailroom.core.logging import get_logger
from trailroom.domain.accounts.models import User
from trailroom.server.problems import DOMAIN_STATUS, handle_http_error
from trailroom.server.request_context import request_id_of
from trailroom.web.context import CsrfRejected, provide_page_context

RENEW_PATH = "/api/v1/auth/web/renew"
log = get_logger("trailroom.web")


class SignInRequired(Exception):
    """An anonymous visitor asked for a signed-in page."""


async def requires_page_user(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    # `async` though it does no I/O: Litestar runs a plain `def` guard in a worker thread.
    if not isinstance(connection.scope.get("user"), User):
        raise SignInRequired


def renew_url(request: Request[Any, Any, Any]) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{RENEW_PATH}?next={quote(target, safe='/')}"


def _error_page(request: Request[Any, Any, Any], status: int, title: str, detail: str) -> Response[Any]:
    ctx = provide_page_context(request, request.app.state)
    return ctx.render(
        "pages/error.html",
        status_code=status,
        status=status,
        title=title,
        detail=detail,
        request_id=request_id_of(request.scope),
    )


def _sign_in_required(request: Request[Any, Any, Any], _: SignInRequired) -> Response[Any]:
    # The access cookie lives 15 minutes; the refresh cookie only reaches /api/v1/auth, so the
    # browser goes there to renew (or on to the sign-in page when there is no session).
    return Redirect(path=renew_url(request), status_code=303)


def _csrf_rejected(request: Request[Any, Any, Any], _: CsrfRejected) -> Response[Any]:
    return _error_page(
        request,
        403,
        "This form has expired",
        "The form was missing its security token, or it came from another site. "
        "Go back, reload the page and try again.",
    )


def _domain_error(request: Request[Any, Any, Any], exc: errors.TrailRoomError) -> Response[Any]:
    status = next((DOMAIN_STATUS[c] for c in type(exc).__mro__ if c in DOMAIN_STATUS), 400)
    if status == 401:
        return Redirect(path=renew_url(request), status_code=303)
    return _error_page(request, status, exc.title, exc.detail)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    detail = {404: "There is no page at this address.", 405: "This page does not take that kind of request."}.get(
        status, "The request could not be handled."
    )
    return _error_page(request, status, title, detail)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("page failed", path=request.url.path, request_id=request_id_of(request.scope))
    return _error_page(
        request,
        500,
        "Something went wrong",
        "Something went wrong on our side; the request id identifies it in our logs.",
    )


def wants_page(request: Request[Any, Any, Any]) -> bool:
    """A browser navigating to a page address (not the API, not the API reference)."""
    path = request.url.path
    return not path.startswith(("/api/", "/schema", "/static/")) and "text/html" in request.headers.get("accept", "")


def http_error_anywhere(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """The app-wide handler of HTTP errors (unknown paths, wrong methods): an HTML page for a
    browser's navigation, problem+json for everything else."""
    return _http_error(request, exc) if wants_page(request) else handle_http_error(request, exc)


PAGE_EXCEPTION_HANDLERS: dict[int | type[Exception], Any] = {
    SignInRequired: _sign_in_required,
    CsrfRejected: _csrf_rejected,
    errors.TrailRoomError: _domain_error,
    HTTPException: _http_error,
    Exception: _unexpected,
}


class PageController(Controller):
    """A controller of HTML pages: `ctx: PageContext` injected, HTML error pages, not in the OpenAPI."""

    include_in_schema = False
    dependencies = {"ctx": Provide(provide_page_context, sync_to_thread=False)}
    exception_handlers = PAGE_EXCEPTION_HANDLERS


class DashboardController(PageController):
    """Pages of the signed-in dashboard (`/app/…`): anonymous visitors are sent to sign in."""

    guards = [requires_page_user]
