"""Settings, read once from `TRAILROOM_*` environment variables and an optional `.env` file."""

from __future__ import annotations

import ipaddress
import secrets
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["dev", "test", "production"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRAILROOM_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Environment = "dev"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Base URL that links in responses, emails and the widget point at.
    public_url: str = ""
    # Reverse proxies / load balancers (comma-separated IPs or CIDRs) whose X-Forwarded-For and
    # X-Forwarded-Proto are believed. Empty: forwarded headers are ignored and the peer is the client.
    trusted_proxies: str = ""

    # Unset means "start the embedded server" (only `trailroom dev` and the tests do that).
    mongodb_uri: str | None = None
    mongodb_database: str = "trailroom"
    redis_url: str | None = None
    # Where embedded services keep their data, pid files and dev secrets.
    data_dir: Path = Path(".trailroom")

    # Signs JWTs and other tokens. Required in production; dev keeps a random one in data_dir.
    secret_key: str = ""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["console", "json"] = "console"

    worker_concurrency: int = Field(default=4, ge=1, le=64)
    # Cron expression of the worker heartbeat job (croniter syntax; six fields means seconds).
    heartbeat_cron: str = "* * * * *"

    # Sessions: short-lived access tokens, rotating refresh tokens.
    access_token_ttl_s: int = Field(default=900, ge=60, le=86_400)
    refresh_token_ttl_days: int = Field(default=30, ge=1, le=365)
    # How long an API process may reuse an API key's lookup (key and account) before reading it again.
    auth_cache_ttl_s: float = Field(default=2.0, ge=0, le=60)
    # Rate limits (token buckets): requests per minute per API key, and sign-in abuse limits.
    api_key_requests_per_minute: int = Field(default=600, ge=1)
    login_attempts_per_ip_per_minute: int = Field(default=20, ge=1)
    # Failed sign-ins: per account from one IP (or one known browser), per IP across accounts, and
    # per account from everywhere (beyond that unknown browsers are slowed to one try a minute each).
    login_failures_per_account_per_15min: int = Field(default=5, ge=1)
    login_failures_per_ip_per_hour: int = Field(default=50, ge=1)
    login_failures_per_account_per_hour: int = Field(default=100, ge=1)
    registrations_per_ip_per_hour: int = Field(default=20, ge=1)

    # Google sign-in (OIDC). Without a client id and secret the option is not offered.
    google_client_id: str = ""
    google_client_secret: str = ""
    google_discovery_url: str = "https://accounts.google.com/.well-known/openid-configuration"

    # Try-on: where images live, how long results are kept, how URL inputs may be fetched.
    blob_dir: Path | None = None  # default: <data_dir>/blobs
    result_retention_days: int = Field(default=30, ge=1, le=3650)
    image_max_bytes: int = Field(default=10 * 1024 * 1024, ge=64 * 1024)
    # Only for tests and local development: let image URLs point at this machine over http.
    url_fetch_allow_loopback: bool = False
    url_fetch_allow_http: bool = False
    # The OpenAI engine is used when a key is set (unless the admins chose another engine).
    openai_api_key: str = ""
    openai_base_url: str | None = None
    # Extra engine modules (comma-separated import paths) loaded at start; each registers engines by
    # name with `trailroom.engines.registry.register_engine`, selectable in the admin AI settings.
    engine_modules: str = ""

    # Credits: the free allowance every account gets each UTC day.
    free_daily_credits: int = Field(default=3, ge=0, le=1000)
    # Widget try-ons per UTC day of one shopper (browser id) and of one IP, per API key, unless the key
    # sets its own; they keep one visitor from draining a merchant's credits.
    shopper_daily_tryons: int = Field(default=10, ge=1, le=100_000)
    shopper_ip_daily_tryons: int = Field(default=30, ge=1, le=100_000)
    # New shopper ids the platform issues per UTC day to one IP, per publishable key.
    shopper_ids_per_ip_daily: int = Field(default=20, ge=1, le=100_000)
    # Pricing: price of one credit before volume discounts, in the currency's smallest unit.
    currency: Literal["INR"] = "INR"
    credit_unit_price: int = Field(default=400, ge=1)
    # GST charged on every purchase, in percent (shown on quotes and invoices).
    gst_percent: Decimal = Field(default=Decimal(18), ge=0, le=100, decimal_places=2)

    # Payments through Razorpay. Without a key id and secret, payments run in test mode (a local
    # checkout labelled TEST MODE that signs as Razorpay does); production refuses test mode.
    razorpay_key_id: str = ""
    razorpay_key_secret: str = ""
    # Razorpay signs its webhooks with this; test mode signs its own with it too. Dev and test have
    # a documented default (DEV_RAZORPAY_WEBHOOK_SECRET); production must set it with live keys.
    razorpay_webhook_secret: str = ""
    # Where the Razorpay SDK sends its calls (tests point it at a local server).
    razorpay_base_url: str = "https://api.razorpay.com"

    # The seller on every invoice.
    seller_name: str = "TrailRoom"
    seller_address: str = ""
    seller_gstin: str = ""
    # Invoice numbers: <prefix>/<financial year>/<sequence>, e.g. TR/26-27/000123 and credit notes
    # TR/26-27/C00045; India allows at most 16 characters, so the prefix has at most 3.
    invoice_prefix: str = Field(default="TR", min_length=1, max_length=3, pattern=r"^[A-Z0-9]+$")

    # Mail over SMTP. Without a host, messages land in the dev outbox (`/dev/outbox`, not in production).
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout_s: float = Field(default=20, gt=0, le=300)
    mail_from: str = "TrailRoom <no-reply@trailroom.dev>"

    demo_email: str = "demo@trailroom.dev"
    demo_password: str = "TryOn-Demo-2026!"
    # The demo shop at /demo/store (the widget in direct mode). Unset: on in dev and test, off in production.
    demo_store: bool | None = None

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: str) -> str:
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"TRAILROOM_TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR") from exc
        return ",".join(entries)

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [entry for entry in self.trusted_proxies.split(",") if entry]

    @field_validator("public_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def blob_root(self) -> Path:
        return self.blob_dir or self.data_dir / "blobs"

    @property
    def google_enabled(self) -> bool:
        return bool(self.google_client_id and self.google_client_secret)

    @property
    def secure_cookies(self) -> bool:
        """Secure cookies everywhere but on plain-HTTP development hosts."""
        return self.is_production or self.base_url.startswith("https://")

    @property
    def demo_store_enabled(self) -> bool:
        return self.demo_store if self.demo_store is not None else not self.is_production

    @property
    def payments_test_mode(self) -> bool:
        """No Razorpay keys: the local test-mode checkout takes the payments (never in production)."""
        return not (self.razorpay_key_id and self.razorpay_key_secret)

    @property
    def payments_enabled(self) -> bool:
        return not (self.payments_test_mode and self.is_production)

    def resolved_razorpay_webhook_secret(self) -> str:
        if self.razorpay_webhook_secret:
            return self.razorpay_webhook_secret
        if self.is_production and not self.payments_test_mode:
            raise ConfigError("TRAILROOM_RAZORPAY_WEBHOOK_SECRET must be set with live Razorpay keys.")
        return DEV_RAZORPAY_WEBHOOK_SECRET

    @property
    def mail_outbox(self) -> bool:
        """No SMTP host: messages are kept in the dev outbox instead of sent."""
        return not self.smtp_host

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def resolved_secret_key(self) -> str:
        """The configured secret, or in dev/test a random one persisted under data_dir."""
        if self.secret_key:
            return self.secret_key
        if self.is_production:
            raise ConfigError("TRAILROOM_SECRET_KEY must be set in production (a long random string).")
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        path.write_text(value)
        path.chmod(0o600)
        return value


# Not a secret: the documented webhook secret of test mode and development (set your own in production).
DEV_RAZORPAY_WEBHOOK_SECRET = "trailroom-dev-razorpay-webhook-secret"


class ConfigError(RuntimeError):
    """Configuration that cannot work; the message says what to set."""


def require_urls(settings: Settings) -> tuple[str, str]:
    """Both service URLs, or a ConfigError naming what is missing and how to fix it."""
    missing = [
        name
        for name, value in (
            ("TRAILROOM_MONGODB_URI", settings.mongodb_uri),
            ("TRAILROOM_REDIS_URL", settings.redis_url),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            f"{' and '.join(missing)} not set: run `trailroom dev` (starts embedded MongoDB-compatible "
            "and Redis servers) or point the variables at your servers"
        )
    return str(settings.mongodb_uri), str(settings.redis_url)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
