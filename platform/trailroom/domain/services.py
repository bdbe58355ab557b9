"""The domain services of a process, built once from its connections.

The API builds them in its lifespan, the worker at start-up, the tests once per session; HTTP
controllers receive them by dependency injection, jobs through `ctx["services"]`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import httpx

from trailroom.core.ratelimit import RateLimiter
from trailroom.core.resources import Resources
from trailroom.domain.accounts.google import GoogleSignIn
from trailroom.domain.accounts.security import AccessTokens
from trailroom.domain.accounts.services import AccountService, ApiKeyService
from trailroom.domain.credits.services import CreditService
from trailroom.domain.runtime_config.services import RuntimeConfigService


@dataclass
class Services:
    resources: Resources
    runtime_config: RuntimeConfigService
    accounts: AccountService
    api_keys: ApiKeyService
    google: GoogleSignIn
    credits: CreditService


def build_services(resources: Resources, http: httpx.AsyncClient) -> Services:
    settings = resources.settings
    limiter = RateLimiter(resources.redis)
    tokens = AccessTokens(settings.resolved_secret_key(), timedelta(seconds=settings.access_token_ttl_s))
    runtime_config = RuntimeConfigService()
    return Services(
        resources=resources,
        runtime_config=runtime_config,
        accounts=AccountService(settings, tokens, limiter),
        api_keys=ApiKeyService(resources.redis, limiter),
        google=GoogleSignIn(settings, resources.redis, http),
        credits=CreditService(resources.mongo, runtime_config, settings.free_daily_credits),
    )


@asynccontextmanager
async def open_services(resources: Resources) -> AsyncIterator[Services]:
    """The services plus the outbound HTTP client they share (closed at the end)."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=30) as http:
        yield build_services(resources, http)
