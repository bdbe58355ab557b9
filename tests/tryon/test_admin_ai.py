"""Admin control of prompts and AI settings, and a prompt reaching the OpenAI engine through the pipeline."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import running_workers, serve
from tests.fakes.openai_server import API_KEY, OpenAIServer
from tests.helpers import PASSWORD, Account, login, new_key
from tests.tryon.conftest import small_png
from tests.tryon.test_pipeline import wait_for
from trailroom.core.config import Settings
from trailroom.domain.accounts.models import Role, User
from trailroom.domain.services import Services
from trailroom.domain.tryon.models import JobStatus
from trailroom.embedded.process import free_port


@pytest.fixture
async def admin(client: httpx.AsyncClient, services: Services) -> Account:
    await services.accounts.create_user(email="root@example.com", password=PASSWORD, name="Root", role=Role.SUPER_ADMIN)
    return await login(client, "root@example.com")


async def test_admin_endpoints_need_a_super_admin_session(
    client: httpx.AsyncClient, services: Services, account: Account
) -> None:
    for path in ("/api/v1/admin/prompts", "/api/v1/admin/ai-settings"):
        as_user = await client.get(path, headers=account.auth)
        assert as_user.status_code == 403
        assert as_user.json()["code"] == "insufficient_role"
        assert (await client.get(path)).status_code == 401
    await services.accounts.create_user(
        email="support@example.com", password=PASSWORD, name="Support", role=Role.SUPPORT_ADMIN
    )
    support = await login(client, "support@example.com")
    assert (await client.get("/api/v1/admin/ai-settings", headers=support.auth)).status_code == 403
    key = (await new_key(client, account))["key"]
    as_key = await client.get("/api/v1/admin/prompts", headers={"Authorization": f"Bearer {key}"})
    assert as_key.status_code == 403


async def test_prompt_versions_activate_and_roll_back(client: httpx.AsyncClient, admin: Account) -> None:
    first = await client.post(
        "/api/v1/admin/prompts",
        headers=admin.auth,
        json={"mode": "top", "text": "Dress the person in the shirt.", "activate": True},
    )
    assert first.status_code == 201
    assert first.json()["version"] == 1
    assert first.json()["active"] is True
    second = await client.put(
        f"/api/v1/admin/prompts/{first.json()['id']}",
        headers=admin.auth,
        json={"text": "Dress the person in the shirt, keep the pose.", "note": "keep pose", "activate": True},
    )
    assert second.json()["version"] == 2
    assert second.json()["active"] is True
    listing = (await client.get("/api/v1/admin/prompts", headers=admin.auth, params={"mode": "top"})).json()["data"]
    assert [(p["version"], p["active"]) for p in listing] == [(2, True), (1, False)]
    rolled = await client.post(f"/api/v1/admin/prompts/{first.json()['id']}/rollback", headers=admin.auth)
    assert rolled.status_code == 200
    listing = (await client.get("/api/v1/admin/prompts", headers=admin.auth)).json()["data"]
    assert [(p["version"], p["active"], p["text"]) for p in listing] == [
        (2, False, "Dress the person in the shirt, keep the pose."),
        (1, True, "Dress the person in the shirt."),
    ]
    bad = await client.post("/api/v1/admin/prompts", headers=admin.auth, json={"mode": "hat", "text": "x"})
    assert bad.status_code == 422
    missing = await client.post("/api/v1/admin/prompts/000000000000000000000000/rollback", headers=admin.auth)
    assert missing.status_code == 404


async def test_ai_settings_are_validated_and_read_at_run_time(
    client: httpx.AsyncClient, admin: Account, account: Account
) -> None:
    current = (await client.get("/api/v1/admin/ai-settings", headers=admin.auth)).json()
    assert current["engine"] == "auto"
    assert "local" in current["available_engines"]
    assert "openai" in current["available_engines"]
    for change in ({"engine": "nope"}, {"timeout_s": 1}, {"credit_costs": {"top": 0}}, {"moderation": "off"}):
        response = await client.put("/api/v1/admin/ai-settings", headers=admin.auth, json=change)
        assert 400 <= response.status_code < 500, change
    changed = await client.put(
        "/api/v1/admin/ai-settings",
        headers=admin.auth,
        json={"credit_costs": {"top": 3, "bottom": 1, "dress": 1, "full": 4}, "model": "gpt-image-1"},
    )
    assert changed.status_code == 200
    assert changed.json()["updated_by"] == "root@example.com"
    costs = (await client.get("/api/v1/credits", headers=account.auth)).json()["costs"]
    assert costs["top"] == 3


@pytest.fixture
async def openai_fake() -> AsyncIterator[OpenAIServer]:
    port = free_port()
    server = OpenAIServer(url=f"http://127.0.0.1:{port}")
    async with serve(server.app(), "127.0.0.1", port):
        yield server


async def test_active_prompt_and_model_reach_the_openai_engine(
    client: httpx.AsyncClient,
    services: Services,
    settings: Settings,
    admin: Account,
    account: Account,
    openai_fake: OpenAIServer,
) -> None:
    await client.post(
        "/api/v1/admin/prompts",
        headers=admin.auth,
        json={"mode": "top", "text": "Version one prompt.", "activate": True},
    )
    await client.put("/api/v1/admin/ai-settings", headers=admin.auth, json={"engine": "openai", "timeout_s": 30})
    original = services.tryon.runner.settings
    services.tryon.runner.settings = settings.model_copy(
        update={"openai_api_key": API_KEY, "openai_base_url": f"{openai_fake.url}/v1"}
    )
    try:
        body = {
            "mode": "top",
            "person_image": base64.b64encode(small_png((90, 90, 90))).decode(),
            "garment_image": base64.b64encode(small_png((10, 60, 200))).decode(),
        }
        job_id = (await client.post("/api/v1/tryon", headers=account.auth, json=body)).json()["id"]
        async with running_workers(services):
            done = await wait_for(job_id, JobStatus.COMPLETED, JobStatus.FAILED)
    finally:
        services.tryon.runner.settings = original
    assert done.status == JobStatus.COMPLETED, done.error
    assert done.engine == "openai"
    assert done.prompt_version == 1
    [edit] = openai_fake.requests
    assert edit.fields["prompt"] == "Version one prompt."
    assert edit.fields["model"] == "gpt-image-1"
    assert len(edit.images) == 2


async def test_cli_creates_an_admin(settings: Settings) -> None:
    env = {
        **os.environ,
        "TRAILROOM_MONGODB_URI": settings.mongodb_uri or "",
        "TRAILROOM_REDIS_URL": settings.redis_url or "",
        "TRAILROOM_MONGODB_DATABASE": settings.mongodb_database,
        "TRAILROOM_DATA_DIR": str(settings.data_dir),
        "TRAILROOM_ADMIN_PASSWORD": PASSWORD,
    }
    command = [
        sys.executable,
        "-m",
        "trailroom",
        "admin",
        "create-user",
        "--email",
        "Boss@Example.com",
        "--name",
        "Boss",
        "--role",
        "super_admin",
    ]

    def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command, *args], env={**env, **extra_env}, capture_output=True, text=True, timeout=60)

    created = await asyncio.to_thread(run)
    assert created.returncode == 0, created.stderr
    assert "created super_admin boss@example.com" in created.stdout
    user = await User.find_one(User.email == "boss@example.com")
    assert user is not None
    assert user.role == Role.SUPER_ADMIN
    assert user.email_verified
    again = await asyncio.to_thread(run)
    assert again.returncode == 2
    assert again.stderr.strip() == "trailroom: An account with this email already exists."
    weak = await asyncio.to_thread(run, "--email", "weak@example.com", TRAILROOM_ADMIN_PASSWORD="short")
    assert weak.returncode == 2
    assert "password" in weak.stderr
    assert await User.find_one(User.email == "weak@example.com") is None
