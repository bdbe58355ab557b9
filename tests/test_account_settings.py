"""Account settings in the service: profile, password change (also for Google-only accounts, with
its own throttle), and the page renewal's grace for a token rotated a moment ago."""

from __future__ import annotations

import pytest

from trailroom.core.errors import InvalidInput, RateLimited, Unauthenticated
from trailroom.domain.accounts.models import RefreshToken, User
from trailroom.domain.accounts.security import verify_password
from trailroom.domain.services import Services

from .helpers import PASSWORD


async def test_google_account_sets_a_first_password_without_a_current_one(services: Services) -> None:
    accounts = services.accounts
    user = await accounts.create_user(email="g@example.com", password=None, name="Gia")
    with pytest.raises(InvalidInput) as weak:
        await accounts.change_password(user, current_password="", new_password="short", ip=None, user_agent=None)
    assert weak.value.code == "weak_password"
    tokens = await accounts.change_password(
        user, current_password="", new_password="First-Password-9", ip=None, user_agent=None
    )
    assert tokens.refresh_token
    stored = await User.get(user.id)
    assert stored is not None
    assert await verify_password("First-Password-9", stored.password_hash)
    renamed = await accounts.update_profile(stored, name="  Gia G ")
    assert renamed.name == "Gia G"
    with pytest.raises(InvalidInput):
        await accounts.update_profile(stored, name=" ")


async def test_wrong_current_passwords_are_throttled(services: Services) -> None:
    accounts = services.accounts
    user = await accounts.create_user(email="t@example.com", password=PASSWORD, name="Tom")
    for _ in range(services.resources.settings.login_failures_per_account_per_15min):
        with pytest.raises(InvalidInput) as wrong:
            await accounts.change_password(
                user, current_password="Not-it-123", new_password="New-Password-77", ip=None, user_agent=None
            )
        assert wrong.value.code == "wrong_current_password"
    with pytest.raises(RateLimited):
        await accounts.change_password(
            user, current_password=PASSWORD, new_password="New-Password-77", ip=None, user_agent=None
        )
    stored = await User.get(user.id)
    assert stored is not None
    assert await verify_password(PASSWORD, stored.password_hash)  # unchanged


async def test_renewal_grace_gives_an_access_token_only_while_the_session_lives(services: Services) -> None:
    accounts = services.accounts
    await accounts.create_user(email="r@example.com", password=PASSWORD, name="Rae")
    _, tokens = await accounts.login(email="r@example.com", password=PASSWORD, ip="127.0.0.1", user_agent=None)
    first = await accounts.renew(tokens.refresh_token, ip=None, user_agent=None, reuse_grace_s=30)
    assert first.tokens is not None
    again = await accounts.renew(tokens.refresh_token, ip=None, user_agent=None, reuse_grace_s=30)
    assert again.tokens is None
    assert again.access_token
    assert (await accounts.user_for_access_token(again.access_token)).email == "r@example.com"
    assert await RefreshToken.find(RefreshToken.revoked_at == None).count() == 1  # noqa: E711
    await accounts.logout(first.tokens.refresh_token)
    with pytest.raises(Unauthenticated) as ended:
        await accounts.renew(tokens.refresh_token, ip=None, user_agent=None, reuse_grace_s=30)
    assert ended.value.code == "refresh_token_reused"
