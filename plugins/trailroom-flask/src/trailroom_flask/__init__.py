"""Flask extension for TrailRoom virtual try-on: a widget helper, an upload proxy that adds the secret
key server side, and webhook deliveries verified and turned into blinker signals."""

from trailroom_flask._config import TrailRoomState
from trailroom_flask.extension import TrailRoom
from trailroom_flask.signals import (
    credits_low,
    payment_completed,
    trailroom_signals,
    tryon_completed,
    tryon_failed,
    webhook_received,
)
from trailroom_flask.widget import trailroom_widget

__version__ = "0.1.0"

__all__ = [
    "TrailRoom",
    "TrailRoomState",
    "credits_low",
    "payment_completed",
    "trailroom_signals",
    "trailroom_widget",
    "tryon_completed",
    "tryon_failed",
    "webhook_received",
]
