"""Background jobs of credits."""

from __future__ import annotations

from typing import Any


async def grant_daily_credits(ctx: dict[str, Any]) -> int:
    """Cron at 00:00 UTC: the day's free credits for every account (a missed run is caught up by
    the first spend of the day, which grants the same allowance once)."""
    granted: int = await ctx["services"].credits.grant_daily_to_all()
    return granted
