"""Settings of the Saleor app, from a mapping (or the environment) read once by `create_app`.

The `TRAILROOM_*` keys are the Flask extension's own (its README lists them) and are handed to it
unchanged; the `SALEOR_*` keys below are this app's.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# Keys read from the environment when the mapping given to `create_app` does not set them.
ENV_KEYS = (
    "SECRET_KEY",
    "TRAILROOM_API_KEY",
    "TRAILROOM_BASE_URL",
    "TRAILROOM_PUBLIC_URL",
    "TRAILROOM_WEBHOOK_SECRET",
    "TRAILROOM_MAX_UPLOAD_BYTES",
    "TRAILROOM_SESSION_LIMIT",
    "TRAILROOM_SESSION_WINDOW_SECONDS",
    "TRAILROOM_URL_PREFIX",
    "TRAILROOM_TIMEOUT_SECONDS",
    "TRAILROOM_MAX_RETRIES",
    "SALEOR_APP_URL",
    "SALEOR_ALLOWED_API_URLS",
    "SALEOR_APL_PATH",
    "SALEOR_APP_ID",
    "SALEOR_TIMEOUT_SECONDS",
    "SALEOR_JWKS_MIN_REFRESH_SECONDS",
)
DEFAULT_APP_ID = "trailroom.tryon"
DEFAULT_APL_PATH = "trailroom-saleor.sqlite3"


def normalize_api_url(url: str) -> str:
    """A Saleor GraphQL URL compared without surrounding spaces or a trailing slash."""
    return url.strip().rstrip("/")


def _urls(value: Any) -> tuple[str, ...]:
    items: Iterable[Any] = value.split(",") if isinstance(value, str) else (value or ())
    return tuple(normalize_api_url(str(item)) for item in items if str(item).strip())


def settings_from(config: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The environment's known keys, overridden by `config`."""
    env = os.environ if environ is None else environ
    merged: dict[str, Any] = {key: env[key] for key in ENV_KEYS if env.get(key)}
    merged.update(config or {})
    return merged


@dataclass(frozen=True, slots=True)
class SaleorAppConfig:
    app_url: str  # public base URL of this app, as Saleor and the dashboard reach it (manifest URLs)
    allowed_api_urls: tuple[str, ...]  # Saleor GraphQL URLs allowed to install the app; empty refuses all
    apl_path: str  # SQLite file holding registrations (app tokens: secrets) and product try-on settings
    app_id: str  # the manifest id
    timeout_s: float  # of calls to Saleor (GraphQL, JWKS)
    jwks_min_refresh_s: float  # at most one JWKS refetch per shop per this many seconds

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> SaleorAppConfig:
        app_url = str(config.get("SALEOR_APP_URL") or "").rstrip("/")
        if urlsplit(app_url).scheme not in {"http", "https"} or not urlsplit(app_url).netloc:
            raise RuntimeError("SALEOR_APP_URL must be this app's public base URL, e.g. https://tryon-app.example.com")
        return cls(
            app_url=app_url,
            allowed_api_urls=_urls(config.get("SALEOR_ALLOWED_API_URLS")),
            apl_path=str(config.get("SALEOR_APL_PATH") or DEFAULT_APL_PATH),
            app_id=str(config.get("SALEOR_APP_ID") or DEFAULT_APP_ID),
            timeout_s=float(config.get("SALEOR_TIMEOUT_SECONDS", 15.0)),
            jwks_min_refresh_s=float(config.get("SALEOR_JWKS_MIN_REFRESH_SECONDS", 60.0)),
        )

    def allows(self, saleor_api_url: str) -> bool:
        return normalize_api_url(saleor_api_url) in self.allowed_api_urls
