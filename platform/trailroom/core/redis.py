"""Redis connection shared by the API (rate limits, caches, queue) and the worker."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from trailroom.core.errors import ServiceUnavailable

# Redis is away (down, restarting, still loading its data): worth retrying later, not a bug.
REDIS_UNAVAILABLE: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)

FIX_REDIS = "start redis-server or fix TRAILROOM_REDIS_URL (unset it under `trailroom dev` to use the embedded server)"


def reconnecting() -> Retry:
    """Retry a command twice, quickly, on a broken connection: after a Redis restart every pooled
    connection is dead, and each would otherwise fail one command before reconnecting."""
    return Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=2)


def redis_client(url: str, max_connections: int = 100) -> Redis:
    """A client whose pool makes a burst wait for a free connection (up to 10 s) instead of failing."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=10,
        socket_connect_timeout=5,
        socket_timeout=10,
        health_check_interval=30,
        retry=reconnecting(),
    )
    return Redis.from_pool(pool)  # the client owns the pool: closing it closes the connections


async def ping_redis(client: Redis) -> None:
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        raise ServiceUnavailable(f"Redis does not answer: {exc}; {FIX_REDIS}") from exc
