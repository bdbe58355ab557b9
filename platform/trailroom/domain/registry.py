"""Every Beanie document of the platform, so one call binds them all and creates their indexes."""

from __future__ import annotations

from beanie import Document

from trailroom.domain.accounts.models import AccountToken, ApiKey, RefreshToken, SecurityNotice, User
from trailroom.domain.analytics.models import UsageEvent, UsageHourly
from trailroom.domain.billing.models import GatewayEvent, Payment
from trailroom.domain.billing.testmode import TestModeOrder
from trailroom.domain.credits.models import CreditTransaction
from trailroom.domain.events.models import DomainEvent
from trailroom.domain.invoices.models import Invoice, InvoiceCounter
from trailroom.domain.mail.models import OutgoingMail
from trailroom.domain.prompts.models import PromptTemplate
from trailroom.domain.runtime_config.models import RuntimeConfig
from trailroom.domain.tryon.models import TryOnJob
from trailroom.domain.webhooks.models import WebhookDelivery, WebhookEndpoint


def document_models() -> list[type[Document]]:
    return [
        User,
        RefreshToken,
        ApiKey,
        SecurityNotice,
        CreditTransaction,
        DomainEvent,
        RuntimeConfig,
        PromptTemplate,
        TryOnJob,
        UsageEvent,
        UsageHourly,
        WebhookEndpoint,
        WebhookDelivery,
        Payment,
        GatewayEvent,
        TestModeOrder,
        Invoice,
        InvoiceCounter,
        OutgoingMail,
        AccountToken,
    ]
