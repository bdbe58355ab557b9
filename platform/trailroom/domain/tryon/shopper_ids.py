"""Shopper ids the platform issues to the widget, so a browser cannot name itself a new shopper.

A shopper id is `shp_<random>.<signature>`: the signature (HMAC-SHA256 with the platform's secret)
binds the random part to the publishable key it was issued for, so it is checked without a database
read and is worthless with any other key. Issuing one is counted per key and IP address per day
(`ShopperLimiter.count_new_shopper`), so minting fresh ids to get fresh daily caps is itself capped,
and the per-IP try-on cap stays the hard bound.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

PREFIX = "shp_"
_SHAPE = re.compile(r"^shp_([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{24})$")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class ShopperIds:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, key_id: str, shopper: str) -> str:
        mac = hmac.new(self._secret, f"shopper-id:{key_id}:{shopper}".encode(), hashlib.sha256).digest()
        return _b64(mac[:18])

    def issue(self, key_id: str) -> str:
        shopper = _b64(secrets.token_bytes(16))
        return f"{PREFIX}{shopper}.{self._sign(key_id, shopper)}"

    def verify(self, key_id: str, token: str | None) -> str | None:
        """The shopper part of a token issued for this key, or None for anything else."""
        match = _SHAPE.match(token or "")
        if match is None:
            return None
        shopper, signature = match.groups()
        return shopper if hmac.compare_digest(self._sign(key_id, shopper), signature) else None
