"""The connections a process holds: MongoDB (with Beanie bound), Redis and the SAQ queues.

The API opens them in its lifespan, the worker in its startup hook, the tests once per session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from pymongo import AsyncMongoClient
from redis.asyncio import Redis
from redis.exceptions import RedisError

from trailroom.core.config import Settings, require_urls
from trailroom.core.mongo import init_documents, mongo_client
from trailroom.core.redis import ping_redis, redis_client
from trailroom.domain.registry import document_models
from trailroom.engines.registry import load_engine_modules
from trailroom.worker.queues import Queues, make_queues


@dataclass
class Resources:
    settings: Settings
    mongo: AsyncMongoClient  # type: ignore[type-arg]
    redis: Redis
    queues: Queues

    @property
    def database(self):  # type: ignore[no-untyped-def]
        return self.mongo[self.settings.mongodb_database]


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    mongo_uri, redis_url = require_urls(settings)
    load_engine_modules(settings.engine_modules)
    mongo = mongo_client(mongo_uri)
    redis = redis_client(redis_url)
    try:
        await init_documents(mongo, settings.mongodb_database, document_models())
        await ping_redis(redis)
        queues = make_queues(redis_url)
        await queues.connect()
        try:
            yield Resources(settings=settings, mongo=mongo, redis=redis, queues=queues)
        finally:
            # Closing must not fail a shutdown when a server already went away (e.g. Redis first).
            with suppress(RedisError, OSError):
                await queues.disconnect()
    finally:
        with suppress(RedisError, OSError):
            await redis.aclose()
        await mongo.close()
