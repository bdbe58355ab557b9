"""Blinker signals (namespace `trailroom`) sent for verified webhook deliveries.

Every receiver is called with the Flask app as sender and two keyword arguments: `event` (the whole
decoded delivery, `{"type", "timestamp", "data"}`) and `data` (its `data` object).
`webhook_received` fires for every verified delivery, then the signal of its type, if any.
"""

from __future__ import annotations

from blinker import NamedSignal, Namespace

trailroom_signals = Namespace()

webhook_received: NamedSignal = trailroom_signals.signal("webhook-received")
tryon_completed: NamedSignal = trailroom_signals.signal("tryon-completed")
tryon_failed: NamedSignal = trailroom_signals.signal("tryon-failed")
credits_low: NamedSignal = trailroom_signals.signal("credits-low")
payment_completed: NamedSignal = trailroom_signals.signal("payment-completed")

SIGNALS_BY_EVENT: dict[str, NamedSignal] = {
    "tryon.completed": tryon_completed,
    "tryon.failed": tryon_failed,
    "credits.low": credits_low,
    "payment.completed": payment_completed,
}
