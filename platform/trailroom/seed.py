"""Demo data for `trailroom dev`, created idempotently."""

from __future__ import annotations

from dataclasses import dataclass

from trailroom.core.config import Settings


@dataclass
class DemoAccount:
    email: str
    password: str
    secret_key: str


async def seed_demo(settings: Settings) -> DemoAccount | None:
    # Accounts and API keys arrive with the accounts slice; until then there is nothing to seed.
    return None
