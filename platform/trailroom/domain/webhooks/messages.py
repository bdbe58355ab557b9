"""What a webhook delivery carries: its secret, its id, its payload and its Standard Webhooks signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime
from typing import Any

SECRET_PREFIX = "whsec_"
TEST_EVENT = "webhook.test"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def new_webhook_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def sign(secret: str, webhook_id: str, timestamp: int, body: str) -> str:
    """The Standard Webhooks `webhook-signature` value: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`
    keyed by the secret's bytes (the base64 after `whsec_`)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def event_payload(event_type: str, timestamp: datetime, data: dict[str, Any]) -> str:
    return json.dumps(
        {"type": event_type, "timestamp": timestamp.isoformat().replace("+00:00", "Z"), "data": data},
        separators=(",", ":"),
        default=str,
    )
