"""Checks on a request's body before its handler reads any of it (Litestar's `before_request` hook).

A body must be of a media type the route takes, or the request is refused with 415 before anything
happens (a JSON body sent as `text/plain` is not accepted, and so not charged). A JSON body must be
UTF-8 (RFC 8259): other bytes inside a string are a 400 `invalid_json`, not a decoding crash.

What a route takes comes from its `data` parameter (`JSONBody[...]`, `Body(media_type=...)`), or, for a
handler that reads the body itself, from `opt={BODY_MEDIA_TYPES: (...)}`. Routes with neither (the
web pages' forms, actions without a body) are left alone.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.handlers import BaseRouteHandler
from litestar.params import BodyKwarg

BODY_MEDIA_TYPES = "body_media_types"
JSON = RequestEncodingType.JSON.value
MULTIPART = RequestEncodingType.MULTI_PART.value


class BodyRefused(HTTPException):
    """A request body refused at the edge; `code` is its stable problem code."""

    def __init__(self, *, status_code: int, code: str, detail: str) -> None:
        super().__init__(status_code=status_code, detail=detail)
        self.code = code


def is_json(media_type: str) -> bool:
    """`application/json`, or a JSON-based type such as `application/merge-patch+json`."""
    return media_type == JSON or (media_type.startswith("application/") and media_type.endswith("+json"))


def accepted_media_types(handler: BaseRouteHandler) -> tuple[str, ...]:
    declared: tuple[str, ...] | None = handler.opt.get(BODY_MEDIA_TYPES)
    if declared is not None:
        return declared
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return ()
    kwarg = data.kwarg_definition
    media_type = kwarg.media_type if isinstance(kwarg, BodyKwarg) else RequestEncodingType.JSON
    return (RequestEncodingType(media_type).value,)


def _has_body(request: Request[Any, Any, Any]) -> bool:
    for name, value in request.scope["headers"]:
        if name == b"content-length":
            return value.strip() not in (b"", b"0")
        if name == b"transfer-encoding":
            return True
    return False


async def check_request_body(request: Request[Any, Any, Any]) -> None:
    if not _has_body(request):
        return  # a missing body is the handler's validation to report
    accepted = accepted_media_types(request.route_handler)
    if not accepted:
        return
    media_type = request.content_type[0].lower()
    if media_type not in accepted and not (JSON in accepted and is_json(media_type)):
        sent = media_type[:100] or "a body without Content-Type"
        raise BodyRefused(
            status_code=415,
            code="unsupported_media_type",
            detail=f"This endpoint takes {' or '.join(accepted)}, not {sent}.",
        )
    if is_json(media_type):
        try:
            (await request.body()).decode("utf-8")
        except UnicodeDecodeError:
            raise BodyRefused(
                status_code=400, code="invalid_json", detail="The body is not valid JSON: it must be UTF-8."
            ) from None
