"""Demo data for `trailroom dev`, created idempotently.

The demo account's secret key is kept in `<data_dir>/demo.json` (mode 600) so every start can print
it again; only its hash is in the database, as for every key. A missing or revoked key is replaced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from trailroom.core.config import Settings
from trailroom.core.errors import TrailRoomError
from trailroom.core.resources import open_resources
from trailroom.domain.accounts.models import ApiKeyKind, User
from trailroom.domain.services import open_services

DEMO_NAME = "Demo Merchant"
DEMO_KEY_NAME = "Demo secret key"


@dataclass
class DemoAccount:
    email: str
    password: str
    secret_key: str


async def seed_demo(settings: Settings) -> DemoAccount:
    key_file = settings.data_dir / "demo.json"
    async with open_resources(settings) as resources, open_services(resources) as services:
        accounts, api_keys = services.accounts, services.api_keys

        user = await User.find_one(User.email == settings.demo_email.lower())
        if user is None:
            user = await accounts.create_user(
                email=settings.demo_email, password=settings.demo_password, name=DEMO_NAME, email_verified=True
            )
        saved = json.loads(key_file.read_text()) if key_file.exists() else {}
        secret_key = saved.get("secret_key")
        if secret_key:
            try:
                _, owner = await api_keys.authenticate(secret_key)
                if owner.id != user.id:
                    secret_key = None
            except TrailRoomError:
                secret_key = None
        if not secret_key:
            _, secret_key = await api_keys.generate(
                user, name=DEMO_KEY_NAME, kind=ApiKeyKind.SECRET, allowed_origins=[]
            )
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(json.dumps({"email": user.email, "secret_key": secret_key}))
            key_file.chmod(0o600)
    return DemoAccount(email=user.email, password=settings.demo_password, secret_key=secret_key)
