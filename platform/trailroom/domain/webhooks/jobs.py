"""Background jobs of webhooks: fan-out of outbox events, delivery runs per endpoint, and the due sweep."""

from __future__ import annotations

from typing import Any


async def dispatch_webhook_events(ctx: dict[str, Any]) -> int:
    """Cron (every minute): fan undispatched outbox events out to subscribed endpoints and queue their
    delivery runs. Returns the number of deliveries created."""
    created: int = await ctx["services"].webhooks.fanout.dispatch_pending()
    return created


async def deliver_webhook_endpoint(ctx: dict[str, Any], *, endpoint_id: str) -> int:
    """One delivery run for an endpoint: its due deliveries, oldest first (queued by the service)."""
    attempts: int = await ctx["services"].webhooks.delivery.deliver_endpoint(endpoint_id)
    return attempts


async def deliver_due_webhooks(ctx: dict[str, Any]) -> int:
    """Cron (every minute): queue a delivery run for every endpoint with a delivery due (retries whose
    queued run was lost, endpoints re-enabled, runs that lost a race for the lease)."""
    endpoints: int = await ctx["services"].webhooks.delivery.deliver_due()
    return endpoints
