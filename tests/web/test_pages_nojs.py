"""The pages without JavaScript: plain GETs and form posts, as a browser with scripts off sends
them. CSRF, errors re-rendered with the input, redirects and session cookies, session renewal
(also two tabs at once), sign-out, settings forms, the calculator and the live demo."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from tests.conftest import running_workers
from tests.helpers import PASSWORD, register
from tests.tryon.conftest import scripted, small_png, use_scripted  # noqa: F401 - fixtures
from trailroom.core.errors import Unauthenticated
from trailroom.core.ratelimit import RateLimiter
from trailroom.domain.accounts.models import ApiKey, RefreshToken, User
from trailroom.domain.billing.pricing import PriceList
from trailroom.domain.services import Services
from trailroom.domain.tryon.models import TryOnJob
from trailroom.web.context import safe_next
from trailroom.web.security import CONTENT_SECURITY_POLICY
from trailroom.web.templating import money

from .conftest import FormBrowser


def assert_html_page(page: httpx.Response) -> None:
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "unsafe" not in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script>" not in page.text
    assert " style=" not in page.text
    assert not re.search(r"\son[a-z]+=", page.text), "inline event handler"


async def test_public_pages_render_with_strict_csp(browser: FormBrowser) -> None:
    for path in ("/", "/login", "/register", "/terms"):
        page = await browser.get(path)
        assert page.status_code == 200, (path, page.text[:500])
        assert_html_page(page)
    assert "tr_csrf" in browser.http.cookies
    missing = await browser.get("/no-such-page", headers={"Accept": "text/html"})
    assert missing.status_code == 404
    assert_html_page(missing)
    assert "There is no page at this address." in missing.text
    api_missing = await browser.get("/api/v1/no-such-thing", headers={"Accept": "text/html"})
    assert api_missing.status_code == 404
    assert api_missing.headers["content-type"] == "application/problem+json"


async def test_dashboard_pages_render_with_strict_csp(signed_in: FormBrowser) -> None:
    for path in ("/app", "/app/settings"):
        page = await signed_in.get(path)
        assert page.status_code == 200, (path, page.text[:500])
        assert_html_page(page)
        assert page.headers["cache-control"] == "no-store"
        assert 'aria-current="page"' in page.text
    home = await signed_in.get("/app")
    assert "Hello, Sam" in home.text
    assert "A top try-on costs 1 credit<" in home.text  # the runtime configuration's cost
    assert "data-balance-value>3<" in home.text


async def test_forms_without_the_csrf_token_are_refused(browser: FormBrowser, client: httpx.AsyncClient) -> None:
    await browser.get("/register")  # the page sets the tr_csrf cookie
    fields = {"name": "Eve", "email": "eve@example.com", "password": PASSWORD, "accept_terms": "on"}
    missing = await browser.http.post("/register", data=fields)
    assert missing.status_code == 403
    assert_html_page(missing)
    assert "This form has expired" in missing.text
    wrong = await browser.http.post("/register", data={**fields, "csrf_token": "forged"})
    assert wrong.status_code == 403
    assert await User.find_one(User.email == "eve@example.com") is None
    # Another site can post the form, but it cannot read the cookie to copy the token.
    browser.http.cookies.clear()
    no_cookie = await browser.http.post("/register", data={**fields, "csrf_token": "forged"})
    assert no_cookie.status_code == 403
    theme = await browser.http.post("/theme", data={"theme": "dark"})
    assert theme.status_code == 403


async def test_register_errors_keep_the_input(browser: FormBrowser, client: httpx.AsyncClient) -> None:
    weak = await browser.post_form(
        "/register", {"name": "Nora", "email": "nora@example.com", "password": "abcdefghij", "accept_terms": "on"}
    )
    assert weak.status_code == 422
    assert_html_page(weak)
    assert "The password needs a digit or a symbol." in weak.text
    assert 'value="nora@example.com"' in weak.text
    assert 'value="Nora"' in weak.text

    no_terms = await browser.post_form("/register", {"name": "Nora", "email": "nora@example.com", "password": PASSWORD})
    assert no_terms.status_code == 422
    assert "Accept the terms of service" in no_terms.text

    await register(client, "taken@example.com")
    taken = await browser.post_form(
        "/register", {"name": "Nora", "email": "taken@example.com", "password": PASSWORD, "accept_terms": "on"}
    )
    assert taken.status_code == 409
    assert "An account with this email already exists." in taken.text
    assert await User.find(User.email == "taken@example.com").count() == 1


async def test_register_signs_in_and_redirects(browser: FormBrowser) -> None:
    done = await browser.post_form(
        "/register",
        {
            "name": "Ola",
            "email": "Ola@Example.com",
            "password": PASSWORD,
            "accept_terms": "on",
            "next": "/app/settings",
        },
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/app/settings"
    cookies = {cookie.name: cookie for cookie in browser.http.cookies.jar}
    assert cookies["tr_refresh"].path == "/api/v1/auth"
    assert cookies["tr_access"].path == "/"
    assert cookies["tr_access"].has_nonstandard_attr("HttpOnly")
    assert not cookies["tr_csrf"].has_nonstandard_attr("HttpOnly")
    settings = await browser.get("/app/settings")
    assert settings.status_code == 200
    assert "ola@example.com" in settings.text
    assert "Welcome to TrailRoom, Ola!" in settings.text  # the flash, shown once
    again = await browser.get("/app/settings")
    assert "Welcome to TrailRoom" not in again.text


async def test_sign_in_errors_throttling_and_safe_next(browser: FormBrowser, client: httpx.AsyncClient) -> None:
    await register(client, "lia@example.com")
    wrong = await browser.post_form("/login", {"email": "lia@example.com", "password": "Not-the-password-1"})
    assert wrong.status_code == 401
    assert "The email or password is not correct." in wrong.text
    assert 'value="lia@example.com"' in wrong.text
    assert "tr_access" not in browser.http.cookies
    for _ in range(5):
        await browser.post_form("/login", {"email": "lia@example.com", "password": "Not-the-password-1"})
    throttled = await browser.post_form("/login", {"email": "lia@example.com", "password": PASSWORD})
    assert throttled.status_code == 429
    assert "Too many failed attempts for this account" in throttled.text

    await register(client, "max@example.com")
    elsewhere = await browser.post_form(
        "/login", {"email": "max@example.com", "password": PASSWORD, "next": "//evil.example/steal"}
    )
    assert elsewhere.status_code == 303
    assert elsewhere.headers["location"] == "/app"
    signed_in = await browser.get("/login")
    assert signed_in.status_code == 303  # already signed in: straight to the dashboard


async def test_expired_page_session_renews_and_comes_back(signed_in: FormBrowser) -> None:
    http = signed_in.http
    refresh_before = http.cookies.get("tr_refresh", path="/api/v1/auth")
    # The access cookie lives as long as its token: after 15 minutes the browser no longer sends it.
    http.cookies.delete("tr_access", path="/")
    page = await http.get("/app/settings")
    assert page.status_code == 303
    renew = await http.get(page.headers["location"])
    assert renew.status_code == 303
    assert renew.headers["location"] == "/app/settings"
    assert http.cookies.get("tr_refresh", path="/api/v1/auth") != refresh_before
    back = await http.get("/app/settings")
    assert back.status_code == 200
    assert "shopper@example.com" in back.text

    # An expired (invalid) access cookie on a page is treated the same way, not as an API error.
    http.cookies.set("tr_access", "expired.token.value", path="/")
    again = await http.get("/app")
    assert again.status_code == 303
    assert again.headers["location"].startswith("/api/v1/auth/web/renew?next=/app")


async def test_two_tabs_renewing_at_once_stay_signed_in(signed_in: FormBrowser, services: Services) -> None:
    http = signed_in.http
    for _ in range(2):  # the race has several interleavings: try more than one round
        token = http.cookies.get("tr_refresh", path="/api/v1/auth")
        assert token
        http.cookies.delete("tr_access", path="/")
        cookie = {"Cookie": f"tr_refresh={token}"}
        tabs = await asyncio.gather(
            *(http.get(f"/api/v1/auth/web/renew?next=/app/tab{n}", headers=cookie) for n in range(3))
        )
        assert sorted(tab.headers["location"] for tab in tabs) == ["/app/tab0", "/app/tab1", "/app/tab2"]
        for tab in tabs:
            assert "tr_access=" in tab.headers["set-cookie"]
        # Exactly one of them rotated the refresh token (the others answer an access token only).
        rotated = [tab for tab in tabs if "tr_refresh=" in tab.headers["set-cookie"]]
        assert len(rotated) == 1
        http.cookies.extract_cookies(rotated[0])
        assert await RefreshToken.find(RefreshToken.revoked_at == None).count() == 1  # noqa: E711
        assert (await http.get("/app")).status_code == 200

    # Outside the grace period, presenting a used token again is theft: the session ends.
    with pytest.raises(Unauthenticated) as reused:
        await services.accounts.renew(token, ip=None, user_agent=None, reuse_grace_s=0)
    assert reused.value.code == "refresh_token_reused"
    assert await RefreshToken.find(RefreshToken.revoked_at == None).count() == 0  # noqa: E711
    # And after a sign-out, not even the grace period lets a used token back in.
    with pytest.raises(Unauthenticated):
        await services.accounts.renew(token, ip=None, user_agent=None, reuse_grace_s=30)


async def test_scripts_renew_the_session_with_the_csrf_header(signed_in: FormBrowser) -> None:
    http = signed_in.http
    http.cookies.delete("tr_access", path="/")
    refused = await http.post("/api/v1/auth/web/renew")
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    csrf = http.cookies.get("tr_csrf", path="/")
    renewed = await http.post("/api/v1/auth/web/renew", headers={"X-CSRF-Token": csrf})
    assert renewed.status_code == 204
    assert http.cookies.get("tr_csrf", path="/") == csrf  # open forms keep their token
    assert (await http.get("/api/v1/auth/me")).status_code == 200
    http.cookies.delete("tr_refresh", path="/api/v1/auth")
    gone = await http.post("/api/v1/auth/web/renew", headers={"X-CSRF-Token": csrf})
    assert gone.status_code == 401
    assert gone.headers["content-type"] == "application/problem+json"


async def test_sign_out_ends_the_session(signed_in: FormBrowser) -> None:
    http = signed_in.http
    token = await signed_in.csrf("/app")
    out = await http.post("/api/v1/auth/web/logout", data={"csrf_token": token})
    assert out.status_code == 303
    assert out.headers["location"] == "/"
    assert "tr_access" not in http.cookies
    assert await RefreshToken.find(RefreshToken.revoked_at == None).count() == 0  # noqa: E711
    assert "You are signed out." in (await http.get("/")).text
    gone = await http.get("/app", follow_redirects=True)
    assert gone.url.path == "/login"


async def test_profile_and_password_forms(signed_in: FormBrowser, base_url: str) -> None:
    renamed = await signed_in.post_form("/app/settings/profile", {"name": "  Samira  "}, from_page="/app/settings")
    assert renamed.status_code == 303
    assert (await User.find_one(User.email == "shopper@example.com")).name == "Samira"  # type: ignore[union-attr]
    empty = await signed_in.post_form("/app/settings/profile", {"name": "  "}, from_page="/app/settings")
    assert empty.status_code == 422
    assert "Enter a name" in empty.text

    # Another device signed in with the same account.
    async with httpx.AsyncClient(base_url=base_url) as other:
        other_login = await other.post(
            "/api/v1/auth/login", json={"email": "shopper@example.com", "password": PASSWORD}
        )
        other_refresh = other_login.json()["refresh_token"]

    wrong = await signed_in.post_form(
        "/app/settings/password",
        {"current_password": "Nope-nope-123", "new_password": "New-Fitting-77", "confirm_password": "New-Fitting-77"},
        from_page="/app/settings",
    )
    assert wrong.status_code == 422
    assert "The current password is not correct." in wrong.text
    mismatch = await signed_in.post_form(
        "/app/settings/password",
        {"current_password": PASSWORD, "new_password": "New-Fitting-77", "confirm_password": "New-Fitting-78"},
        from_page="/app/settings",
    )
    assert "The two new passwords do not match." in mismatch.text
    changed = await signed_in.post_form(
        "/app/settings/password",
        {"current_password": PASSWORD, "new_password": "New-Fitting-77", "confirm_password": "New-Fitting-77"},
        from_page="/app/settings",
    )
    assert changed.status_code == 303
    assert (await signed_in.get("/app/settings")).status_code == 200  # this browser stays signed in
    async with httpx.AsyncClient(base_url=base_url) as other:
        refused = await other.post("/api/v1/auth/refresh", json={"refresh_token": other_refresh})
        assert refused.status_code == 401
        old = await other.post("/api/v1/auth/login", json={"email": "shopper@example.com", "password": PASSWORD})
        assert old.status_code == 401
        new = await other.post(
            "/api/v1/auth/login", json={"email": "shopper@example.com", "password": "New-Fitting-77"}
        )
        assert new.status_code == 200


async def test_api_keys_from_settings_without_javascript(signed_in: FormBrowser, base_url: str) -> None:
    created = await signed_in.post_form(
        "/app/settings/keys", {"name": "Server", "kind": "secret"}, from_page="/app/settings"
    )
    assert created.status_code == 201
    key = re.search(r"data-key-value>(tr_sk_[^<]+)<", created.text)
    assert key, created.text[:2000]
    async with httpx.AsyncClient(base_url=base_url) as api:
        credits = await api.get("/api/v1/credits", headers={"Authorization": f"Bearer {key.group(1)}"})
    assert credits.status_code == 200
    bad_origin = await signed_in.post_form(
        "/app/settings/keys",
        {"name": "Widget", "kind": "publishable", "allowed_origins": "ftp://shop.example"},
        from_page="/app/settings",
    )
    assert bad_origin.status_code == 422
    assert "is not an origin" in bad_origin.text
    stored = await ApiKey.find_all().to_list()
    assert len(stored) == 1
    delete_path = f"/app/settings/keys/{stored[0].id}/delete"
    asked = await signed_in.post_form(delete_path, {}, from_page="/app/settings")
    assert asked.status_code == 200
    assert "Delete the key?" in asked.text
    assert await ApiKey.count() == 1
    deleted = await signed_in.post_form(delete_path, {"confirm": "yes"}, from_page="/app/settings")
    assert deleted.status_code == 303
    assert await ApiKey.count() == 0
    async with httpx.AsyncClient(base_url=base_url) as api:
        revoked = await api.get("/api/v1/credits", headers={"Authorization": f"Bearer {key.group(1)}"})
    assert revoked.status_code == 401


async def test_pricing_calculator_without_javascript(browser: FormBrowser, services: Services) -> None:
    settings = services.resources.settings
    page = await browser.get("/", params={"credits": "10000"})
    expected = PriceList.of(settings).quote(10000)
    assert expected.tax > 0
    assert f"data-quote-tax>{money(expected.tax)}<" in page.text
    assert f"data-quote-amount>{money(expected.amount)}<" in page.text
    assert expected.discount_percent > 10
    outside = await browser.get("/", params={"credits": "90000"})
    assert "Choose between 300 and 50,000 credits." in outside.text
    assert 'value="50000"' in outside.text


async def test_live_demo_renders_once_and_is_rate_limited(browser: FormBrowser, services: Services) -> None:
    first = await browser.get("/demo/paisley-shirt.jpg")
    assert first.status_code == 200, first.text[:300]
    assert first.headers["content-type"] == "image/jpeg"
    assert first.content[:3] == b"\xff\xd8\xff"
    stored = list((services.resources.settings.blob_root / "demo").glob("paisley-shirt-*.jpg"))
    assert len(stored) == 1
    assert (await browser.get("/demo/paisley-shirt.jpg")).content == first.content
    # Without script, choosing a pair is a link that renders the page with it.
    landing = await browser.get("/", params={"demo": "denim-jacket"})
    assert '<img src="/demo/denim-jacket.jpg" alt="Try-on result: Denim jacket"' in landing.text
    assert re.search(r'data-demo-pair="denim-jacket"[^>]*aria-current="true"', landing.text, re.S)
    missing = await browser.get("/demo/no-such-pair.jpg")
    assert missing.status_code == 404
    # This network used up its renders: a stored result still comes, a new render does not.
    limiter = RateLimiter(services.resources.redis)
    from trailroom.core.limits import DEMO_RENDERS_PER_IP

    for _ in range(DEMO_RENDERS_PER_IP.limit.capacity):
        await limiter.take("demo:ip:127.0.0.1", DEMO_RENDERS_PER_IP.limit)
    assert (await browser.get("/demo/paisley-shirt.jpg")).status_code == 200
    busy = await browser.get("/demo/white-tee.jpg")
    assert busy.status_code == 429
    assert "try again" in busy.text


async def test_profile_and_password_over_the_api(client: httpx.AsyncClient) -> None:
    await register(client, "api@example.com")
    login = await client.post("/api/v1/auth/login", json={"email": "api@example.com", "password": PASSWORD})
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    client.cookies.clear()
    renamed = await client.patch("/api/v1/auth/me", json={"name": "Ana"}, headers=auth)
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Ana"
    weak = await client.post(
        "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": "short"}, headers=auth
    )
    assert weak.status_code == 422
    assert weak.json()["code"] == "weak_password"
    changed = await client.post(
        "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": "Another-Fit-91"}, headers=auth
    )
    assert changed.status_code == 200
    assert changed.json()["refresh_token"]
    old = await client.post("/api/v1/auth/refresh", json={"refresh_token": login.json()["refresh_token"]})
    assert old.status_code == 401


@pytest.mark.usefixtures("use_scripted")
async def test_home_shows_recent_try_ons_and_the_checklist(
    signed_in: FormBrowser, services: Services, base_url: str
) -> None:
    fresh = await signed_in.get("/app")
    assert 'data-step-done="true"' not in fresh.text
    assert "No try-ons yet" in fresh.text
    created = await signed_in.post_form(
        "/app/settings/keys", {"name": "Server", "kind": "secret"}, from_page="/app/settings"
    )
    key = re.search(r"data-key-value>(tr_sk_[^<]+)<", created.text)
    assert key
    async with httpx.AsyncClient(base_url=base_url) as api, running_workers(services):
        submitted = await api.post(
            "/api/v1/tryon",
            headers={"Authorization": f"Bearer {key.group(1)}"},
            data={"mode": "top"},
            files={
                "person_image": ("p.png", small_png((90, 90, 90)), "image/png"),
                "garment_image": ("g.png", small_png(), "image/png"),
            },
        )
        assert submitted.status_code in (201, 202), submitted.text
        job_id = submitted.json()["id"]
        for _ in range(100):
            job = await TryOnJob.get(job_id)
            if job is not None and job.status.value == "completed":
                break
            await asyncio.sleep(0.05)
    home = await signed_in.get("/app")
    assert home.text.count('data-step-done="true"') == 2  # a key and a try-on; no webhook yet
    assert f'href="/app/history/{job_id}"' in home.text
    thumbnail = re.search(r'<img src="(/api/v1/tryon/[^"]+/result/0\?[^"]+)"', home.text)
    assert thumbnail, home.text
    image = await signed_in.get(thumbnail.group(1).replace("&amp;", "&"))
    assert image.status_code == 200
    assert "data-balance-value>2<" in home.text


async def test_google_button_only_when_google_is_configured(browser: FormBrowser, services: Services) -> None:
    settings = services.resources.settings
    offered = await browser.get("/login")
    assert 'href="/api/v1/auth/google"' in offered.text
    client_id = settings.google_client_id
    settings.google_client_id = ""  # the running app reads its settings per request
    try:
        for path in ("/login", "/register"):
            page = await browser.get(path)
            assert "/api/v1/auth/google" not in page.text
            assert "Google" not in page.text
    finally:
        settings.google_client_id = client_id


def test_only_same_site_paths_are_followed_after_sign_in() -> None:
    assert safe_next("/app/history?mode=top") == "/app/history?mode=top"
    for target in ("https://evil.example/", "//evil.example", "/\\evil.example", "/\t/evil.example", "app", "", None):
        assert safe_next(target) == "/app"
