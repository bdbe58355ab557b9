"""In a real Chromium: sign up, follow the confirmation link from the dev outbox, forget the
password, follow the reset link from the outbox, set a new one and sign in with it. Screenshots of
the pages in test-artifacts/mail/."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect

from tests.browser import launched_chromium
from trailroom.domain.accounts.models import User

from .account_mail import wait_for_mails
from .test_outbox_pages import SHOTS, shoot

EMAIL = "chromium@example.com"
OLD_PASSWORD = "Fitting-Room-42"
NEW_PASSWORD = "Second-Fitting-Room-43"


async def open_link_from_outbox(page: Page, base_url: str, subject: str, path: str) -> None:
    await page.goto(f"{base_url}/dev/outbox")
    await page.get_by_role("link", name=subject).first.click()
    await page.locator(f"[data-mail-link][href*='{path}']").click()
    await page.wait_for_url(f"**{path}?token=*")


async def test_confirm_forget_and_reset_through_the_outbox(base_url: str, client: httpx.AsyncClient) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with launched_chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "401" not in m.text else None)

        await page.goto(f"{base_url}/register")
        await page.fill("input[name=name]", "Chrome Person")
        await page.fill("input[name=email]", EMAIL)
        await page.fill("input[name=password]", OLD_PASSWORD)
        await page.check("input[name=accept_terms]")
        await page.click("[data-auth-form] button[type=submit]")
        await page.wait_for_url("**/app")
        await expect(page.locator("[data-verify-banner]")).to_be_visible()
        await shoot(page, "home-unverified")

        await wait_for_mails(EMAIL, "verify_email")
        await open_link_from_outbox(page, base_url, "Confirm your email address for TrailRoom", "/verify-email")
        await expect(page.locator("[data-email-verified]")).to_contain_text(EMAIL)
        await page.goto(f"{base_url}/app")
        await expect(page.locator("[data-verify-banner]")).to_have_count(0)
        user = await User.find_one(User.email == EMAIL)
        assert user is not None
        assert user.email_verified

        # Signed out, the password forgotten.
        await page.context.clear_cookies()
        await page.goto(f"{base_url}/login")
        await page.get_by_role("link", name="Forgot password?").click()
        await page.fill("input[name=email]", EMAIL)
        await page.click("[data-auth-form] button[type=submit]")
        await expect(page.locator("[data-reset-sent]")).to_be_visible()
        await shoot(page, "forgot-sent")

        await wait_for_mails(EMAIL, "password_reset")
        await open_link_from_outbox(page, base_url, "Reset your TrailRoom password", "/reset-password")
        await shoot(page, "reset")
        await page.fill("input[name=password]", NEW_PASSWORD)
        await page.fill("input[name=confirm_password]", NEW_PASSWORD)
        await page.click("[data-auth-form] button[type=submit]")
        await page.wait_for_url("**/login")
        await expect(page.locator("body")).to_contain_text("Sign in with the new password")
        await page.fill("input[name=email]", EMAIL)
        await page.fill("input[name=password]", NEW_PASSWORD)
        await page.click("[data-auth-form] button[type=submit]")
        await page.wait_for_url("**/app")
        assert problems == []
    old = await client.post("/api/v1/auth/login", json={"email": EMAIL, "password": OLD_PASSWORD})
    assert old.status_code == 401
