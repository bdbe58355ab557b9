"""The worker's view of Redis and the database: paused quietly while either is away.

SAQ's loops do not wait when Redis is gone: each process slot retries its dequeue at once (a busy
loop) and each upkeep loop logs a traceback every second. The worker instead watches both servers
itself, says once that one went away and once that it is back, and holds its job slots and its
dispatcher until then; SAQ's own tracebacks about the outage are dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time

from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from trailroom.core.logging import get_logger
from trailroom.core.mongo import MONGO_UNAVAILABLE
from trailroom.core.redis import REDIS_UNAVAILABLE

log = get_logger("trailroom.worker")

BACKEND_UNAVAILABLE: tuple[type[Exception], ...] = (*REDIS_UNAVAILABLE, *MONGO_UNAVAILABLE)
_PING_FAILED: tuple[type[Exception], ...] = (*BACKEND_UNAVAILABLE, OSError, TimeoutError)


class BackendWatch:
    """Pings Redis and the database; `wait_up()` returns at once while both answer.

    While one is away the pings back off exponentially (0.25 s doubling to `max_backoff_s`), so an
    outage costs a ping now and then, not a loop at full speed.
    """

    def __init__(
        self,
        redis: Redis,
        mongo: AsyncMongoClient,  # type: ignore[type-arg]
        *,
        interval_s: float = 1.0,
        max_backoff_s: float = 2.0,
        ping_timeout_s: float = 2.0,
    ) -> None:
        self.redis = redis
        self.mongo = mongo
        self.interval_s = interval_s
        self.max_backoff_s = max_backoff_s
        self.ping_timeout_s = ping_timeout_s
        self._up = asyncio.Event()
        self._up.set()
        self.outages = 0

    @property
    def up(self) -> bool:
        return self._up.is_set()

    async def wait_up(self) -> None:
        await self._up.wait()

    async def _away(self) -> str | None:
        """The name of a server that does not answer, if any."""
        try:
            await asyncio.wait_for(self.redis.ping(), self.ping_timeout_s)
        except _PING_FAILED:
            return "redis"
        try:
            await asyncio.wait_for(self.mongo.admin.command("ping"), self.ping_timeout_s)
        except _PING_FAILED:
            return "mongodb"
        return None

    async def run(self) -> None:
        """Watch until cancelled."""
        while True:
            away = await self._away()
            if away is None:
                await asyncio.sleep(self.interval_s)
                continue
            self._up.clear()
            self.outages += 1
            since = time.monotonic()
            log.warning("backing service unavailable; worker paused until it answers", service=away)
            backoff = 0.25
            while (away := await self._away()) is not None:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
            log.warning("backing services answer again; worker resumed", paused_s=round(time.monotonic() - since, 1))
            self._up.set()


class DropOutageTracebacks(logging.Filter):
    """Drops SAQ's records about a failed Redis or database call: `BackendWatch` reports outages once."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, BACKEND_UNAVAILABLE)
