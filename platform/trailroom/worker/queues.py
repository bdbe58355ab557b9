"""The SAQ queues. `tryon` carries engine work; `default` carries everything else and the cron jobs."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from saq import Queue
from saq.queue.redis import RedisQueue

from trailroom.core.redis import reconnecting

TRYON_QUEUE = "tryon"
DEFAULT_QUEUE = "default"
QUEUE_NAMES = (TRYON_QUEUE, DEFAULT_QUEUE)


@dataclass
class Queues:
    tryon: Queue
    default: Queue

    def all(self) -> list[Queue]:
        return [self.tryon, self.default]

    def by_name(self, name: str) -> Queue:
        return {TRYON_QUEUE: self.tryon, DEFAULT_QUEUE: self.default}[name]

    async def connect(self) -> None:
        for queue in self.all():
            await queue.connect()

    async def disconnect(self) -> None:
        for queue in self.all():
            await queue.disconnect()


def make_queues(redis_url: str) -> Queues:
    # Each queue owns its connection pool: SAQ closes it on disconnect.
    return Queues(
        tryon=RedisQueue(Redis.from_url(redis_url, retry=reconnecting()), name=TRYON_QUEUE),
        default=RedisQueue(Redis.from_url(redis_url, retry=reconnecting()), name=DEFAULT_QUEUE),
    )
