"""Daily try-on caps per shopper, so one visitor of a merchant's shop cannot drain its credits.

A shopper is counted twice: by the anonymous id the widget keeps in the browser (`X-Shopper-ID`)
and by IP address, per API key and UTC day. One Lua script checks both counters and takes one from
each only when both have room, so concurrent submissions can never pass the cap. A reservation is
released when the submission does not become a new job (refused, failed or an idempotent replay).
The shopper id itself is issued by the platform (`shopper_ids.py`); new ids are counted per IP too.
The numbers are `core/limits.py`'s; this module counts and refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis

from trailroom.core.clock import utcnow
from trailroom.core.errors import RateLimited
from trailroom.core.limits import ShopperCaps

__all__ = ["Reservation", "Shopper", "ShopperCaps", "ShopperLimiter", "seconds_until_utc_midnight"]

_RESERVE = """
for i, key in ipairs(KEYS) do
  local used = tonumber(redis.call('GET', key) or '0')
  if used >= tonumber(ARGV[i]) then
    return i
  end
end
for _, key in ipairs(KEYS) do
  redis.call('INCR', key)
  redis.call('EXPIRE', key, tonumber(ARGV[#ARGV]))
end
return 0
"""

_RELEASE = """
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then
    redis.call('DECR', key)
  end
end
return 0
"""


@dataclass(frozen=True)
class Shopper:
    """Who is trying on, as far as the platform can tell; either part may be unknown."""

    shopper_id: str | None
    ip: str | None


@dataclass(frozen=True)
class Reservation:
    keys: tuple[str, ...]


def seconds_until_utc_midnight(now: datetime) -> int:
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds()))


class ShopperLimiter:
    def __init__(self, redis: Redis, prefix: str = "trailroom:shopper:") -> None:
        self._reserve = redis.register_script(_RESERVE)
        self._release = redis.register_script(_RELEASE)
        self._prefix = prefix

    async def reserve(self, key_id: str, shopper: Shopper, caps: ShopperCaps) -> Reservation | None:
        """Count one try-on for the shopper, or raise RateLimited when a daily cap is reached."""
        now = utcnow()
        day = now.strftime("%Y%m%d")
        counted: list[tuple[str, int, str]] = []
        if shopper.shopper_id:
            counted.append((f"{self._prefix}{key_id}:{day}:id:{shopper.shopper_id}", caps.per_shopper, "shopper"))
        if shopper.ip:
            counted.append((f"{self._prefix}{key_id}:{day}:ip:{shopper.ip}", caps.per_ip, "network"))
        if not counted:
            return None
        keys = [key for key, _, _ in counted]
        # Counters outlive the day by an hour so a submission at 23:59:59 still finds its own.
        full = int(await self._reserve(keys=keys, args=[*(cap for _, cap, _ in counted), 25 * 3600]))
        if full:
            _, cap, who = counted[full - 1]
            raise RateLimited(
                f"This {who} reached today's limit of {cap} try-ons in this shop; it resets at 00:00 UTC.",
                code="shopper_limit_reached",
                retry_after=seconds_until_utc_midnight(now),
            )
        return Reservation(keys=tuple(keys))

    async def count_new_shopper(self, key_id: str, ip: str | None, cap: int) -> None:
        """Count one shopper id issued to this IP for the key today, or raise RateLimited at the cap."""
        now = utcnow()
        key = f"{self._prefix}{key_id}:{now.strftime('%Y%m%d')}:new:{ip or 'unknown'}"
        if int(await self._reserve(keys=[key], args=[cap, 25 * 3600])):
            raise RateLimited(
                f"This network asked for {cap} new shopper ids in this shop today; keep the one you have.",
                code="shopper_id_limit_reached",
                retry_after=seconds_until_utc_midnight(now),
            )

    async def release(self, reservation: Reservation | None) -> None:
        if reservation is not None:
            await self._release(keys=list(reservation.keys))
