"""`GET /widget/v1/trailroom.js`: the built widget (see widget/), for any site to load.

Public and cacheable: no credentials, `Access-Control-Allow-Origin: *` (module scripts and
integrity checks need CORS), an ETag for revalidation. The file is a build output of `make assets`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State

from trailroom.core.config import Settings
from trailroom.core.errors import ServiceUnavailable
from trailroom.web.assets import WIDGET_FILE

MEDIA_TYPE = "text/javascript"  # Litestar adds "; charset=utf-8" to text types


@dataclass(frozen=True)
class _Built:
    mtime_ns: int
    body: bytes
    etag: str


_cache: dict[Path, _Built] = {}


def _load(path: Path) -> _Built:
    """The file's bytes and ETag, read again only when the build changed it."""
    try:
        mtime_ns = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise ServiceUnavailable(
            "The widget is not built: run `make assets` (esbuild writes it).", code="widget_not_built"
        ) from None
    cached = _cache.get(path)
    if cached is None or cached.mtime_ns != mtime_ns:
        body = path.read_bytes()
        cached = _Built(mtime_ns, body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        _cache[path] = cached
    return cached


@get("/widget/v1/trailroom.js", include_in_schema=False, sync_to_thread=False)
def widget_script(request: Request[Any, Any, Any], state: State) -> Response[bytes]:
    settings: Settings = state.settings
    if_none_match = request.headers.get("if-none-match")
    built = _load(WIDGET_FILE)
    headers = {
        "ETag": built.etag,
        # Production: short freshness, then revalidation by ETag; development always revalidates.
        "Cache-Control": "public, max-age=600, stale-while-revalidate=86400" if settings.is_production else "no-cache",
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "X-Content-Type-Options": "nosniff",
    }
    if if_none_match is not None and built.etag in {tag.strip() for tag in if_none_match.split(",")}:
        return Response(b"", status_code=304, headers=headers, media_type=MEDIA_TYPE)
    return Response(built.body, headers=headers, media_type=MEDIA_TYPE)
