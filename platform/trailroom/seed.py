"""Demo data for `trailroom dev`, created idempotently.

The demo account's keys are kept in `<data_dir>/demo.json` (mode 600) so every start can print the
secret key again and the demo store (`/demo/store`) can embed the publishable one; only their hashes
are in the database, as for every key. A missing or revoked key is replaced, and so is a publishable
key that no longer allows the platform's own origin (the base URL changed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trailroom.core.config import Settings
from trailroom.core.errors import TrailRoomError
from trailroom.domain.accounts.models import ApiKey, ApiKeyKind, User
from trailroom.domain.credits.models import TransactionKind
from trailroom.domain.services import Services, open_services
from trailroom.resources import open_resources

DEMO_NAME = "Demo Merchant"
DEMO_KEY_NAME = "Demo secret key"
DEMO_STARTER_CREDITS = 30
DEMO_PUBLISHABLE_KEY_NAME = "Demo store (widget)"


@dataclass
class DemoAccount:
    email: str
    password: str
    secret_key: str
    publishable_key: str


def demo_key_file(settings: Settings) -> Path:
    return settings.data_dir / "demo.json"


def read_demo_keys(settings: Settings) -> dict[str, Any]:
    """What the seed saved (`email`, `secret_key`, `publishable_key`), or {} before the first seed."""
    path = demo_key_file(settings)
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) else {}


async def _valid_key(services: Services, key: str, user: User, origin: str | None = None) -> ApiKey | None:
    try:
        api_key, owner = await services.api_keys.authenticate(key)
    except TrailRoomError:
        return None
    if owner.id != user.id or (origin is not None and origin not in api_key.allowed_origins):
        return None
    return api_key


async def ensure_demo(services: Services, settings: Settings) -> DemoAccount:
    """The demo account with a working secret key and a publishable key bound to `settings.base_url`."""
    accounts, api_keys = services.accounts, services.api_keys
    user = await User.find_one(User.email == settings.demo_email.lower())
    if user is None:
        user = await accounts.create_user(
            email=settings.demo_email, password=settings.demo_password, name=DEMO_NAME, email_verified=True
        )
    saved = read_demo_keys(settings)
    secret_key = saved.get("secret_key")
    if not isinstance(secret_key, str) or await _valid_key(services, secret_key, user) is None:
        _, secret_key = await api_keys.generate(user, name=DEMO_KEY_NAME, kind=ApiKeyKind.SECRET, allowed_origins=[])
    publishable_key = saved.get("publishable_key")
    if (
        not isinstance(publishable_key, str)
        or await _valid_key(services, publishable_key, user, settings.base_url) is None
    ):
        # A key of this name that no longer fits (another port, lost plaintext) is replaced, not piled up.
        stale = ApiKey.find(
            ApiKey.user_id == user.id, ApiKey.kind == ApiKeyKind.PUBLISHABLE, ApiKey.name == DEMO_PUBLISHABLE_KEY_NAME
        )
        for old in await stale.to_list():
            await old.delete()
            api_keys.forget_key(old.key_hash)
        _, publishable_key = await api_keys.generate(
            user, name=DEMO_PUBLISHABLE_KEY_NAME, kind=ApiKeyKind.PUBLISHABLE, allowed_origins=[settings.base_url]
        )
    if saved.get("secret_key") != secret_key or saved.get("publishable_key") != publishable_key:
        path = demo_key_file(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(json.dumps({"email": user.email, "secret_key": secret_key, "publishable_key": publishable_key}))
    return DemoAccount(
        email=user.email, password=settings.demo_password, secret_key=secret_key, publishable_key=publishable_key
    )


async def seed_demo(settings: Settings) -> DemoAccount:
    """What `trailroom dev` starts with: the demo account, its keys, and (once) some credits so a
    newcomer can try the demo store and the dashboard more than the three free times a day."""
    async with open_resources(settings) as resources, open_services(resources) as services:
        demo = await ensure_demo(services, settings)
        user = await User.find_one(User.email == demo.email)
        assert user is not None
        assert user.id is not None
        await services.credits.add(
            user.id,
            DEMO_STARTER_CREDITS,
            kind=TransactionKind.ADMIN_ADJUST,
            description="Starter credits of the local demo account",
            reference="demo-starter-credits",  # granted once, however often dev starts
        )
        return demo
