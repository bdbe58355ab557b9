"""Background jobs of billing: receipts, their catch-up sweep, and test mode's webhook deliveries."""

from __future__ import annotations

from typing import Any


async def send_payment_receipt(ctx: dict[str, Any], *, payment_id: str) -> bool:
    """Mail the receipt of a paid order with its invoice attached (at most once per payment)."""
    sent: bool = await ctx["services"].payments.send_receipt(payment_id)
    return sent


async def queue_due_receipts(ctx: dict[str, Any]) -> int:
    """Cron: receipts whose job was lost (a crash between the payment's commit and the enqueue)."""
    queued: int = await ctx["services"].payments.queue_due_receipts()
    return queued


async def deliver_test_mode_webhook(ctx: dict[str, Any], *, body: str, event_id: str) -> int:
    """Test mode: post one Razorpay-shaped, signed webhook to our own endpoint (retried by SAQ)."""
    status: int = await ctx["services"].payments.gateway.deliver_webhook(body, event_id)
    return status
