"""Token buckets in Redis, shared by every API process.

One Lua script refills and takes atomically, using Redis's clock, so concurrent requests on
several processes can never take more than the bucket holds.
"""

from __future__ import annotations

import asyncio
import math
import time
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


@dataclass
class _Lease:
    tokens: int  # left to hand out locally
    size: int  # tokens taken from Redis for this lease
    expires_at: float
    remaining: int  # the bucket's remaining tokens in Redis when the lease was taken
    reset_s: int


class LeasedRateLimiter:
    """A token bucket for hot paths: takes tokens from Redis a few at a time and hands them out
    locally, so a busy key costs one Redis round trip per lease instead of per request.

    Never more than the bucket: every token handed out was taken from Redis first. A lease lives
    `lease_s` seconds; tokens left when it expires are dropped, so the lease size adapts: it doubles
    (up to `max_lease`) while leases are used up in time and falls back to 1 (exact) when traffic is
    sparse. Near the limit a refused lease is retried for a single token. One renewal per key at a
    time: concurrent callers wait for it and then share the new lease.
    """

    def __init__(self, limiter: RateLimiter, *, max_lease: int = 32, lease_s: float = 1.0) -> None:
        self._limiter = limiter
        self._max_lease = max_lease
        self._lease_s = lease_s
        self._leases: dict[str, _Lease] = {}
        self._renewing: dict[str, asyncio.Future[None]] = {}

    async def take(self, key: str, limit: Limit) -> Decision:
        while True:
            now = time.monotonic()
            lease = self._leases.get(key)
            if lease is not None and lease.tokens > 0 and now < lease.expires_at:
                lease.tokens -= 1
                return Decision(True, limit.capacity, lease.remaining + lease.tokens, 0, lease.reset_s)
            renewal = self._renewing.get(key)
            if renewal is None:
                break
            await asyncio.shield(renewal)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._renewing[key] = done
        try:
            return await self._renew(key, limit, lease, now)
        finally:
            del self._renewing[key]
            done.set_result(None)

    async def _renew(self, key: str, limit: Limit, lease: _Lease | None, now: float) -> Decision:
        used_up_in_time = lease is not None and lease.tokens == 0 and now < lease.expires_at + self._lease_s
        size = min(self._max_lease, limit.capacity, lease.size * 2) if lease and used_up_in_time else 1
        decision = await self._limiter.take(key, limit, cost=size)
        if not decision.allowed and size > 1:
            size = 1
            decision = await self._limiter.take(key, limit, cost=1)
        if not decision.allowed:
            self._leases.pop(key, None)
            return decision
        if len(self._leases) > 10_000:
            self._leases.clear()
        self._leases[key] = _Lease(
            tokens=size - 1,
            size=size,
            expires_at=now + self._lease_s,
            remaining=decision.remaining,
            reset_s=decision.reset_s,
        )
        return Decision(True, limit.capacity, decision.remaining + size - 1, 0, decision.reset_s)
