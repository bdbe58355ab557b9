"""Background jobs of the accounts slice."""

from __future__ import annotations

from typing import Any

from trailroom.core.ratelimit import RateLimiter
from trailroom.domain.accounts.services import ApiKeyService


async def flush_api_key_last_used(ctx: dict[str, Any]) -> int:
    """Cron: write the API keys' last-used times collected in Redis to the database."""
    redis = ctx["resources"].redis
    return await ApiKeyService(redis, RateLimiter(redis)).flush_last_used()
