"""RFC 9457 problem details for every error the API returns.

Each problem has `type`, `title`, `status`, `detail`, `instance`, a stable `code` and the
`request_id`; validation problems list the failing fields in `errors`.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from trailroom.core import errors
from trailroom.core.logging import get_logger
from trailroom.core.mongo import MONGO_UNAVAILABLE
from trailroom.core.redis import REDIS_UNAVAILABLE
from trailroom.server.request_context import REQUEST_ID_HEADER, request_id_of

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_DOCS = "/docs/errors#"

log = get_logger("trailroom.errors")

# The HTTP status of each domain error; subclasses inherit their parent's unless listed.
DOMAIN_STATUS: dict[type[errors.TrailRoomError], int] = {
    errors.InvalidInput: 422,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.RateLimited: 429,
    errors.PaymentRequired: 402,
    errors.ServiceUnavailable: 503,
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


def problem_response(
    request: Request[Any, Any, Any],
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    request_id = request_id_of(request.scope)
    body: dict[str, Any] = {
        "type": PROBLEM_DOCS + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
        "request_id": request_id,
        **extra,
    }
    return Response(
        content=body,
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers={**(headers or {}), REQUEST_ID_HEADER: request_id},
    )


def _domain_status(exc: errors.TrailRoomError) -> int:
    for cls in type(exc).__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]
    return 400


def handle_domain_error(request: Request[Any, Any, Any], exc: errors.TrailRoomError) -> Response[Any]:
    status = _domain_status(exc)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="trailroom"'

    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(int(exc.retry_after))
        if exc.limit is not None:
            headers.update({"RateLimit-Limit": str(exc.limit), "RateLimit-Remaining": "0"})
        if exc.reset is not None:
            headers["RateLimit-Reset"] = str(exc.reset)
    return problem_response(
        request,
        status=status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        headers=headers,
        **exc.extra,
    )


def handle_validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    field_errors = [
        {"field": item.get("key"), "source": item.get("source"), "message": item.get("message")}
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    ]
    detail = exc.detail if exc.detail and exc.detail != "Bad Request" else "The request is not valid"
    return problem_response(
        request,
        status=400,
        code="validation_failed",
        title="The request is not valid",
        detail=_clean_detail(detail),
        errors=field_errors,
    )


def handle_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    # Refusals of our own (e.g. `BodyRefused`) carry their code; Litestar's get one from the status.
    code = getattr(exc, "code", None) or _HTTP_CODES.get(status) or re.sub(r"[^a-z]+", "_", phrase.lower()).strip("_")
    headers = dict(exc.headers or {})
    return problem_response(
        request,
        status=status,
        code=code,
        title=phrase,
        detail=_clean_detail(exc.detail or phrase),
        headers=headers,
    )


def handle_unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    structlog.contextvars.bind_contextvars(request_id=request_id_of(request.scope))
    log.exception("unhandled error", path=request.url.path)
    return problem_response(
        request,
        status=500,
        code="internal_error",
        title="Internal Server Error",
        detail="Something went wrong on our side; the request id identifies it in our logs.",
    )


def _clean_detail(detail: str) -> str:
    # Litestar prefixes some details with the handler's signature; keep the human part.
    return detail.split(" for request ")[0] if " for request " in detail else detail


EXCEPTION_HANDLERS: dict[int | type[Exception], Any] = {
    errors.TrailRoomError: handle_domain_error,
    ValidationException: handle_validation_error,
    HTTPException: handle_http_error,
    Exception: handle_unexpected_error,
}


# -- a backing service is away: 503 with Retry-After, not 500 --------------------------------------
# Redis or the database down, restarting or still loading is a state to wait out; the caller retries.
BACKEND_RETRY_AFTER_S = 5


def handle_backend_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    detail = (
        exc.detail
        if isinstance(exc, errors.ServiceUnavailable)
        else "A service the platform depends on is briefly unavailable; retry after the Retry-After seconds."
    )
    # A domain's own reason (say, `payment_gateway_unavailable`) keeps its code; a backend outage is generic.
    code = exc.code if isinstance(exc, errors.ServiceUnavailable) else "service_unavailable"
    return problem_response(
        request,
        status=503,
        code=code,
        title="Service unavailable",
        detail=detail,
        headers={"Retry-After": str(BACKEND_RETRY_AFTER_S)},
    )


EXCEPTION_HANDLERS.update(
    {cls: handle_backend_unavailable for cls in (*REDIS_UNAVAILABLE, *MONGO_UNAVAILABLE, errors.ServiceUnavailable)}
)


__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_MEDIA_TYPE", "problem_response"]
