"""Domain errors. Services raise these; the HTTP layer turns them into RFC 9457 problems.

Nothing here knows about HTTP: each error carries a stable machine-readable `code`, a short
`title` and a human `detail`. The mapping to status codes lives in `trailroom.server.problems`.
"""

from __future__ import annotations

from typing import Any


class TrailRoomError(Exception):
    code: str = "error"
    title: str = "Something went wrong"

    def __init__(self, detail: str | None = None, *, code: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.title
        if code:
            self.code = code
        self.extra = extra
        super().__init__(self.detail)


class InvalidInput(TrailRoomError):
    code = "invalid_input"
    title = "The request is not valid"


class NotFound(TrailRoomError):
    code = "not_found"
    title = "Not found"


class Conflict(TrailRoomError):
    code = "conflict"
    title = "Conflict with the current state"


class Unauthenticated(TrailRoomError):
    code = "unauthenticated"
    title = "Authentication required"


class Forbidden(TrailRoomError):
    code = "forbidden"
    title = "Not allowed"


class RateLimited(TrailRoomError):
    code = "rate_limited"
    title = "Too many requests"

    def __init__(
        self,
        detail: str | None = None,
        *,
        retry_after: int,
        limit: int | None = None,
        reset: int | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after
        # The bucket's size and seconds until it is full, when the limit is a token bucket.
        self.limit = limit
        self.reset = reset


class PaymentRequired(TrailRoomError):
    code = "out_of_credits"
    title = "Not enough credits"


class ServiceUnavailable(TrailRoomError):
    code = "service_unavailable"
    title = "A backing service is unavailable"
