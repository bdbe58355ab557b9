"""The one clock the platform reads: timezone-aware UTC, so stored and compared times never mix naive
and aware values."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
