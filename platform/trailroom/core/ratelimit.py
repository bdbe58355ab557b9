"""Token buckets in Redis, shared by every API process.

One Lua script refills and takes atomically, using Redis's clock, so concurrent requests on
several processes can never take more than the bucket holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from redis.asyncio import Redis

_TOKEN_BUCKET = """
local key = KEYS[1]
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])   -- tokens per second
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil then
  tokens = capacity
  at = now
end
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', key, 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', key, math.ceil((capacity / rate) * 1000) + 1000)
return {allowed, tostring(tokens)}
"""


@dataclass(frozen=True)
class Limit:
    """`capacity` tokens, refilled at `capacity` per `period_s` seconds."""

    capacity: int
    period_s: float

    @property
    def rate(self) -> float:
        return self.capacity / self.period_s


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_s: int  # seconds until one token is back (0 when allowed)
    reset_s: int  # seconds until the bucket is full again

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_s)
        return headers


class RateLimiter:
    def __init__(self, redis: Redis, prefix: str = "trailroom:rl:") -> None:
        self._script = redis.register_script(_TOKEN_BUCKET)
        self._prefix = prefix

    async def take(self, key: str, limit: Limit, cost: float = 1.0) -> Decision:
        """Take `cost` tokens if there are enough (cost 0 only looks)."""
        allowed, tokens_text = await self._script(keys=[self._prefix + key], args=[limit.capacity, limit.rate, cost])
        tokens = float(tokens_text)
        missing = max(0.0, max(cost, 1.0) - tokens)
        return Decision(
            allowed=bool(allowed) and (cost > 0 or tokens >= 1),
            limit=limit.capacity,
            remaining=max(0, math.floor(tokens)),
            retry_after_s=math.ceil(missing / limit.rate) if missing else 0,
            reset_s=math.ceil((limit.capacity - tokens) / limit.rate),
        )
