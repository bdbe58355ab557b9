"""Signals sent for verified webhook deliveries.

Every receiver gets `event_type` (e.g. "tryon.completed"), `data` (the event's `data` object) and
`event` (the whole decoded payload: `type`, `timestamp`, `data`) and `webhook_id` (the delivery's
`webhook-id`, for de-duplicating redeliveries). The sender is the string "trailroom".
"""

from __future__ import annotations

from django.dispatch import Signal

webhook_received = Signal()  # every verified delivery, whatever its type
tryon_completed = Signal()  # "tryon.completed"
tryon_failed = Signal()  # "tryon.failed"
credits_low = Signal()  # "credits.low"
payment_completed = Signal()  # "payment.completed"

EVENT_SIGNALS: dict[str, Signal] = {
    "tryon.completed": tryon_completed,
    "tryon.failed": tryon_failed,
    "credits.low": credits_low,
    "payment.completed": payment_completed,
}
