"""Cursor pagination over (created_at, _id) descending, the order of every history in the product.

The cursor is opaque to callers: base64 of the last item's time and id. Queries using it are
served by an index on (owner, created_at desc, _id desc).
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId

from trailroom.core.errors import InvalidInput

NEWEST_FIRST: list[tuple[str, int]] = [("created_at", -1), ("_id", -1)]


def encode_cursor(created_at: datetime, item_id: Any) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{item_id}".encode()).decode().rstrip("=")


def after_cursor(cursor: str | None) -> dict[str, Any]:
    """The query condition selecting items older than the cursor's item (empty without a cursor)."""
    if not cursor:
        return {}
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_text, item_id = raw.split("|", 1)
        created, last_id = datetime.fromisoformat(created_text), PydanticObjectId(item_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("The cursor is not valid.", code="invalid_cursor", field="cursor") from exc
    return {"$or": [{"created_at": {"$lt": created}}, {"created_at": created, "_id": {"$lt": last_id}}]}


def page_cursor(items: list[Any], limit: int) -> tuple[list[Any], str | None]:
    """Trim a `limit + 1` fetch to `limit` items and the cursor of the next page, if there is one."""
    if len(items) <= limit:
        return items, None
    items = items[:limit]
    return items, encode_cursor(items[-1].created_at, items[-1].id)
