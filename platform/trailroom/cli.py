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

from trailroom.core.config import ConfigError, Settings, get_settings, require_urls
from trailroom.core.errors import Conflict, InvalidInput, ServiceUnavailable, TrailRoomError
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
            sys.exit(2 if isinstance(exc, InvalidInput | Conflict) else 1)

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
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    # Cheap checks first, before the application (and its dependencies) is imported.
    require_urls(settings)
    if port_is_open(settings.host, settings.port):
        raise EmbeddedError(
            f"port {settings.port} on {settings.host} is already in use; stop what listens there or set TRAILROOM_PORT"
        )
    asyncio.run(_check_services(settings))

    import uvicorn

    from trailroom.server.app import create_app

    uvicorn.run(create_app(settings, configure_logs=False), loop="uvloop", **uvicorn_options(settings))


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn serves the API, for `trailroom api` (and so `trailroom dev`) and the tests alike.

    Forwarded headers (`X-Forwarded-For`, `X-Forwarded-Proto`) are believed only from the peers in
    `TRAILROOM_TRUSTED_PROXIES`: uvicorn's default trusts any loopback peer, so anything on the
    host could pose as any client address and walk around the per-IP sign-in limits."""
    proxies = settings.trusted_proxy_list
    return {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "http": "httptools",
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or [],
        "timeout_graceful_shutdown": 20,
    }


@main.command()
@click.option("--queue", "queues", multiple=True, help="Queue(s) to work on (default: all).")
@_one_line_errors
def worker(queues: tuple[str, ...]) -> None:
    """Run SAQ workers for the try-on and default queues, with the cron schedule."""
    from trailroom.worker.queues import QUEUE_NAMES

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    unknown = set(queues) - set(QUEUE_NAMES)
    if unknown:
        raise ConfigError(f"unknown queue(s) {', '.join(sorted(unknown))}; known: {', '.join(QUEUE_NAMES)}")
    require_urls(settings)
    asyncio.run(_check_services(settings))

    import uvloop

    from trailroom.worker.main import run_worker

    uvloop.run(run_worker(settings, queues or QUEUE_NAMES))


@main.group()
def admin() -> None:
    """Administrative tasks."""


@admin.command("create-user")
@click.option("--email", required=True, help="Email address of the new account.")
@click.option("--name", default="Administrator", show_default=True)
@click.option(
    "--role",
    type=click.Choice(["user", "super_admin", "support_admin", "finance_admin"]),
    default="user",
    show_default=True,
)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="TRAILROOM_ADMIN_PASSWORD",
    help="Prompted for when not given (or set TRAILROOM_ADMIN_PASSWORD).",
)
@_one_line_errors
def create_user(email: str, name: str, role: str, password: str) -> None:
    """Create an account, e.g. the first super_admin. Uses a running `trailroom dev` when no URLs are set."""
    from trailroom.domain.accounts.models import Role
    from trailroom.domain.accounts.security import check_password_rules

    settings = running_dev_settings(get_settings())
    configure_logging("WARNING", settings.log_format)
    check_password_rules(password, email=email, name=name)

    async def create() -> str:
        from trailroom.domain.services import open_services
        from trailroom.resources import open_resources

        async with open_resources(settings) as resources, open_services(resources) as services:
            user = await services.accounts.create_user(
                email=email, password=password, name=name, role=Role(role), email_verified=True
            )
            return str(user.id)

    user_id = asyncio.run(create())
    click.echo(f"created {role} {email.strip().lower()} (id {user_id})")


def running_dev_settings(settings: Settings) -> Settings:
    """Settings with the URLs of the embedded servers of a running `trailroom dev`, when none are set."""
    from trailroom.embedded.dev import read_running_services

    if settings.mongodb_uri and settings.redis_url:
        return settings
    running = read_running_services(settings.data_dir)
    if running is None:
        return settings
    return settings.model_copy(
        update={
            "mongodb_uri": settings.mongodb_uri or running["mongodb_uri"],
            "redis_url": settings.redis_url or running["redis_url"],
        }
    )
