"""Small helpers shared by the tests: accounts and keys made through the real API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from trailroom.core.config import Settings
from trailroom.core.ratelimit import Limit, RateLimiter
from trailroom.resources import Resources

PASSWORD = "Fitting-Room-42"


@dataclass
class Account:
    email: str
    access_token: str
    refresh_token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def register(client: httpx.AsyncClient, email: str, password: str = PASSWORD, name: str = "Test User") -> dict:
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": password, "name": name, "accept_terms": True},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> Account:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()  # tests choose explicitly between Bearer and cookie sessions
    body = response.json()
    return Account(email=email, access_token=body["access_token"], refresh_token=body["refresh_token"])


async def signed_up(client: httpx.AsyncClient, email: str) -> Account:
    await register(client, email)
    return await login(client, email)


async def after_draining_key(
    resources: Resources, settings: Settings, key_id: str, call: Callable[[], Awaitable[httpx.Response]]
) -> httpx.Response:
    """`call()` made right after the key's bucket was emptied. The bucket refills continuously, so a
    slow machine may let a token back in between: then drain and call again (a few times at most)."""
    limit = Limit(settings.api_key_requests_per_minute, 60)
    limiter = RateLimiter(resources.redis)
    for _ in range(5):
        state = await limiter.take(f"key:{key_id}", limit, cost=0)
        await limiter.take(f"key:{key_id}", limit, cost=max(1, state.remaining))
        response = await call()
        if response.status_code == 429:
            break
    return response


async def new_key(
    client: httpx.AsyncClient, account: Account, kind: str = "secret", origins: list[str] | None = None
) -> dict:
    response = await client.post(
        "/api/v1/api-keys/generate",
        headers=account.auth,
        json={"name": f"{kind} key", "kind": kind, "allowed_origins": origins or []},
    )
    assert response.status_code == 201, response.text
    return response.json()
