"""Dependency providers of the accounts slice: services are built once per process in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from litestar import Litestar
from litestar.datastructures import State

from trailroom.core.ratelimit import RateLimiter
from trailroom.core.resources import Resources
from trailroom.domain.accounts.google import GoogleSignIn
from trailroom.domain.accounts.security import AccessTokens
from trailroom.domain.accounts.services import AccountService, ApiKeyService


def build_account_services(resources: Resources) -> tuple[AccountService, ApiKeyService]:
    settings = resources.settings
    limiter = RateLimiter(resources.redis)
    tokens = AccessTokens(settings.resolved_secret_key(), timedelta(seconds=settings.access_token_ttl_s))
    return AccountService(settings, tokens, limiter), ApiKeyService(resources.redis, limiter)


@asynccontextmanager
async def account_services(app: Litestar) -> AsyncIterator[None]:
    """Lifespan hook (after the connections): the services and the outbound HTTP client they use."""
    resources: Resources = app.state.resources
    app.state.accounts, app.state.api_keys = build_account_services(resources)
    async with httpx.AsyncClient(follow_redirects=False) as http:
        app.state.google = GoogleSignIn(resources.settings, resources.redis, http)
        yield


def provide_accounts(state: State) -> AccountService:
    service: AccountService = state.accounts
    return service


def provide_api_keys(state: State) -> ApiKeyService:
    service: ApiKeyService = state.api_keys
    return service


def provide_google(state: State) -> GoogleSignIn:
    service: GoogleSignIn = state.google
    return service
