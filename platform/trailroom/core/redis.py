"""Redis connection shared by the API (rate limits, caches, queue) and the worker."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from trailroom.core.errors import ServiceUnavailable

FIX_REDIS = "start redis-server or fix TRAILROOM_REDIS_URL (unset it under `trailroom dev` to use the embedded server)"


def redis_client(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10, health_check_interval=30)


async def ping_redis(client: Redis) -> None:
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        raise ServiceUnavailable(f"Redis does not answer: {exc}; {FIX_REDIS}") from exc
