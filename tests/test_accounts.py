"""Registration, sign-in, sessions (access + rotating refresh tokens), cookies with CSRF, throttling."""

from __future__ import annotations

import asyncio
import time

import httpx
import jwt
import pytest

from trailroom.core.config import Settings
from trailroom.domain.accounts.models import RefreshToken, User, UserStatus

from .helpers import PASSWORD, login, register, signed_up


async def test_register_normalizes_email_and_hashes_password(client: httpx.AsyncClient) -> None:
    body = await register(client, "  Ada.Lovelace@Example.COM ", name="Ada")
    assert body["email"] == "ada.lovelace@example.com"
    assert body["role"] == "user"
    assert body["status"] == "active"
    assert "password_hash" not in body
    assert PASSWORD not in str(body)
    stored = await User.find_one(User.email == "ada.lovelace@example.com")
    assert stored is not None
    assert stored.password_hash is not None
    assert stored.password_hash.startswith("$2b$12$")  # bcrypt, cost 12
    assert PASSWORD not in stored.password_hash


async def test_duplicate_email_is_refused_by_the_unique_index(client: httpx.AsyncClient) -> None:
    await register(client, "grace@example.com")
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": "GRACE@example.com", "password": PASSWORD, "name": "Other", "accept_terms": True},
    )
    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"
    assert await User.find(User.email == "grace@example.com").count() == 1


async def test_concurrent_registrations_create_one_account(client: httpx.AsyncClient) -> None:
    payload = {"email": "race@example.com", "password": PASSWORD, "name": "Race", "accept_terms": True}
    responses = await asyncio.gather(*(client.post("/api/v1/auth/register", json=payload) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    assert await User.find(User.email == "race@example.com").count() == 1


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"email": "a@example.com", "password": "short1!", "name": "A", "accept_terms": True}, 422, "weak_password"),
        (
            {"email": "a@example.com", "password": "onlyletterslong", "name": "A", "accept_terms": True},
            422,
            "weak_password",
        ),
        (
            {"email": "a@example.com", "password": "password123", "name": "A", "accept_terms": True},
            422,
            "weak_password",
        ),
        ({"email": "not-an-email", "password": PASSWORD, "name": "A", "accept_terms": True}, 422, "invalid_email"),
        (
            {"email": "a@example.com", "password": PASSWORD, "name": "A", "accept_terms": False},
            422,
            "terms_not_accepted",
        ),
        ({"email": "a@example.com", "password": PASSWORD, "name": "A"}, 400, "validation_failed"),
        ({"email": "a@example.com", "password": 12345, "name": "A", "accept_terms": True}, 400, "validation_failed"),
        (
            {"email": "a@example.com", "password": PASSWORD, "name": "A", "accept_terms": True, "role": "super_admin"},
            400,
            "validation_failed",
        ),
    ],
)
async def test_bad_registrations_are_problems_and_change_nothing(
    client: httpx.AsyncClient, payload: dict, status: int, code: str
) -> None:
    response = await client.post("/api/v1/auth/register", json=payload)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == code
    assert problem["detail"]
    assert await User.count() == 0


async def test_login_answers_oauth2_tokens_and_sets_cookies(client: httpx.AsyncClient) -> None:
    await register(client, "lin@example.com")
    response = await client.post("/api/v1/auth/login", json={"email": "LIN@example.com", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["access_token"]
    assert body["refresh_token"]
    assert response.headers["cache-control"] == "no-store"
    cookies = {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}
    assert "HttpOnly" in cookies["tr_access"]
    assert "HttpOnly" in cookies["tr_refresh"]
    assert "Path=/api/v1/auth" in cookies["tr_refresh"]
    assert "HttpOnly" not in cookies["tr_csrf"]  # the page's script echoes it
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["user"]["email"] == "lin@example.com"
    assert me.json()["authenticated_via"] == "session"


@pytest.mark.parametrize("email", ["lin@example.com", "nobody@example.com"])
async def test_wrong_password_and_unknown_email_look_the_same(client: httpx.AsyncClient, email: str) -> None:
    await register(client, "lin@example.com")
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": "Wrong-Password-1"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert response.json()["detail"] == "The email or password is not correct."
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "set-cookie" not in response.headers


async def test_suspended_user_is_locked_out(client: httpx.AsyncClient) -> None:
    account = await signed_up(client, "sus@example.com")
    user = await User.find_one(User.email == "sus@example.com")
    assert user is not None
    await user.set({User.status: UserStatus.SUSPENDED})
    login_attempt = await client.post("/api/v1/auth/login", json={"email": "sus@example.com", "password": PASSWORD})
    assert login_attempt.status_code == 403
    assert login_attempt.json()["code"] == "account_suspended"
    me = await client.get("/api/v1/auth/me", headers=account.auth)
    assert me.status_code == 403
    assert me.json()["code"] == "account_suspended"
    refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert refreshed.status_code == 403


def _token(settings: Settings, **claims: object) -> str:
    now = int(time.time())
    base = {
        "sub": "000000000000000000000000",
        "role": "user",
        "typ": "access",
        "iss": "trailroom",
        "iat": now,
        "exp": now + 600,
        "sid": "a-session",
        "sep": 0,
    }
    base.update(claims)
    return jwt.encode(base, settings.secret_key, algorithm="HS256")


async def test_expired_forged_and_unsigned_tokens_are_refused(client: httpx.AsyncClient, settings: Settings) -> None:
    account = await signed_up(client, "tok@example.com")
    user_id = jwt.decode(account.access_token, options={"verify_signature": False})["sub"]
    expired = _token(settings, sub=user_id, iat=int(time.time()) - 2000, exp=int(time.time()) - 1000)
    forged = jwt.encode(
        {
            "sub": user_id,
            "role": "super_admin",
            "typ": "access",
            "iss": "trailroom",
            "iat": int(time.time()),
            "exp": int(time.time()) + 600,
        },
        "not-the-server-secret-but-long-enough-for-hs256",
        algorithm="HS256",
    )
    _, payload, _ = account.access_token.split(".")
    import base64
    import json

    none_header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=").decode()
    unsigned = f"{none_header}.{payload}."
    wrong_type = _token(settings, sub=user_id, typ="refresh")
    for token, code in [
        (expired, "token_expired"),
        (forged, "invalid_token"),
        (unsigned, "invalid_token"),
        (wrong_type, "invalid_token"),
        ("garbage", "invalid_token"),
    ]:
        response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert response.json()["code"] == code
        assert "user" not in response.json()
    assert (await client.get("/api/v1/auth/me", headers=account.auth)).status_code == 200


async def test_refresh_rotates_and_reuse_revokes_the_family(client: httpx.AsyncClient) -> None:
    account = await signed_up(client, "rot@example.com")
    first = await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert first.status_code == 200
    rotated = first.json()["refresh_token"]
    assert rotated != account.refresh_token
    # The old token again: reuse. The whole family (including the rotated token) is revoked.
    reuse = await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert reuse.status_code == 401
    assert reuse.json()["code"] == "refresh_token_reused"
    after = await client.post("/api/v1/auth/refresh", json={"refresh_token": rotated})
    assert after.status_code == 401
    assert await RefreshToken.find(RefreshToken.revoked_at == None).count() == 0  # noqa: E711


async def test_concurrent_refreshes_with_one_token_succeed_once(client: httpx.AsyncClient) -> None:
    account = await signed_up(client, "twice@example.com")
    responses = await asyncio.gather(
        *(client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}) for _ in range(5))
    )
    assert [r.status_code for r in responses].count(200) == 1


async def test_logout_ends_the_session(client: httpx.AsyncClient) -> None:
    account = await signed_up(client, "bye@example.com")
    assert (await client.post("/api/v1/auth/logout", json={"refresh_token": account.refresh_token})).status_code == 204
    again = await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert again.status_code == 401
    unknown = await client.post("/api/v1/auth/refresh", json={"refresh_token": "made-up-token"})
    assert unknown.status_code == 401
    assert unknown.json()["code"] == "invalid_refresh_token"


async def test_cookie_session_requires_csrf_token_for_changes(client: httpx.AsyncClient) -> None:
    await register(client, "web@example.com")
    response = await client.post("/api/v1/auth/login", json={"email": "web@example.com", "password": PASSWORD})
    assert response.status_code == 200
    csrf = client.cookies["tr_csrf"]
    # Reading with the cookie alone works.
    me = await client.get("/api/v1/auth/me")
    assert me.status_code == 200
    # Changing state with the cookie alone is refused; with the CSRF header it works.
    refused = await client.post("/api/v1/api-keys/generate", json={"name": "web"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    wrong = await client.post("/api/v1/api-keys/generate", json={"name": "web"}, headers={"X-CSRF-Token": "x" * 32})
    assert wrong.status_code == 403
    ok = await client.post("/api/v1/api-keys/generate", json={"name": "web"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201
    # Refresh from the cookie also needs the CSRF header.
    assert (await client.post("/api/v1/auth/refresh")).status_code == 403
    refreshed = await client.post("/api/v1/auth/refresh", headers={"X-CSRF-Token": csrf})
    assert refreshed.status_code == 200
    assert client.cookies["tr_access"] == refreshed.json()["access_token"]


async def test_login_is_throttled_per_account(client: httpx.AsyncClient, settings: Settings) -> None:
    await register(client, "brute@example.com")
    for _ in range(settings.login_failures_per_account_per_15min):
        bad = await client.post("/api/v1/auth/login", json={"email": "brute@example.com", "password": "Wrong-pass-99"})
        assert bad.status_code == 401
    # Now even the right password waits: the account is throttled, with Retry-After.
    blocked = await client.post("/api/v1/auth/login", json={"email": "brute@example.com", "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "login_throttled"
    assert int(blocked.headers["retry-after"]) > 0
    # Other accounts from the same address are not affected by this account's throttle.
    await register(client, "other@example.com")
    assert (
        await client.post("/api/v1/auth/login", json={"email": "other@example.com", "password": PASSWORD})
    ).status_code == 200


async def test_login_is_throttled_per_ip(client: httpx.AsyncClient, settings: Settings) -> None:
    # Each attempt checks a password (~0.2 s), so the bucket refills a little meanwhile.
    limit = settings.login_attempts_per_ip_per_minute
    codes = []
    for i in range(limit * 2):
        response = await client.post(
            "/api/v1/auth/login", json={"email": f"u{i}@example.com", "password": "Wrong-pass-99"}
        )
        codes.append(response.status_code)
        if response.status_code == 429:
            assert response.json()["code"] == "rate_limited"
            assert int(response.headers["retry-after"]) >= 1
            break
    assert codes[-1] == 429
    assert set(codes[:-1]) == {401}
    assert limit <= len(codes) - 1 <= limit + 5


async def test_admin_role_cannot_be_self_assigned_and_me_shows_role(client: httpx.AsyncClient) -> None:
    account = await login(client, (await register(client, "role@example.com"))["email"])
    me = (await client.get("/api/v1/auth/me", headers=account.auth)).json()
    assert me["user"]["role"] == "user"


async def test_providers_reports_google(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/auth/providers")
    assert response.status_code == 200
    assert response.json()["password"] is True
