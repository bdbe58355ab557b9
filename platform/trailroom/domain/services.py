"""The domain services of a process, built once from its connections.

The API builds them in its lifespan, the worker at start-up, the tests once per session; HTTP
controllers receive them by dependency injection, jobs through `ctx["services"]`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import httpx

from trailroom.core.blobs import LocalBlobStore
from trailroom.core.limits import LimitPolicies
from trailroom.core.ratelimit import RateLimiter
from trailroom.domain.accounts.emails import AccountEmails
from trailroom.domain.accounts.google import GoogleSignIn
from trailroom.domain.accounts.security import AccessTokens
from trailroom.domain.accounts.services import AccountService, ApiKeyService
from trailroom.domain.analytics.recorder import UsageRecorder
from trailroom.domain.analytics.services import AnalyticsService
from trailroom.domain.billing.gateway import Gateway, RazorpayGateway
from trailroom.domain.billing.services import PaymentService
from trailroom.domain.billing.testmode import TestModeGateway
from trailroom.domain.credits.services import CreditService
from trailroom.domain.invoices.services import InvoiceService
from trailroom.domain.mail.events import EventMails
from trailroom.domain.mail.services import MailService
from trailroom.domain.prompts.services import PromptService
from trailroom.domain.runtime_config.services import RuntimeConfigService
from trailroom.domain.tryon.services import TryOnService
from trailroom.domain.webhooks.services import WebhookService
from trailroom.resources import Resources


@dataclass
class Services:
    resources: Resources
    runtime_config: RuntimeConfigService
    accounts: AccountService
    api_keys: ApiKeyService
    google: GoogleSignIn
    credits: CreditService
    prompts: PromptService
    tryon: TryOnService
    analytics: AnalyticsService
    usage: UsageRecorder
    webhooks: WebhookService
    limits: LimitPolicies
    invoices: InvoiceService
    payments: PaymentService
    mail: MailService
    event_mails: EventMails
    account_emails: AccountEmails


def build_services(
    resources: Resources, http: httpx.AsyncClient, image_http: httpx.AsyncClient, webhook_http: httpx.AsyncClient
) -> Services:
    settings = resources.settings
    limiter = RateLimiter(resources.redis)
    limits = LimitPolicies(settings)
    tokens = AccessTokens(settings.resolved_secret_key(), timedelta(seconds=settings.access_token_ttl_s))
    runtime_config = RuntimeConfigService()
    api_keys = ApiKeyService(resources.redis, limiter, settings.auth_cache_ttl_s)
    credits = CreditService(
        resources.mongo, runtime_config, settings.free_daily_credits, on_change=api_keys.forget_user
    )
    prompts = PromptService(resources.mongo)
    blobs = LocalBlobStore(settings.blob_root)
    queue = resources.queues.default
    invoices = InvoiceService(settings, resources.mongo)
    mail = MailService(settings, queue)
    accounts = AccountService(settings, tokens, limiter, limits)
    return Services(
        resources=resources,
        runtime_config=runtime_config,
        accounts=accounts,
        api_keys=api_keys,
        google=GoogleSignIn(settings, resources.redis, http),
        credits=credits,
        prompts=prompts,
        tryon=TryOnService(resources, credits, runtime_config, prompts, blobs, image_http),
        analytics=AnalyticsService(),
        usage=UsageRecorder(),
        webhooks=WebhookService(resources, webhook_http),
        limits=limits,
        invoices=invoices,
        payments=PaymentService(
            settings, resources.mongo, credits, payment_gateway(resources, webhook_http), queue, invoices, mail
        ),
        mail=mail,
        event_mails=EventMails(resources, mail),
        account_emails=AccountEmails(settings, accounts, mail, limiter),
    )


def payment_gateway(resources: Resources, http: httpx.AsyncClient) -> Gateway:
    """Razorpay when its keys are set; otherwise the local test-mode gateway (refused in production
    by `Settings.payments_enabled`, so a misconfigured shop cannot hand out free credits)."""
    settings = resources.settings
    if not settings.payments_test_mode:
        return RazorpayGateway(
            key_id=settings.razorpay_key_id,
            key_secret=settings.razorpay_key_secret,
            webhook_secret=settings.resolved_razorpay_webhook_secret(),
            base_url=settings.razorpay_base_url,
        )
    return TestModeGateway(
        secret_key=settings.resolved_secret_key(),
        webhook_secret=settings.resolved_razorpay_webhook_secret(),
        webhook_url=f"{settings.base_url}/api/v1/payments/webhook",
        queue=resources.queues.default,
        http=http,
    )


@asynccontextmanager
async def open_services(resources: Resources) -> AsyncIterator[Services]:
    """The services plus their outbound HTTP clients (closed at the end). Image URLs given by callers
    get a client of their own: nothing they answer (cookies) may reach our other calls."""
    async with (
        httpx.AsyncClient(follow_redirects=False, timeout=30) as http,
        httpx.AsyncClient(follow_redirects=False, timeout=30) as image_http,
        httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=10) as webhook_http,
    ):
        yield build_services(resources, http, image_http, webhook_http)
