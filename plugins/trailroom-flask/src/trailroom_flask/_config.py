"""Settings read once from `app.config["TRAILROOM_*"]` by `init_app`, and the per-app state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trailroom_client import TrailRoom as TrailRoomClient

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
DEFAULT_SESSION_LIMIT = 10
DEFAULT_URL_PREFIX = "/trailroom"
EXTENSION_KEY = "trailroom"


@dataclass(frozen=True, slots=True)
class TrailRoomConfig:
    api_key: str  # the secret key tr_sk_…: server side only, never rendered or answered
    base_url: str  # where this server reaches the TrailRoom API
    public_url: str  # where the shopper's browser reaches TrailRoom (the widget script, result images)
    webhook_secret: str | None  # whsec_… of the webhook endpoint; None disables the webhook route
    max_upload_bytes: int  # per uploaded image
    session_limit: int  # try-ons per browser session per window
    session_window_s: int
    url_prefix: str
    timeout_s: float
    max_retries: int  # the client's retries on 429/5xx; kept low so a shopper's request never hangs long

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> TrailRoomConfig:
        api_key = str(config.get("TRAILROOM_API_KEY") or "")
        if not api_key:
            raise RuntimeError("TRAILROOM_API_KEY is not set: the secret key tr_sk_… of your TrailRoom account")
        if api_key.startswith("tr_pk_"):
            raise RuntimeError("TRAILROOM_API_KEY must be a secret key (tr_sk_…), not a publishable key")
        base_url = str(config.get("TRAILROOM_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        public_url = str(config.get("TRAILROOM_PUBLIC_URL") or base_url).rstrip("/")
        max_upload = int(config.get("TRAILROOM_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES))
        limit = int(config.get("TRAILROOM_SESSION_LIMIT", DEFAULT_SESSION_LIMIT))
        window = int(config.get("TRAILROOM_SESSION_WINDOW_SECONDS", 3600))
        if max_upload <= 0 or limit < 0 or window <= 0:
            raise RuntimeError("TRAILROOM_MAX_UPLOAD_BYTES, TRAILROOM_SESSION_LIMIT and the window must be positive")
        prefix = "/" + str(config.get("TRAILROOM_URL_PREFIX", DEFAULT_URL_PREFIX)).strip("/")
        return cls(
            api_key=api_key,
            base_url=base_url,
            public_url=public_url,
            webhook_secret=config.get("TRAILROOM_WEBHOOK_SECRET") or None,
            max_upload_bytes=max_upload,
            session_limit=limit,
            session_window_s=window,
            url_prefix="" if prefix == "/" else prefix,
            timeout_s=float(config.get("TRAILROOM_TIMEOUT_SECONDS", 60.0)),
            max_retries=int(config.get("TRAILROOM_MAX_RETRIES", 1)),
        )


@dataclass
class TrailRoomState:
    """What one app holds in `app.extensions["trailroom"]`: its settings and the sync API client
    (which carries the secret key)."""

    config: TrailRoomConfig
    client: TrailRoomClient
