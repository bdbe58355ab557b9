"""Accounts under attack (issue 12): forwarded addresses believed only from trusted proxies, sign-in
throttling that cannot lock the owner out, CSRF tokens bound to the session, and access tokens
that stop working as soon as their session ends, on every API process.

A second API runs as a real `trailroom api` process on the same database and Redis, configured
with the test's loopback address as a trusted proxy: requests through it choose their client
address with `X-Forwarded-For`, as a load balancer would."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from trailroom.cli import uvicorn_options
from trailroom.core.config import Settings
from trailroom.domain.accounts.models import RefreshToken, SecurityNotice, User, UserStatus
from trailroom.domain.accounts.security import ANONYMOUS_CSRF, session_csrf_binding
from trailroom.domain.services import Services
from trailroom.embedded.process import free_port

from .helpers import PASSWORD, login, register, signed_up
from .web.conftest import FormBrowser

WRONG = "Not-the-password-1"
# The second API's account-wide failure bound: small, so a test can exceed it with a few guesses.
ACCOUNT_WIDE_FAILURES = 6


@pytest.fixture(scope="module")
def proxied_api(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`trailroom api` behind a trusted proxy (loopback), sharing the tests' database and Redis."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAILROOM_")}
    env.update(
        TRAILROOM_ENV="test",
        TRAILROOM_HOST="127.0.0.1",
        TRAILROOM_PORT=str(port),
        TRAILROOM_MONGODB_URI=str(settings.mongodb_uri),
        TRAILROOM_MONGODB_DATABASE=settings.mongodb_database,
        TRAILROOM_REDIS_URL=str(settings.redis_url),
        TRAILROOM_DATA_DIR=str(settings.data_dir),
        TRAILROOM_SECRET_KEY=settings.secret_key,
        TRAILROOM_LOG_LEVEL="WARNING",
        TRAILROOM_TRUSTED_PROXIES="127.0.0.1",
        TRAILROOM_LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR=str(ACCOUNT_WIDE_FAILURES),
    )
    log = Path(tmp_path_factory.mktemp("proxied-api")) / "api.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "trailroom", "api"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
async def proxied(proxied_api: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=proxied_api, timeout=30) as http:
        yield http


async def login_from(http: httpx.AsyncClient, ip: str, email: str, password: str) -> httpx.Response:
    return await http.post(
        "/api/v1/auth/login", json={"email": email, "password": password}, headers={"X-Forwarded-For": ip}
    )


def toss_csrf(http: httpx.AsyncClient, value: str) -> None:
    """Put `value` in the browser's `tr_csrf` cookie, as a sibling subdomain could."""
    http.cookies.delete("tr_csrf")
    http.cookies.set("tr_csrf", value, domain="127.0.0.1", path="/")


# -- 3. forwarded headers ---------------------------------------------------------------------------


async def test_forged_forwarded_addresses_from_loopback_are_throttled_by_default(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    assert settings.trusted_proxies == ""
    assert uvicorn_options(settings)["proxy_headers"] is False  # the tests' server is configured as production
    codes = []
    for i in range(30):
        response = await login_from(client, f"198.18.0.{i + 1}", f"u{i}@example.com", WRONG)
        codes.append(response.status_code)
    assert 429 in codes
    assert codes.index(429) <= settings.login_attempts_per_ip_per_minute + 3


async def test_a_trusted_proxy_s_forwarded_address_is_the_client(
    proxied: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    codes = [
        (await login_from(proxied, f"198.18.1.{i + 1}", f"u{i}@example.com", WRONG)).status_code for i in range(30)
    ]
    assert codes == [401] * 30  # thirty clients, one attempt each: none throttled
    await register(client, "fwd@example.com")
    assert (await login_from(proxied, "203.0.113.77", "fwd@example.com", PASSWORD)).status_code == 200
    session = await RefreshToken.find_one(RefreshToken.ip == "203.0.113.77")
    assert session is not None  # the session records the forwarded address, not the proxy's


def test_trusted_proxies_take_ips_and_cidrs_only() -> None:
    settings = Settings(_env_file=None, trusted_proxies=" 10.0.0.0/8, 192.168.1.7 ,::1")  # type: ignore[call-arg]
    assert settings.trusted_proxy_list == ["10.0.0.0/8", "192.168.1.7", "::1"]
    options = uvicorn_options(settings)
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == ["10.0.0.0/8", "192.168.1.7", "::1"]
    with pytest.raises(ValueError, match="TRAILROOM_TRUSTED_PROXIES"):
        Settings(_env_file=None, trusted_proxies="10.0.0.0/8, proxy.internal")  # type: ignore[call-arg]


# -- 4. sign-in throttling that does not lock the owner out -------------------------------------------


async def test_the_right_password_from_another_ip_is_accepted_while_one_ip_guesses(
    proxied: httpx.AsyncClient, client: httpx.AsyncClient, settings: Settings
) -> None:
    await register(client, "owner@example.com")
    for _ in range(settings.login_failures_per_account_per_15min):
        assert (await login_from(proxied, "203.0.113.5", "owner@example.com", WRONG)).status_code == 401
    attacker = await login_from(proxied, "203.0.113.5", "owner@example.com", PASSWORD)
    assert attacker.status_code == 429  # the guessing address waits, even with the right password
    assert attacker.json()["code"] == "login_throttled"
    assert int(attacker.headers["retry-after"]) > 0
    owner = await login_from(proxied, "198.51.100.20", "owner@example.com", PASSWORD)
    assert owner.status_code == 200, owner.text


async def test_guesses_from_many_addresses_slow_unknown_browsers_and_spare_known_ones(
    proxied: httpx.AsyncClient, client: httpx.AsyncClient, proxied_api: str
) -> None:
    await register(client, "target@example.com")
    # The owner's browser signed in before: it holds a device cookie.
    async with httpx.AsyncClient(base_url=proxied_api, timeout=30) as owner_browser:
        first = await login_from(owner_browser, "198.51.100.1", "target@example.com", PASSWORD)
        assert first.status_code == 200
        device_cookie = next(c for c in first.headers.get_list("set-cookie") if c.startswith("tr_device="))
        assert "HttpOnly" in device_cookie
        assert "Max-Age=15552000" in device_cookie  # 180 days
        device = owner_browser.cookies["tr_device"]
        assert device.count(".") == 4  # user id, epoch, device id, issued at, HMAC
        # A trickle of guesses from many addresses exceeds the account-wide bound ...
        for i in range(ACCOUNT_WIDE_FAILURES):
            assert (await login_from(proxied, f"203.0.113.{i + 10}", "target@example.com", WRONG)).status_code == 401
        # ... after which each unknown source gets one try a minute: the attacker is slowed,
        slowed = await login_from(proxied, "203.0.113.99", "target@example.com", WRONG)
        assert slowed.status_code == 401
        again = await login_from(proxied, "203.0.113.99", "target@example.com", WRONG)
        assert again.status_code == 429
        assert again.json()["code"] == "login_throttled"
        # ... the owner on a new browser and address still gets in,
        new_browser = await login_from(proxied, "198.51.100.2", "target@example.com", PASSWORD)
        assert new_browser.status_code == 200, new_browser.text
        # ... and the known browser keeps signing in, even after a typo of its own.
        for _ in range(2):
            typo = await login_from(owner_browser, "198.51.100.1", "target@example.com", WRONG)
            assert typo.status_code == 401
            known = await login_from(owner_browser, "198.51.100.1", "target@example.com", PASSWORD)
            assert known.status_code == 200, known.text
            assert owner_browser.cookies["tr_device"] != device  # rotated on every sign-in
            device = owner_browser.cookies["tr_device"]
        # The owner is told: a notice on the dashboard, until dismissed.
        home = await owner_browser.get("/app")
        assert home.status_code == 200
        assert "Someone tried to sign in to your account with wrong passwords" in home.text
        assert "203.0.113.99" in home.text
        notice = await SecurityNotice.find_one(SecurityNotice.open == True)  # noqa: E712
        assert notice is not None
        settings_page = await owner_browser.get("/app/settings")
        assert "Someone tried to sign in" in settings_page.text
        dismissed = await owner_browser.post(
            f"/app/settings/notices/{notice.id}/dismiss",
            data={"csrf_token": owner_browser.cookies["tr_csrf"], "back": "/app"},
        )
        assert dismissed.status_code == 303
        assert "Someone tried to sign in" not in (await owner_browser.get("/app")).text


async def test_a_device_cookie_is_worthless_for_another_account_or_after_a_password_change(
    proxied: httpx.AsyncClient, client: httpx.AsyncClient, services: Services, settings: Settings
) -> None:
    await register(client, "mallory@example.com")
    await register(client, "victim@example.com")
    mallory = await login_from(proxied, "203.0.113.50", "mallory@example.com", PASSWORD)
    mallory_device = mallory.cookies["tr_device"]
    victim = await User.find_one(User.email == "victim@example.com")
    assert victim is not None
    assert services.accounts.devices.verify(mallory_device, user_id=str(victim.id), epoch=0) is None
    # Mallory's own device cookie does not lift the victim's per-address throttle.
    proxied.cookies.set("tr_device", mallory_device, domain="127.0.0.1", path="/")
    for _ in range(settings.login_failures_per_account_per_15min):
        assert (await login_from(proxied, "203.0.113.50", "victim@example.com", WRONG)).status_code == 401
    assert (await login_from(proxied, "203.0.113.50", "victim@example.com", WRONG)).status_code == 429
    mallory_user = await User.find_one(User.email == "mallory@example.com")
    assert mallory_user is not None
    assert services.accounts.devices.verify(mallory_device, user_id=str(mallory_user.id), epoch=0) is not None
    await services.accounts.revoke_all_sessions(mallory_user.id)  # what a password change does
    assert services.accounts.devices.verify(mallory_device, user_id=str(mallory_user.id), epoch=1) is None


# -- 10. CSRF tokens bound to the session -----------------------------------------------------------


async def test_a_tossed_csrf_cookie_and_header_are_refused_by_the_api(
    client: httpx.AsyncClient, services: Services
) -> None:
    await register(client, "web@example.com")
    assert (await client.post("/api/v1/auth/login", json={"email": "web@example.com", "password": PASSWORD})).is_success
    real = client.cookies["tr_csrf"]
    tossed_values = [
        "x" * 32,  # any value an attacker picks
        services.accounts.csrf.issue(ANONYMOUS_CSRF),  # a genuine pre-session token anyone can fetch
        services.accounts.csrf.issue(session_csrf_binding("the-attackers-own-session")),
    ]
    for tossed in tossed_values:
        toss_csrf(client, tossed)
        refused = await client.post("/api/v1/api-keys/generate", json={"name": "web"}, headers={"X-CSRF-Token": tossed})
        assert refused.status_code == 403, tossed
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "csrf_failed"
        assert refused.json()["request_id"]
        # The refresh cookie alone needs the session's token too.
        assert (await client.post("/api/v1/auth/refresh", headers={"X-CSRF-Token": tossed})).status_code == 403
    toss_csrf(client, real)
    ok = await client.post("/api/v1/api-keys/generate", json={"name": "web"}, headers={"X-CSRF-Token": real})
    assert ok.status_code == 201
    assert (await client.post("/api/v1/auth/refresh", headers={"X-CSRF-Token": real})).status_code == 200


@pytest.fixture
async def browser(base_url: str) -> AsyncIterator[FormBrowser]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        yield FormBrowser(http)


async def test_a_tossed_csrf_pair_is_refused_by_the_pages_and_a_real_one_works(
    browser: FormBrowser, client: httpx.AsyncClient, services: Services
) -> None:
    http = browser.http
    anonymous = await browser.csrf("/login")
    assert services.accounts.csrf.valid_for(anonymous, ANONYMOUS_CSRF)
    fields = {"email": "page@example.com", "password": PASSWORD}
    await register(client, "page@example.com")
    # Before sign-in: an invented pair, and a genuine anonymous token posted from a sibling site.
    toss_csrf(http, "forged")
    invented = await http.post("/login", data={**fields, "csrf_token": "forged"})
    assert invented.status_code == 403
    assert "This form has expired" in invented.text
    toss_csrf(http, anonymous)
    sibling = await http.post(
        "/login", data={**fields, "csrf_token": anonymous}, headers={"Sec-Fetch-Site": "same-site"}
    )
    assert sibling.status_code == 403
    signed_in = await http.post(
        "/login", data={**fields, "csrf_token": anonymous}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert signed_in.status_code == 303
    # Signing in re-issues the token, bound to the new session.
    session_token = http.cookies.get("tr_csrf")
    assert session_token
    assert session_token != anonymous
    family = await RefreshToken.find_one(RefreshToken.revoked_at == None)  # noqa: E711
    assert family is not None
    assert services.accounts.csrf.valid_for(session_token, session_csrf_binding(family.family_id))
    # Signed in: a tossed anonymous pair (valid before sign-in) is refused; the session's works.
    toss_csrf(http, anonymous)
    tossed = await http.post("/app/settings/profile", data={"csrf_token": anonymous, "name": "Tossed"})
    assert tossed.status_code == 403
    assert "This form has expired" in tossed.text
    assert (await User.find_one(User.email == "page@example.com")).name == "Test User"  # type: ignore[union-attr]
    toss_csrf(http, session_token)
    saved = await http.post("/app/settings/profile", data={"csrf_token": session_token, "name": "Real"})
    assert saved.status_code == 303
    assert (await User.find_one(User.email == "page@example.com")).name == "Real"  # type: ignore[union-attr]


# -- 11. access tokens end with their session --------------------------------------------------------


async def test_after_logout_the_old_access_token_is_refused_on_every_api_process(
    client: httpx.AsyncClient, proxied: httpx.AsyncClient
) -> None:
    account = await signed_up(client, "out@example.com")
    other = await login(client, "out@example.com")  # another session of the same user
    assert (await proxied.get("/api/v1/auth/me", headers=account.auth)).status_code == 200
    assert (await client.post("/api/v1/auth/logout", json={"refresh_token": account.refresh_token})).status_code == 204
    for api in (client, proxied):  # the process that signed out, and another one
        refused = await api.get("/api/v1/auth/me", headers=account.auth)
        assert refused.status_code == 401
        assert refused.json()["code"] == "session_ended"
        assert (await api.get("/api/v1/auth/me", headers=other.auth)).status_code == 200  # only that session ended
    # The ended session is kept in the database (shared by every process), not in a process's memory.
    user = await User.find_one(User.email == "out@example.com")
    assert user is not None
    assert len(user.ended_sessions) == 1


async def test_a_revoked_refresh_family_ends_its_access_tokens(client: httpx.AsyncClient) -> None:
    account = await signed_up(client, "reuse@example.com")
    rotated = await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert rotated.status_code == 200
    new_access = {"Authorization": f"Bearer {rotated.json()['access_token']}"}
    assert (await client.get("/api/v1/auth/me", headers=new_access)).status_code == 200
    reuse = await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert reuse.json()["code"] == "refresh_token_reused"
    for headers in (account.auth, new_access):
        refused = await client.get("/api/v1/auth/me", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["code"] == "session_ended"


async def test_a_password_change_ends_every_old_access_token(
    client: httpx.AsyncClient, proxied: httpx.AsyncClient
) -> None:
    first = await signed_up(client, "pw@example.com")
    second = await login(client, "pw@example.com")
    changed = await client.post(
        "/api/v1/auth/password",
        headers=first.auth,
        json={"current_password": PASSWORD, "new_password": "Another-Fitting-7"},
    )
    assert changed.status_code == 200
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    for api in (client, proxied):
        for old in (first, second):
            refused = await api.get("/api/v1/auth/me", headers=old.auth)
            assert refused.status_code == 401
            assert refused.json()["code"] == "session_ended"
        assert (await api.get("/api/v1/auth/me", headers=fresh)).status_code == 200


async def test_suspension_ends_access_tokens_for_good(client: httpx.AsyncClient, services: Services) -> None:
    account = await signed_up(client, "sus@example.com")
    user = await User.find_one(User.email == "sus@example.com")
    assert user is not None
    assert user.id is not None
    await services.accounts.set_status(user.id, UserStatus.SUSPENDED)
    suspended = await client.get("/api/v1/auth/me", headers=account.auth)
    assert suspended.status_code == 403
    assert suspended.json()["code"] == "account_suspended"
    # Lifting the suspension does not bring the old session back.
    await services.accounts.set_status(user.id, UserStatus.ACTIVE)
    after = await client.get("/api/v1/auth/me", headers=account.auth)
    assert after.status_code == 401
    assert after.json()["code"] == "session_ended"
    assert (await login(client, "sus@example.com")).access_token
