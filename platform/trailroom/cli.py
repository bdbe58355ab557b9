"""The `trailroom` command: dev, api, worker and admin tasks.

Failures that a person can fix (configuration, unreachable services, a busy port) are printed as
one line naming the problem and the fix, never as a stack trace.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from trailroom.core.config import ConfigError, Settings, get_settings
from trailroom.core.errors import ServiceUnavailable, TrailRoomError
from trailroom.core.logging import configure_logging
from trailroom.embedded.process import EmbeddedError, port_is_open

F = TypeVar("F", bound=Callable[..., Any])


def _one_line_errors(func: F) -> F:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ConfigError, EmbeddedError) as exc:
            click.echo(f"trailroom: {exc}", err=True)
            sys.exit(1)
        except TrailRoomError as exc:
            click.echo(f"trailroom: {exc.detail}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group()
@click.version_option(package_name="trailroom")
def main() -> None:
    """TrailRoom: self-hostable, API-first virtual try-on."""


@main.command()
@_one_line_errors
def dev() -> None:
    """Run everything on 127.0.0.1: database, Redis, API, worker, scheduler and demo data."""
    from trailroom.embedded.dev import DevStack
    from trailroom.seed import seed_demo

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    sys.exit(DevStack(settings).run(seed=seed_demo))


async def _check_services(settings: Settings) -> None:
    from trailroom.core.mongo import mongo_client, ping_mongo, redact_uri
    from trailroom.core.redis import ping_redis, redis_client
    from trailroom.core.resources import require_urls

    mongo_uri, redis_url = require_urls(settings)
    mongo = mongo_client(mongo_uri, timeout_ms=3000)
    redis = redis_client(redis_url)
    try:
        try:
            await ping_mongo(mongo)
        except ServiceUnavailable as exc:
            raise ServiceUnavailable(f"{exc.detail} (at {redact_uri(mongo_uri)})") from exc
        await ping_redis(redis)
    finally:
        await redis.aclose()
        await mongo.close()


@main.command()
@_one_line_errors
def api() -> None:
    """Serve the HTTP API (uvicorn)."""
    import uvicorn

    from trailroom.server.app import create_app

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(_check_services(settings))
    if port_is_open(settings.host, settings.port):
        raise EmbeddedError(
            f"port {settings.port} on {settings.host} is already in use; stop what listens there or set TRAILROOM_PORT"
        )
    uvicorn.run(
        create_app(settings, configure_logs=False),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
        proxy_headers=True,
        timeout_graceful_shutdown=20,
    )


@main.command()
@click.option("--queue", "queues", multiple=True, help="Queue(s) to work on (default: all).")
@_one_line_errors
def worker(queues: tuple[str, ...]) -> None:
    """Run SAQ workers for the try-on and default queues, with the cron schedule."""
    import uvloop

    from trailroom.worker.main import run_worker
    from trailroom.worker.queues import QUEUE_NAMES

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    unknown = set(queues) - set(QUEUE_NAMES)
    if unknown:
        raise ConfigError(f"unknown queue(s) {', '.join(sorted(unknown))}; known: {', '.join(QUEUE_NAMES)}")
    asyncio.run(_check_services(settings))
    uvloop.run(run_worker(settings, queues or QUEUE_NAMES))


@main.group()
def admin() -> None:
    """Administrative tasks."""
