"""Email verification on sign-up: the mail and its link, the API (verify, resend, limits), expired
and forged links, Google accounts (verified already, no mail), the dashboard's reminder and the
page the link opens. Nothing waits for verification."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.helpers import login, register, signed_up
from tests.web.conftest import FormBrowser
from trailroom.core.clock import utcnow
from trailroom.domain.accounts.models import AccountToken, TokenPurpose, User
from trailroom.domain.accounts.security import sha256_hex
from trailroom.domain.services import Services

from .account_mail import mails_to, token_in, wait_for_mails


async def verify(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/verify-email", json={"token": token})


async def user_named(email: str) -> User:
    user = await User.find_one(User.email == email)
    assert user is not None
    return user


async def test_sign_up_mails_a_link_that_verifies(client: httpx.AsyncClient, base_url: str) -> None:
    created = await register(client, "new@example.com", name="Nia New")
    assert created["email_verified"] is False
    [mail] = await mails_to("new@example.com", "verify_email")
    assert mail.subject == "Confirm your email address for TrailRoom"
    assert "Hello Nia New," in mail.text
    assert str(mail.account_id) == created["id"]
    token = token_in(mail)
    assert f"{base_url}/verify-email?token={token}" in mail.text
    [stored] = await AccountToken.find(AccountToken.purpose == TokenPurpose.VERIFY_EMAIL).to_list()
    assert stored.token_hash == sha256_hex(token)

    # Not verified yet, and nothing waits for it: sign-in and the API work.
    account = await login(client, "new@example.com")
    me = await client.get("/api/v1/auth/me", headers=account.auth)
    assert me.json()["user"]["email_verified"] is False

    assert (await verify(client, token)).status_code == 204
    assert (await user_named("new@example.com")).email_verified
    assert (await client.get("/api/v1/auth/me", headers=account.auth)).json()["user"]["email_verified"] is True
    assert (await verify(client, token)).status_code == 204  # a second click still says yes
    for forged in ("tr_ev_" + "B" * 43, "tr_pr_" + token[6:], "nope"):
        refused = await verify(client, forged)
        assert refused.status_code == 422
        assert refused.json()["code"] == "invalid_verification_token"


async def test_resend_expiry_and_limits(client: httpx.AsyncClient) -> None:
    account = await signed_up(client, "later@example.com")
    [first] = await mails_to("later@example.com", "verify_email")
    await AccountToken.get_pymongo_collection().update_one(
        {"token_hash": sha256_hex(token_in(first))}, {"$set": {"expires_at": utcnow() - timedelta(seconds=1)}}
    )
    expired = await verify(client, token_in(first))
    assert expired.status_code == 422
    assert expired.json()["code"] == "invalid_verification_token"

    assert (await client.post("/api/v1/auth/verify-email/resend")).status_code == 401
    for _ in range(3):
        sent = await client.post("/api/v1/auth/verify-email/resend", headers=account.auth)
        assert sent.status_code == 202
        assert sent.json() == {"detail": "A new confirmation link is on its way to later@example.com."}
    limited = await client.post("/api/v1/auth/verify-email/resend", headers=account.auth)
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    mails = await mails_to("later@example.com", "verify_email")
    assert len(mails) == 4
    assert (await verify(client, token_in(mails[-1]))).status_code == 204
    done = await client.post("/api/v1/auth/verify-email/resend", headers=account.auth)
    assert done.status_code == 409
    assert done.json()["code"] == "email_already_verified"


async def test_a_link_for_an_old_address_does_not_verify_the_new_one(client: httpx.AsyncClient) -> None:
    await register(client, "old@example.com")
    token = token_in((await mails_to("old@example.com", "verify_email"))[0])
    await User.get_pymongo_collection().update_one({"email": "old@example.com"}, {"$set": {"email": "new@example.com"}})
    assert (await verify(client, token)).status_code == 422
    assert not (await user_named("new@example.com")).email_verified


async def test_google_accounts_are_verified_without_a_mail(services: Services) -> None:
    user, _ = await services.accounts.sign_in_with_google(
        sub="google-sub-1", email="g@example.com", email_verified=True, name="Gee", ip=None, user_agent=None
    )
    assert user.email_verified
    assert await services.account_emails.send_verification(user) is None
    assert await mails_to("g@example.com", "verify_email") == []


async def test_the_dashboard_reminder_and_the_link_page(base_url: str, client: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        browser = FormBrowser(http)
        registered = await browser.post_form(
            "/register",
            {"name": "Page Person", "email": "page@example.com", "password": "Fitting-Room-42", "accept_terms": "on"},
        )
        assert registered.status_code == 303
        [mail] = await wait_for_mails("page@example.com", "verify_email")
        home = await browser.get("/app")
        assert home.status_code == 200
        assert "data-verify-banner" in home.text
        assert "Confirm your email address." in home.text

        resent = await browser.post_form("/app/verify-email/resend", {}, from_page="/app")
        assert resent.status_code == 303
        assert "A new confirmation link is on its way to page@example.com." in (await browser.get("/app")).text
        assert len(await mails_to("page@example.com", "verify_email")) == 2

        bad = await browser.get("/verify-email?token=tr_ev_forged-forged-forged")
        assert bad.status_code == 400
        assert "This link does not work" in bad.text
        page = await browser.get(f"/verify-email?token={token_in(mail)}")
        assert page.status_code == 200
        assert "page@example.com</strong> is confirmed" in page.text
        assert "data-verify-banner" not in (await browser.get("/app")).text
        already = await browser.post_form("/app/verify-email/resend", {}, from_page="/app/settings")
        assert already.status_code == 303
        assert "Your email address is confirmed already." in (await browser.get("/app")).text
