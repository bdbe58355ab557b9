"""HTTP endpoints of webhooks: /api/v1/webhooks. A signed-in user or a secret key manages the account's
endpoints (a shop's backend registers its own); publishable keys never."""

from __future__ import annotations

from typing import Annotated, Any

from beanie import PydanticObjectId
from litestar import Controller, Request, delete, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from trailroom.domain.accounts.guards import principal_of, requires_account
from trailroom.domain.webhooks.schemas import (
    CreateWebhookRequest,
    DeliveryList,
    DeliveryResponse,
    NewWebhookResponse,
    UpdateWebhookRequest,
    WebhookList,
    WebhookResponse,
)
from trailroom.domain.webhooks.services import WebhookService
from trailroom.server.contract import PROBLEMS

URL_PROBLEMS = ("invalid_webhook_url", "webhook_url_forbidden", "webhook_url_unresolvable", "invalid_event_types")
NO_SUCH_WEBHOOK = {404: ("webhook_not_found",)}


def provide_webhooks(state: State) -> WebhookService:
    service: WebhookService = state.services.webhooks
    return service


def _account(request: Request[Any, Any, Any]) -> PydanticObjectId:
    account_id = principal_of(request).user.id
    assert account_id is not None
    return account_id


class WebhookController(Controller):
    path = "/api/v1/webhooks"
    tags = ["Webhooks"]
    guards = [requires_account]
    dependencies = {"webhooks": Provide(provide_webhooks, sync_to_thread=False)}

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Register an endpoint; its signing secret is shown only here",
        opt={PROBLEMS: {409: ("too_many_webhooks",), 422: URL_PROBLEMS}},
    )
    async def create_webhook(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[CreateWebhookRequest],
        webhooks: NamedDependency[WebhookService],
    ) -> NewWebhookResponse:
        endpoint = await webhooks.create(
            _account(request), url=data.url, events=data.events, description=data.description
        )
        return NewWebhookResponse.of_new(endpoint)

    @get("/", summary="The account's endpoints (never their secrets)")
    async def list_webhooks(
        self, request: Request[Any, Any, Any], webhooks: NamedDependency[WebhookService]
    ) -> WebhookList:
        return WebhookList(data=[WebhookResponse.of(e) for e in await webhooks.list_for(_account(request))])

    @put(
        "/{webhook_id:str}",
        summary="Change an endpoint's URL, events, description or enabled flag",
        opt={PROBLEMS: {**NO_SUCH_WEBHOOK, 422: URL_PROBLEMS}},
    )
    async def update_webhook(
        self,
        request: Request[Any, Any, Any],
        webhook_id: FromPath[str],
        data: JSONBody[UpdateWebhookRequest],
        webhooks: NamedDependency[WebhookService],
    ) -> WebhookResponse:
        endpoint = await webhooks.update(
            _account(request),
            webhook_id,
            url=data.url,
            events=data.events,
            description=data.description,
            enabled=data.enabled,
        )
        return WebhookResponse.of(endpoint)

    @delete(
        "/{webhook_id:str}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete an endpoint; nothing more is sent",
        opt={PROBLEMS: NO_SUCH_WEBHOOK},
    )
    async def delete_webhook(
        self, request: Request[Any, Any, Any], webhook_id: FromPath[str], webhooks: NamedDependency[WebhookService]
    ) -> None:
        await webhooks.delete(_account(request), webhook_id)

    @post(
        "/{webhook_id:str}/rotate-secret",
        status_code=200,
        summary="A new signing secret; the old one stops at once",
        opt={PROBLEMS: {**NO_SUCH_WEBHOOK, 409: ("concurrent_update",)}},
    )
    async def rotate_secret(
        self, request: Request[Any, Any, Any], webhook_id: FromPath[str], webhooks: NamedDependency[WebhookService]
    ) -> NewWebhookResponse:
        return NewWebhookResponse.of_new(await webhooks.rotate_secret(_account(request), webhook_id))

    @get(
        "/{webhook_id:str}/deliveries",
        summary="The endpoint's deliveries and their attempts, newest first",
        opt={PROBLEMS: {**NO_SUCH_WEBHOOK, 422: ("invalid_cursor",)}},
    )
    async def deliveries(
        self,
        request: Request[Any, Any, Any],
        webhook_id: FromPath[str],
        webhooks: NamedDependency[WebhookService],
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> DeliveryList:
        page = await webhooks.deliveries(_account(request), webhook_id, cursor=cursor, limit=limit)
        return DeliveryList(data=[DeliveryResponse.of(d) for d in page.items], next_cursor=page.next_cursor)

    @post(
        "/{webhook_id:str}/test",
        status_code=200,
        summary="Send a `webhook.test` event now and answer its delivery",
        opt={PROBLEMS: NO_SUCH_WEBHOOK},
    )
    async def send_test(
        self, request: Request[Any, Any, Any], webhook_id: FromPath[str], webhooks: NamedDependency[WebhookService]
    ) -> DeliveryResponse:
        return DeliveryResponse.of(await webhooks.send_test(_account(request), webhook_id))
