"""Document ids as they arrive from URLs and bodies."""

from __future__ import annotations

from beanie import PydanticObjectId
from bson.errors import InvalidId


def parse_object_id(value: str) -> PydanticObjectId | None:
    """The id, or None for anything malformed (which callers treat as "not found")."""
    try:
        return PydanticObjectId(value)
    except (InvalidId, TypeError, ValueError):
        return None
