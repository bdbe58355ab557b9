"""Fixtures for the try-on pipeline: images, funded accounts, and an engine under the test's control."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.engines import SCRIPTED, ScriptedEngine
from tests.helpers import Account, signed_up
from tests.webhooks.conftest import receiver  # noqa: F401 - a webhook receiver for the try-on tests
from trailroom.domain.accounts.models import User
from trailroom.domain.credits.models import TransactionKind
from trailroom.domain.services import Services

DATA = Path(__file__).resolve().parent.parent / "data"


def small_png(color: tuple[int, int, int] = (200, 120, 80), size: tuple[int, int] = (320, 400)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def person_png() -> bytes:
    return small_png((90, 90, 90))


@pytest.fixture
def garment_png() -> bytes:
    return small_png((10, 60, 200), (300, 300))


@pytest.fixture
def scripted(services: Services) -> Iterator[ScriptedEngine]:
    """Route try-ons to the scripted test engine for this test."""
    SCRIPTED.failures.clear()
    SCRIPTED.calls = 0
    SCRIPTED.delay_s = 0.0
    yield SCRIPTED
    SCRIPTED.failures.clear()


@pytest.fixture
async def use_scripted(services: Services, scripted: ScriptedEngine) -> AsyncIterator[ScriptedEngine]:
    await services.runtime_config.update({"engine": "scripted"}, by="test")
    yield scripted
    services.runtime_config.invalidate()


async def fund(services: Services, account: Account, credits: int) -> User:
    user = await User.find_one(User.email == account.email)
    assert user is not None
    await services.credits.add(user.id, credits, kind=TransactionKind.PURCHASE, description="test purchase")  # type: ignore[arg-type]
    refreshed = await User.get(user.id)
    assert refreshed is not None
    return refreshed


@pytest.fixture
async def account(client: httpx.AsyncClient) -> Account:
    return await signed_up(client, "merchant@example.com")
