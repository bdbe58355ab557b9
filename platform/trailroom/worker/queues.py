"""The SAQ queues. `tryon` carries engine work; `default` carries everything else and the cron jobs."""

from __future__ import annotations

from dataclasses import dataclass

from saq import Queue
from saq.queue.redis import RedisQueue

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
        tryon=RedisQueue.from_url(redis_url, name=TRYON_QUEUE),
        default=RedisQueue.from_url(redis_url, name=DEFAULT_QUEUE),
    )
