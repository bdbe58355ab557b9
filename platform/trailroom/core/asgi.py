"""Adding headers to a response on its way out, for the middleware that wrap `send`.

One pass over the response's header list, on the raw byte pairs: the middleware run on every
request, and Litestar's `MutableScopeHeaders` rescans the list for each header it sets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from litestar.types import HTTPResponseStartEvent, Scope

RawHeaders = Sequence[tuple[bytes, bytes]]

# The platform's own paths that carry no API call or credentials: static files, the OpenAPI
# document and its reference, the health probes. Middleware that authenticate or count skip them.
PLATFORM_PATH_PREFIXES = ("/static/", "/schema")
PLATFORM_PATHS = frozenset({"/healthz", "/readyz"})


def is_platform_path(scope: Scope) -> bool:
    """For `ASGIMiddleware.should_bypass_for_scope`: judged on the request path (what Litestar 3
    will judge `exclude_path_pattern` on is the route's path, which differs for mounted routers)."""
    path: str = scope["path"]
    return path in PLATFORM_PATHS or path.startswith(PLATFORM_PATH_PREFIXES)


def raw_headers(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    """`{"Name": "value"}` as the lower-case byte pairs ASGI messages carry."""
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


def add_headers(message: HTTPResponseStartEvent, headers: RawHeaders, *, replace: bool = True) -> None:
    """Add `headers` (lower-case names) to the response: replacing headers of the same name, or with
    `replace=False` only those the response does not have yet."""
    current = list(message.get("headers") or ())
    if replace:
        names = {name for name, _ in headers}
        message["headers"] = [h for h in current if h[0].lower() not in names] + list(headers)
    else:
        present = {name.lower() for name, _ in current}
        message["headers"] = current + [h for h in headers if h[0] not in present]


def header_value(message: HTTPResponseStartEvent, name: bytes) -> bytes | None:
    """The first value of header `name` (lower-case) in the response, if any."""
    for key, value in message.get("headers") or ():
        if key.lower() == name:
            return bytes(value)
    return None
