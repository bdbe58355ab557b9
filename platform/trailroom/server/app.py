"""The Litestar application factory: the one place where HTTP wiring happens."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.static_files import create_static_files_router
from litestar.types import Receive, Scope, Send

from trailroom.core.config import Settings, get_settings
from trailroom.core.logging import configure_logging
from trailroom.domain.accounts.controllers import ApiKeyController, AuthController
from trailroom.domain.accounts.middleware import AuthenticationMiddleware
from trailroom.domain.analytics.controllers import AnalyticsController
from trailroom.domain.analytics.middleware import UsageMiddleware
from trailroom.domain.billing.controllers import PaymentAdminController, PaymentsController, PricingController
from trailroom.domain.credits.controllers import CreditsController
from trailroom.domain.invoices.controllers import BillingDetailsController, InvoiceController
from trailroom.domain.prompts.controllers import PromptAdminController
from trailroom.domain.runtime_config.controllers import AISettingsController
from trailroom.domain.services import open_services
from trailroom.domain.system.controllers import HealthController
from trailroom.domain.tryon.controllers import ShopperController, TryOnController, TryOnResultController
from trailroom.domain.webhooks.controllers import WebhookController
from trailroom.resources import Resources, open_resources
from trailroom.server.allow import AllowMiddleware
from trailroom.server.contract import document_contract
from trailroom.server.openapi import openapi_config
from trailroom.server.problems import EXCEPTION_HANDLERS
from trailroom.server.request_body import check_request_body
from trailroom.server.request_context import RequestEdge
from trailroom.web.account_email_pages import AccountEmailPages, VerificationReminderPages
from trailroom.web.assets import STATIC_DIR
from trailroom.web.auth_pages import SignInPagesController
from trailroom.web.base import http_error_anywhere
from trailroom.web.billing import BillingPages
from trailroom.web.dashboard import HomeController, SettingsController
from trailroom.web.demo import DemoController
from trailroom.web.demo_store import DemoStoreController
from trailroom.web.dev_outbox import DevOutboxPages, outbox_enabled
from trailroom.web.docs_pages import DocsController, load_docs
from trailroom.web.generate import GeneratePages
from trailroom.web.history import HistoryPages
from trailroom.web.playground import PlaygroundPages
from trailroom.web.public import PublicPagesController
from trailroom.web.session import WebSessionController
from trailroom.web.templating import template_config
from trailroom.web.usage import UsagePages
from trailroom.web.webhooks import WebhookPages
from trailroom.web.widget_script import widget_script


def _resources(state: State) -> Resources:
    resources: Resources = state.resources
    return resources


def _settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


class TrailRoomApp(Litestar):
    """Litestar with `RequestEdge` around every HTTP request, routed or not (see request_context.py)."""

    edge: RequestEdge

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        if scope["type"] == ScopeType.HTTP:
            await self.edge(scope, receive, send, super().__call__)
        else:
            await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, *, configure_logs: bool = True) -> TrailRoomApp:
    settings = settings or get_settings()
    if configure_logs:
        configure_logging(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def connections(app: Litestar) -> AsyncIterator[None]:
        async with open_resources(settings) as resources, open_services(resources) as services:
            app.state.resources = resources
            app.state.services = services
            services.usage.start()
            # Everything built so far lives as long as the process: keep it out of the garbage
            # collector's full passes, which otherwise stall the event loop for tens of milliseconds.
            gc.freeze()
            try:
                yield
            finally:
                await services.usage.stop()

    app = TrailRoomApp(
        route_handlers=[
            HealthController,
            AuthController,
            ApiKeyController,
            CreditsController,
            PricingController,
            PaymentsController,
            PaymentAdminController,
            TryOnController,
            TryOnResultController,
            ShopperController,
            PromptAdminController,
            AISettingsController,
            AnalyticsController,
            WebhookController,
            InvoiceController,
            BillingDetailsController,
            widget_script,
            *([DemoStoreController] if settings.demo_store_enabled else []),
            # Web pages (templates/ + web/): add page controllers below.
            PublicPagesController,
            SignInPagesController,
            AccountEmailPages,
            VerificationReminderPages,
            WebSessionController,
            HomeController,
            SettingsController,
            DemoController,
            GeneratePages,
            HistoryPages,
            PlaygroundPages,
            UsagePages,
            WebhookPages,
            BillingPages,
            DocsController,
            *([DevOutboxPages] if outbox_enabled(settings) else []),
            create_static_files_router(path="/static", directories=[STATIC_DIR], include_in_schema=False),
        ],
        lifespan=[connections],
        on_startup=[load_docs],
        state=State({"settings": settings}),
        dependencies={
            "resources": Provide(_resources, sync_to_thread=False),
            "settings": Provide(_settings, sync_to_thread=False),
        },
        # Outermost first: `OPTIONS` answered (before credentials are looked at), usage counting around
        # authentication and the handler. (Request ids, security headers and the access log are the
        # edge's, outside Litestar: `TrailRoomApp.edge`.)
        middleware=[AllowMiddleware(), UsageMiddleware(), AuthenticationMiddleware()],
        # Bodies of a media type the route does not take are refused before any handler runs. The only
        # `before_request` hook: one set on a controller or route would replace it there.
        before_request=check_request_body,
        template_config=template_config(),
        # Unknown addresses get an HTML page when a browser navigates to them.
        exception_handlers={**EXCEPTION_HANDLERS, HTTPException: http_error_anywhere},
        openapi_config=openapi_config(),
        # Logging is configured once by `configure_logging`; Litestar must not install its own, nor log
        # exceptions with the request (headers and body hold credentials), nor answer with debug pages.
        logging_config=None,
        debug=False,
    )
    app.edge = RequestEdge(hsts=settings.is_production)
    document_contract(app)
    return app
