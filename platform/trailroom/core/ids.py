"""Document ids as they arrive from URLs and bodies."""

from __future__ import annotations

import os

from beanie import PydanticObjectId
from bson.errors import InvalidId


def parse_object_id(value: str) -> PydanticObjectId | None:
    """The id, or None for anything malformed (which callers treat as "not found")."""
    try:
        return PydanticObjectId(value)
    except (InvalidId, TypeError, ValueError):
        return None


def random_object_id() -> PydanticObjectId:
    """An ObjectId of 12 random bytes, for ids that reach browsers: a generated ObjectId is a
    timestamp plus a counter, so one id leads to its neighbours; 96 random bits lead nowhere."""
    return PydanticObjectId(os.urandom(12))
