"""Standard Webhooks signature verification for TrailRoom deliveries.

The signed content is `{webhook-id}.{webhook-timestamp}.{body}`, signed with HMAC-SHA256 under the
endpoint secret (`whsec_` followed by base64 key bytes). `webhook-signature` holds one or more
space-separated `v1,<base64 signature>` entries (more than one while a secret is rotated).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from trailroom_client._errors import WebhookVerificationError

SECRET_PREFIX = "whsec_"


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(f"missing {name} header")


def _secret_bytes(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookVerificationError("the webhook secret is not valid base64") from exc


def sign_webhook(secret: str, message_id: str, timestamp: int, payload: bytes | str) -> str:
    """The `v1,…` signature of one delivery (what the sender puts in `webhook-signature`)."""
    body = payload.encode() if isinstance(payload, str) else payload
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify_webhook(
    payload: bytes | str, headers: Mapping[str, str], secret: str, tolerance_s: int = 300
) -> dict[str, Any]:
    """Check a delivery's signature and timestamp; answer the decoded JSON payload.

    Pass the raw body exactly as received. Raises `WebhookVerificationError` when a header is
    missing, the timestamp is further than `tolerance_s` from now, or no signature matches.
    """
    message_id = _header(headers, "webhook-id")
    timestamp_text = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    try:
        timestamp = int(timestamp_text)
    except ValueError as exc:
        raise WebhookVerificationError("webhook-timestamp is not a number") from exc
    if abs(time.time() - timestamp) > tolerance_s:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance")
    expected = sign_webhook(secret, message_id, timestamp, payload).split(",", 1)[1].encode()
    matched = False
    for entry in signatures.split():
        version, _, signature = entry.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            matched = True
    if not matched:
        raise WebhookVerificationError("no matching signature")
    try:
        decoded = json.loads(payload)
    except ValueError as exc:
        raise WebhookVerificationError("the payload is not JSON") from exc
    if not isinstance(decoded, dict):
        raise WebhookVerificationError("the payload is not a JSON object")
    return decoded
