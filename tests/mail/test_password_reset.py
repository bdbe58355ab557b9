"""Password reset by mail: the API flow end to end (every old session and refresh token stops
working), single use, expiry, no account enumeration, limits, and the web pages without JavaScript."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from tests.helpers import PASSWORD, login, signed_up
from tests.web.conftest import FormBrowser
from trailroom.core.clock import utcnow
from trailroom.core.logging import redact_secrets
from trailroom.domain.accounts.models import AccountToken, RefreshToken, TokenPurpose, User
from trailroom.domain.accounts.security import sha256_hex
from trailroom.domain.services import Services

from .account_mail import mails_to, token_in, wait_for_mails

NEW_PASSWORD = "Brand-New-Fit-77"


async def ask_reset(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/api/v1/auth/password/forgot", json={"email": email})


async def reset(client: httpx.AsyncClient, token: str, password: str = NEW_PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/password/reset", json={"token": token, "password": password})


async def test_the_whole_reset_ends_every_session(client: httpx.AsyncClient, base_url: str) -> None:
    account = await signed_up(client, "reset@example.com")
    other_device = await login(client, "reset@example.com")
    assert (await client.get("/api/v1/auth/me", headers=account.auth)).status_code == 200

    answer = await ask_reset(client, "Reset@Example.com ")
    assert answer.status_code == 202
    assert answer.json() == {"detail": "If an account uses this address, a password reset link is on its way to it."}
    [mail] = await wait_for_mails("reset@example.com", "password_reset")
    assert mail.subject == "Reset your TrailRoom password"
    token = token_in(mail)
    assert f"{base_url}/reset-password?token={token}" in mail.text
    assert "works once, for 60 minutes" in mail.text
    # Only the token's hash is stored.
    [stored] = await AccountToken.find(AccountToken.purpose == TokenPurpose.PASSWORD_RESET).to_list()
    assert stored.token_hash == sha256_hex(token)
    assert token not in str(stored.model_dump())
    assert stored.expires_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None) <= timedelta(hours=1)

    assert (await reset(client, token)).status_code == 204
    for old in (account, other_device):
        me = await client.get("/api/v1/auth/me", headers=old.auth)
        assert me.status_code == 401
        assert me.json()["code"] == "session_ended"
        refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": old.refresh_token})
        assert refreshed.status_code == 401
    assert await RefreshToken.find(RefreshToken.revoked_at == None).count() == 0  # noqa: E711
    wrong = await client.post("/api/v1/auth/login", json={"email": "reset@example.com", "password": PASSWORD})
    assert wrong.status_code == 401
    await login(client, "reset@example.com", NEW_PASSWORD)
    user = await User.find_one(User.email == "reset@example.com")
    assert user is not None
    assert user.email_verified  # the mail proved the address

    again = await reset(client, token, "Another-Fresh-One-88")
    assert again.status_code == 422
    assert again.json()["code"] == "invalid_reset_token"
    await login(client, "reset@example.com", NEW_PASSWORD)


async def test_a_token_works_once_even_at_once(client: httpx.AsyncClient) -> None:
    await signed_up(client, "race@example.com")
    await ask_reset(client, "race@example.com")
    token = token_in((await wait_for_mails("race@example.com", "password_reset"))[0])
    answers = await asyncio.gather(*(reset(client, token, f"Racing-Pass-{n}x") for n in range(4)))
    assert sorted(a.status_code for a in answers) == [204, 422, 422, 422]


async def test_expired_forged_and_weak(client: httpx.AsyncClient) -> None:
    await signed_up(client, "expired@example.com")
    await ask_reset(client, "expired@example.com")
    await ask_reset(client, "expired@example.com")
    first, second = await wait_for_mails("expired@example.com", "password_reset", 2)
    weak = await reset(client, token_in(second), "short")
    assert weak.status_code == 422
    assert weak.json()["code"] == "weak_password"
    assert (await reset(client, token_in(second))).status_code == 204  # a weak try did not use it

    # Using one link voids the account's other links.
    assert (await reset(client, token_in(first))).json()["code"] == "invalid_reset_token"

    await ask_reset(client, "expired@example.com")
    third = (await wait_for_mails("expired@example.com", "password_reset", 3))[2]
    await AccountToken.get_pymongo_collection().update_one(
        {"token_hash": sha256_hex(token_in(third))}, {"$set": {"expires_at": utcnow() - timedelta(seconds=1)}}
    )
    expired = await reset(client, token_in(third))
    assert expired.status_code == 422
    assert expired.json()["code"] == "invalid_reset_token"
    for forged in ("tr_pr_" + "A" * 43, "tr_ev_" + token_in(third)[6:], "x"):
        assert (await reset(client, forged)).json()["code"] == "invalid_reset_token"
    await login(client, "expired@example.com", NEW_PASSWORD)


async def test_unknown_addresses_answer_the_same_and_get_nothing(client: httpx.AsyncClient) -> None:
    await signed_up(client, "known@example.com")
    for email in ("nobody@example.com", "not an address", "known@example.com"):
        answer = await ask_reset(client, email)
        assert answer.status_code == 202
        assert answer.json() == {
            "detail": "If an account uses this address, a password reset link is on its way to it."
        }
    await wait_for_mails("known@example.com", "password_reset")
    await asyncio.sleep(0.3)
    assert await mails_to("nobody@example.com", "password_reset") == []
    assert await AccountToken.find(AccountToken.purpose == TokenPurpose.PASSWORD_RESET).count() == 1


async def test_reset_requests_are_limited(client: httpx.AsyncClient) -> None:
    await signed_up(client, "limited@example.com")
    answers = [await ask_reset(client, "limited@example.com") for _ in range(10)]
    assert {a.status_code for a in answers} == {202}
    # One address gets at most 3 mails an hour, however often it is asked for (silently).
    await wait_for_mails("limited@example.com", "password_reset", 3)
    await asyncio.sleep(0.3)
    assert len(await mails_to("limited@example.com", "password_reset")) == 3
    refused = await ask_reset(client, "limited@example.com")
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert "retry-after" in refused.headers


def test_tokens_never_reach_a_log_line() -> None:
    token = "tr_pr_" + "Zq8" * 14
    line = redact_secrets(None, "info", {"event": f"GET /reset-password?token={token} and {token[6:]}x {token}"})
    assert token not in str(line)
    assert "tr_ev_abcdefgh12" not in str(redact_secrets(None, "info", {"event": "tr_ev_abcdefgh12"}))


async def test_the_reset_pages_without_javascript(base_url: str, client: httpx.AsyncClient, services: Services) -> None:
    await signed_up(client, "pages@example.com")
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=30) as http,
        httpx.AsyncClient(base_url=base_url, timeout=30) as other_http,
    ):
        browser, signed_in_elsewhere = FormBrowser(http), FormBrowser(other_http)
        await signed_in_elsewhere.sign_in("pages@example.com")
        assert (await signed_in_elsewhere.get("/app")).status_code == 200

        sign_in = await browser.get("/login")
        assert '<a href="/forgot-password">Forgot password?</a>' in sign_in.text
        forgot = await browser.get("/forgot-password")
        assert forgot.status_code == 200
        assert 'action="/forgot-password"' in forgot.text
        empty = await browser.post_form("/forgot-password", {"email": ""})
        assert empty.status_code == 422
        sent = await browser.post_form("/forgot-password", {"email": "pages@example.com"})
        assert sent.status_code == 200
        assert "Check your inbox." in sent.text
        nobody = await browser.post_form("/forgot-password", {"email": "nobody@example.com"})
        assert nobody.text.replace("nobody@example.com", "X").count("Check your inbox.") == 1
        no_csrf = await http.post("/forgot-password", data={"email": "pages@example.com"})
        assert no_csrf.status_code == 403

        token = token_in((await wait_for_mails("pages@example.com", "password_reset"))[0])
        page = await browser.get(f"/reset-password?token={token}")
        assert page.status_code == 200
        assert f'name="token" value="{token}"' in page.text
        assert page.headers["cache-control"] == "no-store"
        mismatch = await browser.post_form(
            "/reset-password",
            {"token": token, "password": NEW_PASSWORD, "confirm_password": "different"},
            from_page=f"/reset-password?token={token}",
        )
        assert mismatch.status_code == 422
        assert "The two passwords do not match." in mismatch.text
        done = await browser.post_form(
            "/reset-password",
            {"token": token, "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
            from_page=f"/reset-password?token={token}",
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/login"
        assert "Sign in with the new password" in (await browser.get("/login")).text

        # The other browser's session ended with the reset.
        ended = await signed_in_elsewhere.get("/app")
        assert ended.status_code == 303
        used = await browser.get(f"/reset-password?token={token}")
        assert used.status_code == 400
        assert "This link does not work any more." in used.text
        assert (await browser.get("/reset-password")).status_code == 400
        await browser.sign_in("pages@example.com", NEW_PASSWORD)
