"""Errors raised by the client, built from the API's RFC 9457 problem details."""

from __future__ import annotations

from typing import Any

import httpx


class TrailRoomError(Exception):
    """An error answered by the API (or a transport failure when `status` is 0)."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str | None = None,
        detail: str | None = None,
        request_id: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.detail = detail
        self.request_id = request_id
        self.body: dict[str, Any] = body or {}


class AuthenticationError(TrailRoomError):
    """401: the key or token is missing, wrong, revoked or expired."""


class PermissionDeniedError(TrailRoomError):
    """403: authenticated, but not allowed (e.g. an API key on a session-only route)."""


class NotFoundError(TrailRoomError):
    """404: no such resource for this account."""


class OutOfCreditsError(TrailRoomError):
    """402: the account cannot pay for the request."""


class RateLimitError(TrailRoomError):
    """429: too many requests; `retry_after` is the server's hint in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InvalidRequestError(TrailRoomError):
    """400, 409 or 422: the request itself is wrong (or conflicts with the current state)."""


class ServerError(TrailRoomError):
    """5xx: the server failed; retried automatically before this is raised."""


class APIConnectionError(TrailRoomError):
    """The API could not be reached (connection refused, timeout, ...)."""


class WebhookVerificationError(Exception):
    """A webhook delivery whose signature, timestamp or headers do not check out."""


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_from_response(response: httpx.Response) -> TrailRoomError:
    """The matching `TrailRoomError` subclass for an error response."""
    status = response.status_code
    body: dict[str, Any] = {}
    try:
        parsed = response.json()
        if isinstance(parsed, dict):
            body = parsed
    except ValueError:
        pass
    code = body.get("code") if isinstance(body.get("code"), str) else None
    detail_value = body.get("detail")
    detail = detail_value if isinstance(detail_value, str) else (response.text[:500] or None)
    request_id = body.get("request_id") or response.headers.get("x-request-id")
    message = f"{status} {code or response.reason_phrase}: {detail or ''}".rstrip(": ")
    kwargs: dict[str, Any] = {
        "status": status,
        "code": code,
        "detail": detail,
        "request_id": str(request_id) if request_id else None,
        "body": body,
    }
    if status == 429:
        return RateLimitError(message, retry_after=parse_retry_after(response.headers.get("retry-after")), **kwargs)
    kind: type[TrailRoomError]
    if status == 401:
        kind = AuthenticationError
    elif status == 402:
        kind = OutOfCreditsError
    elif status == 403:
        kind = PermissionDeniedError
    elif status == 404:
        kind = NotFoundError
    elif 400 <= status < 500:  # 400, 409, 422, and the rarer 405/413/415
        kind = InvalidRequestError
    elif status >= 500:
        kind = ServerError
    else:
        kind = TrailRoomError
    return kind(message, **kwargs)
