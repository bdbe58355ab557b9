"""Redis connection shared by the API (rate limits, caches, queue) and the worker."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from trailroom.core.errors import ServiceUnavailable

FIX_REDIS = "start redis-server or fix TRAILROOM_REDIS_URL (unset it under `trailroom dev` to use the embedded server)"


def redis_client(url: str, max_connections: int = 100) -> Redis:
    """A client whose pool makes a burst wait for a free connection (up to 10 s) instead of failing."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=10,
        socket_connect_timeout=5,
        socket_timeout=10,
        health_check_interval=30,
    )
    return Redis.from_pool(pool)  # the client owns the pool: closing it closes the connections


async def ping_redis(client: Redis) -> None:
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        raise ServiceUnavailable(f"Redis does not answer: {exc}; {FIX_REDIS}") from exc
