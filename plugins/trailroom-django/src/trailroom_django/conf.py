"""The `TRAILROOM` setting, read and checked once (at app start and when a test overrides it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
DEFAULT_SESSION_LIMIT = 10
DEFAULT_SESSION_WINDOW_S = 3600
KNOWN_KEYS = frozenset(
    {"API_KEY", "BASE_URL", "PUBLIC_URL", "WEBHOOK_SECRET", "MAX_UPLOAD_BYTES", "SESSION_LIMIT", "SESSION_WINDOW_S"}
)


@dataclass(frozen=True, slots=True)
class TrailRoomSettings:
    api_key: str  # secret key tr_sk_…: only ever sent server to server
    base_url: str  # where this server reaches the API
    public_url: str  # where browsers reach the platform (the widget script, result images)
    webhook_secret: str  # whsec_… of the webhook endpoint pointing at this app
    max_upload_bytes: int
    session_limit: int  # try-ons per session per window
    session_window_s: int


def _required_str(config: Mapping[str, Any], key: str, hint: str) -> str:
    value = config.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ImproperlyConfigured(f"TRAILROOM['{key}'] is required: {hint}")
    return value.strip()


def _positive_int(config: Mapping[str, Any], key: str, default: int) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ImproperlyConfigured(f"TRAILROOM['{key}'] must be a positive integer, not {value!r}")
    return value


def load_settings(config: Any = None) -> TrailRoomSettings:
    """Check `settings.TRAILROOM` (or `config`) and answer it typed; `ImproperlyConfigured` says what is wrong."""
    if config is None:
        config = getattr(django_settings, "TRAILROOM", None)
    if config is None:
        raise ImproperlyConfigured(
            "settings.TRAILROOM is missing: set TRAILROOM = {'API_KEY': 'tr_sk_…', 'BASE_URL': …, 'WEBHOOK_SECRET': …}"
        )
    if not isinstance(config, Mapping):
        raise ImproperlyConfigured("settings.TRAILROOM must be a dict")
    unknown = sorted(set(config) - KNOWN_KEYS)
    if unknown:
        raise ImproperlyConfigured(f"settings.TRAILROOM has unknown keys: {', '.join(unknown)}")
    api_key = _required_str(config, "API_KEY", "the secret key tr_sk_… from the TrailRoom dashboard")
    if api_key.startswith("tr_pk_"):
        raise ImproperlyConfigured(
            "TRAILROOM['API_KEY'] is a publishable key (tr_pk_…); the proxy needs the secret key tr_sk_…"
        )
    base_url = _required_str(config, "BASE_URL", "the TrailRoom API URL, e.g. https://api.trailroom.example")
    public_url = config.get("PUBLIC_URL") or base_url
    if not isinstance(public_url, str):
        raise ImproperlyConfigured("TRAILROOM['PUBLIC_URL'] must be a string")
    webhook_secret = _required_str(config, "WEBHOOK_SECRET", "the whsec_… secret of your webhook endpoint")
    return TrailRoomSettings(
        api_key=api_key,
        base_url=base_url.rstrip("/"),
        public_url=public_url.strip().rstrip("/"),
        webhook_secret=webhook_secret,
        max_upload_bytes=_positive_int(config, "MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES),
        session_limit=_positive_int(config, "SESSION_LIMIT", DEFAULT_SESSION_LIMIT),
        session_window_s=_positive_int(config, "SESSION_WINDOW_S", DEFAULT_SESSION_WINDOW_S),
    )
