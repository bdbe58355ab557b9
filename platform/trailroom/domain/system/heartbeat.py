"""Worker heartbeat: a harmless cron job that proves the scheduler runs, read by /readyz."""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis

HEARTBEAT_KEY = "trailroom:worker:heartbeat"


async def record_heartbeat(ctx: dict[str, Any]) -> float:
    """SAQ cron job: store the time of this run."""
    now = time.time()
    redis: Redis = ctx["resources"].redis
    await redis.set(HEARTBEAT_KEY, repr(now), ex=24 * 3600)
    return now


async def heartbeat_age(redis: Redis, *, now: float) -> float | None:
    """Seconds since the scheduler last ran, or None if it never has (within a day)."""
    value = await redis.get(HEARTBEAT_KEY)
    if value is None:
        return None
    return round(max(0.0, now - float(value)), 1)
