"""Google sign-in end to end against a local OIDC provider speaking Google's protocol over HTTP."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from litestar import Litestar

from trailroom.domain.accounts.models import AuthProvider, User

from .fakes.oidc import OIDCProvider
from .helpers import PASSWORD, register


@pytest.fixture
def google(oidc_provider: OIDCProvider) -> OIDCProvider:
    oidc_provider.identity = {}
    oidc_provider.sign_with_unknown_key = False
    oidc_provider.wrong_audience = False
    oidc_provider.wrong_nonce = False
    return oidc_provider


async def _sign_in(
    client: httpx.AsyncClient, provider: OIDCProvider, start_url: str = "/api/v1/auth/google"
) -> httpx.Response:
    """Walk the browser's redirects: our start URL → provider → our callback."""
    start = await client.get(start_url)
    assert start.status_code == 302, start.text
    authorize_url = start.headers["location"]
    assert authorize_url.startswith(provider.issuer + "/authorize?")
    params = parse_qs(urlsplit(authorize_url).query)
    assert params["code_challenge_method"] == ["S256"]
    assert params["nonce"][0]
    assert params["state"][0]
    async with httpx.AsyncClient() as browser_to_provider:
        consent = await browser_to_provider.get(authorize_url)
    assert consent.status_code in (302, 307), consent.text
    callback = consent.headers["location"]
    return await client.get(callback)


async def test_new_google_user_is_signed_in(client: httpx.AsyncClient, google: OIDCProvider) -> None:
    google.identity = {"sub": "g-1001", "email": "Grace@Gmail.example", "email_verified": True, "name": "Grace H"}
    done = await _sign_in(client, google)
    assert done.status_code == 302, done.text
    assert done.headers["location"].endswith("/app")
    assert "tr_access" in client.cookies
    me = await client.get("/api/v1/auth/me")
    assert me.status_code == 200
    user = me.json()["user"]
    assert user["email"] == "grace@gmail.example"
    assert user["auth_provider"] == "google"
    assert user["email_verified"] is True
    stored = await User.find_one(User.email == "grace@gmail.example")
    assert stored is not None
    assert stored.google_sub == "g-1001"
    assert stored.password_hash is None


@pytest.mark.parametrize(
    ("next_path", "lands_on"),
    [
        ("/app/history?mode=top", "/app/history?mode=top"),
        ("//evil.example/x", "/app"),
        ("https://evil.example", "/app"),
    ],
)
async def test_sign_in_comes_back_to_a_same_site_next_only(
    client: httpx.AsyncClient, google: OIDCProvider, base_url: str, next_path: str, lands_on: str
) -> None:
    google.identity = {"sub": "g-1500", "email": "nia@gmail.example", "email_verified": True, "name": "Nia"}
    done = await _sign_in(client, google, f"/api/v1/auth/google?next={quote(next_path, safe='')}")
    assert done.status_code == 302
    assert done.headers["location"] == f"{base_url}{lands_on}"
    # The sign-in page's Google button carries where the visitor was going.
    async with httpx.AsyncClient(base_url=base_url) as visitor:
        page = await visitor.get("/login", params={"next": "/app/usage"})
    assert 'href="/api/v1/auth/google?next=/app/usage"' in page.text


async def test_existing_account_is_linked_by_verified_email(client: httpx.AsyncClient, google: OIDCProvider) -> None:
    await register(client, "linus@example.com")
    google.identity = {"sub": "g-2002", "email": "linus@example.com", "email_verified": True, "name": "Linus"}
    done = await _sign_in(client, google)
    assert done.status_code == 302
    assert await User.count() == 1
    user = await User.find_one(User.email == "linus@example.com")
    assert user is not None
    assert user.google_sub == "g-2002"
    assert user.auth_provider == AuthProvider.PASSWORD  # the password still works too
    client.cookies.clear()
    login = await client.post("/api/v1/auth/login", json={"email": "linus@example.com", "password": PASSWORD})
    assert login.status_code == 200


async def test_unverified_email_does_not_take_over_an_account(client: httpx.AsyncClient, google: OIDCProvider) -> None:
    await register(client, "victim@example.com")
    google.identity = {"sub": "g-3003", "email": "victim@example.com", "email_verified": False, "name": "Mallory"}
    done = await _sign_in(client, google)
    assert done.status_code == 409
    assert done.json()["code"] == "email_not_verified"
    user = await User.find_one(User.email == "victim@example.com")
    assert user is not None
    assert user.google_sub is None


@pytest.mark.parametrize("flaw", ["sign_with_unknown_key", "wrong_audience", "wrong_nonce"])
async def test_bad_id_tokens_are_refused(client: httpx.AsyncClient, google: OIDCProvider, flaw: str) -> None:
    google.identity = {"sub": "g-4004", "email": "eve@example.com", "email_verified": True}
    setattr(google, flaw, True)
    done = await _sign_in(client, google)
    assert done.status_code == 401
    assert done.json()["code"] == "google_sign_in_failed"
    assert await User.count() == 0
    assert "tr_access" not in client.cookies


async def test_state_must_match_the_browser_and_works_once(client: httpx.AsyncClient, google: OIDCProvider) -> None:
    google.identity = {"sub": "g-5005", "email": "once@example.com", "email_verified": True}
    start = await client.get("/api/v1/auth/google")
    async with httpx.AsyncClient() as other:
        consent = await other.get(start.headers["location"])
    callback = consent.headers["location"]
    # Another browser (no state cookie) cannot complete this sign-in.
    async with httpx.AsyncClient(base_url=str(client.base_url)) as attacker:
        stolen = await attacker.get(callback)
    assert stolen.status_code == 403
    assert stolen.json()["code"] == "oauth_state_mismatch"
    first = await client.get(callback)
    assert first.status_code == 302
    # A replay of the same callback is refused: the pending sign-in is gone.
    client.cookies.set("tr_oauth_state", parse_qs(urlsplit(callback).query)["state"][0], path="/api/v1/auth/google")
    replay = await client.get(callback)
    assert replay.status_code == 401
    assert await User.count() == 1


async def test_providers_lists_google_when_configured(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/auth/providers")).json()
    assert body == {"password": True, "google": True, "google_url": "/api/v1/auth/google"}


async def test_google_is_not_offered_without_credentials(client: httpx.AsyncClient, app: Litestar) -> None:
    configured = app.state.settings
    unconfigured = configured.model_copy(update={"google_client_id": "", "google_client_secret": ""})
    app.state.settings = unconfigured
    app.state.services.google.settings = unconfigured
    try:
        body = (await client.get("/api/v1/auth/providers")).json()
        assert body["google"] is False
        assert body["google_url"] is None
        start = await client.get("/api/v1/auth/google")
        assert start.status_code == 404
        assert start.json()["code"] == "google_not_configured"
    finally:
        app.state.settings = configured
        app.state.services.google.settings = configured
