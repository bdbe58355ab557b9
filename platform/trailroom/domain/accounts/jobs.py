"""Background jobs of the accounts slice."""

from __future__ import annotations

from typing import Any


async def flush_api_key_last_used(ctx: dict[str, Any]) -> int:
    """Cron: write the API keys' last-used times collected in Redis to the database."""
    written: int = await ctx["services"].api_keys.flush_last_used()
    return written
