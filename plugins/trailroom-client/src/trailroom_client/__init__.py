"""Typed Python client for the TrailRoom virtual try-on API (sync and async, on httpx)."""

from trailroom_client._client import AsyncTrailRoom, ImageInput, TrailRoom
from trailroom_client._errors import (
    APIConnectionError,
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    OutOfCreditsError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TrailRoomError,
    WebhookVerificationError,
)
from trailroom_client._models import (
    Batch,
    Credits,
    CreditTransaction,
    CreditTransactionPage,
    DeliveryAttempt,
    JobError,
    JobLinks,
    ResultImage,
    TryOnJob,
    TryOnPage,
    Webhook,
    WebhookDelivery,
)
from trailroom_client.webhooks import sign_webhook, verify_webhook

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "AsyncTrailRoom",
    "AuthenticationError",
    "Batch",
    "CreditTransaction",
    "CreditTransactionPage",
    "Credits",
    "DeliveryAttempt",
    "ImageInput",
    "InvalidRequestError",
    "JobError",
    "JobLinks",
    "NotFoundError",
    "OutOfCreditsError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResultImage",
    "ServerError",
    "TrailRoom",
    "TrailRoomError",
    "TryOnJob",
    "TryOnPage",
    "Webhook",
    "WebhookDelivery",
    "WebhookVerificationError",
    "sign_webhook",
    "verify_webhook",
]
