"""Fixtures for webhooks: a local receiver that records what it gets (and fails when told), accounts,
and the webhook service (the process's own once wired into `Services`, else one built here)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId, init_beanie
from litestar import Litestar, Request, Response, post
from litestar.datastructures import State
from litestar.params import FromPath

from tests.conftest import serve
from trailroom.core.clock import utcnow
from trailroom.core.config import Settings
from trailroom.domain.accounts.middleware import AuthenticationMiddleware
from trailroom.domain.events.models import DomainEvent
from trailroom.domain.registry import document_models
from trailroom.domain.services import Services
from trailroom.domain.webhooks.controllers import WebhookController
from trailroom.domain.webhooks.models import WebhookDelivery, WebhookEndpoint
from trailroom.domain.webhooks.services import WebhookService
from trailroom.embedded.process import free_port
from trailroom.resources import Resources
from trailroom.server.problems import EXCEPTION_HANDLERS


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook receiver on a loopback port. Set `status` to answer something else than 200,
    `delay_s` to answer slowly, `redirect_to` to answer a redirect."""

    port: int
    received: list[Received] = field(default_factory=list)
    status: int = 200
    delay_s: float = 0
    redirect_to: str | None = None
    answer: str = "ok"

    def url(self, name: str = "a") -> str:
        return f"http://127.0.0.1:{self.port}/hook/{name}"

    def app(self) -> Litestar:
        @post("/hook/{name:str}", status_code=200)
        async def hook(request: Request[Any, Any, Any], name: FromPath[str]) -> Response[str]:
            body = await request.body()
            self.received.append(Received(f"/hook/{name}", dict(request.headers), body))
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if self.redirect_to:
                return Response("", status_code=302, headers={"Location": self.redirect_to})
            return Response(self.answer, status_code=self.status, media_type="text/plain")

        return Litestar(route_handlers=[hook], logging_config=None)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    port = free_port()
    target = Receiver(port=port)
    async with serve(target.app(), "127.0.0.1", port):
        yield target


@pytest.fixture(scope="session", autouse=True)
async def webhook_documents(resources: Resources) -> None:
    """Bind the webhook documents (and create their indexes) until they are in the registry."""
    if WebhookEndpoint not in document_models():
        await init_beanie(
            database=resources.mongo[resources.settings.mongodb_database],
            document_models=[WebhookEndpoint, WebhookDelivery],
        )


class _ServicesWithWebhooks:
    """The process's services plus a webhook service, for the stand-in app below."""

    def __init__(self, services: Services, webhooks: WebhookService) -> None:
        self._services = services
        self.webhooks = webhooks

    def __getattr__(self, name: str) -> Any:
        return getattr(self._services, name)


def webhooks_wired(app: Litestar) -> bool:
    return any(route.path.startswith("/api/v1/webhooks") for route in app.routes)


@pytest.fixture(scope="session")
async def webhook_service(services: Services) -> AsyncIterator[WebhookService]:
    """The process's webhook service once wired into `Services`, else one built here (short timeouts)."""
    wired: WebhookService | None = getattr(services, "webhooks", None)
    if wired is not None:
        yield wired
        return
    service = WebhookService(services.resources, timeout_s=2)
    yield service
    await service.aclose()


@pytest.fixture
def webhooks(webhook_service: WebhookService) -> WebhookService:
    return webhook_service


@pytest.fixture(scope="session")
async def webhooks_base_url(
    app: Litestar, base_url: str, services: Services, settings: Settings, webhook_service: WebhookService
) -> AsyncIterator[str]:
    """Where /api/v1/webhooks is served: the real app once `WebhookController` is registered in
    `server/app.py`; until then a stand-in app with the same middleware, problem handlers and services
    (sign-in still happens on the real app: the tokens are valid on both)."""
    if webhooks_wired(app):
        yield base_url
        return
    port = free_port()
    stand_in = Litestar(
        route_handlers=[WebhookController],
        state=State({"settings": settings, "services": _ServicesWithWebhooks(services, webhook_service)}),
        middleware=[AuthenticationMiddleware()],
        exception_handlers=EXCEPTION_HANDLERS,
        logging_config=None,
        debug=False,
    )
    async with serve(stand_in, "127.0.0.1", port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
async def api(webhooks_base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=webhooks_base_url, timeout=30) as http:
        yield http


def strict_settings(settings: Settings) -> Settings:
    """The test settings without the loopback and plain-http allowances (production's defaults)."""
    return settings.model_copy(update={"url_fetch_allow_loopback": False, "url_fetch_allow_http": False})


async def new_account(services: Services, email: str) -> PydanticObjectId:
    user = await services.accounts.create_user(email=email, password=None, name="Webhook Owner")
    assert user.id is not None
    return user.id


async def record_events(account_id: PydanticObjectId, *types: str, start: datetime | None = None) -> list[DomainEvent]:
    """Outbox events as the domain writes them, one millisecond apart, in the order given."""
    start = start or utcnow()
    events = []
    for index, event_type in enumerate(types):
        event = DomainEvent(
            account_id=account_id,
            type=event_type,
            data={"tryon_id": f"job-{index}", "index": index},
            created_at=start + timedelta(milliseconds=index),
        )
        await event.insert()
        events.append(event)
    return events
