"""Persistence of the accounts slice. Every query below is served by one of the declared indexes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import pymongo
from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import IndexModel

from trailroom.core.clock import utcnow
from trailroom.domain.invoices.details import BillingDetails


class Role(StrEnum):
    USER = "user"
    SUPER_ADMIN = "super_admin"
    SUPPORT_ADMIN = "support_admin"
    FINANCE_ADMIN = "finance_admin"


class AuthProvider(StrEnum):
    PASSWORD = "password"
    GOOGLE = "google"


class UserStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class User(Document):
    email: str  # normalized: trimmed and lower-cased; unique
    name: str
    password_hash: str | None = None  # None for accounts that only sign in with Google
    auth_provider: AuthProvider = AuthProvider.PASSWORD
    google_sub: str | None = None
    email_verified: bool = False
    role: Role = Role.USER
    status: UserStatus = UserStatus.ACTIVE
    # Credits: purchased credits never expire; the free daily allowance is tracked per UTC day.
    purchased_credits: int = 0
    free_daily_credits: int = 0  # granted (with its ledger entry) on the first use of each UTC day

    free_credits_day: str | None = None  # UTC day (YYYY-MM-DD) the free allowance belongs to
    lifetime_purchased: int = 0  # a paying account has bought credits at least once
    max_jobs_in_flight: int | None = None  # per-account override of the runtime default
    billing: BillingDetails | None = None  # who invoices are made out to (settings page)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None
    # Ending sessions (read with the user on every session request, so every API process sees it):
    # access tokens carry the epoch they were issued in (a password change or suspension moves it
    # on, ending every session at once) and their session id, which is listed here (with the time
    # its last access token expires) once the session is signed out or revoked.
    session_epoch: int = 0
    ended_sessions: dict[str, datetime] = Field(default_factory=dict)

    class Settings:
        name = "users"
        indexes = [
            IndexModel([("email", pymongo.ASCENDING)], unique=True, name="email_unique"),
            IndexModel([("free_credits_day", pymongo.ASCENDING)], name="free_credits_day"),
            IndexModel(
                [("google_sub", pymongo.ASCENDING)],
                unique=True,
                name="google_sub_unique",
                partialFilterExpression={"google_sub": {"$type": "string"}},
            ),
        ]

    @property
    def is_active(self) -> bool:
        return self.status == UserStatus.ACTIVE

    @property
    def is_admin(self) -> bool:
        return self.role != Role.USER

    @property
    def is_paying(self) -> bool:
        return self.lifetime_purchased > 0


class RefreshToken(Document):
    """One refresh token of a session family. Only the SHA-256 of the token is stored."""

    token_hash: str
    user_id: PydanticObjectId
    family_id: str
    expires_at: datetime
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
    replaced_by: str | None = None  # hash of the token that rotated this one
    user_agent: str | None = None
    ip: str | None = None

    class Settings:
        name = "refresh_tokens"
        indexes = [
            IndexModel([("token_hash", pymongo.ASCENDING)], unique=True, name="token_hash_unique"),
            IndexModel([("family_id", pymongo.ASCENDING)], name="family"),
            IndexModel([("user_id", pymongo.ASCENDING)], name="user"),
            # Expired tokens are removed by MongoDB a day after expiry (reuse detection needs them a while).
            IndexModel([("expires_at", pymongo.ASCENDING)], expireAfterSeconds=86_400, name="expiry_ttl"),
        ]


class ApiKeyKind(StrEnum):
    SECRET = "secret"
    PUBLISHABLE = "publishable"


class ApiKey(Document):
    """An API key. Only its SHA-256 is stored, with a short prefix to recognise it by."""

    user_id: PydanticObjectId
    name: str
    kind: ApiKeyKind
    key_hash: str
    display_prefix: str  # e.g. "tr_sk_Ab3d…", safe to show
    allowed_origins: list[str] = Field(default_factory=list)
    # Daily try-on caps per shopper id and per shopper IP; None means the platform's defaults.
    shopper_daily_limit: int | None = None
    ip_daily_limit: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    rotated_at: datetime | None = None
    last_used_at: datetime | None = None

    class Settings:
        name = "api_keys"
        indexes = [
            IndexModel([("key_hash", pymongo.ASCENDING)], unique=True, name="key_hash_unique"),
            IndexModel([("user_id", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING)], name="user_created"),
            # CORS preflights ask "does any publishable key allow this origin?".
            IndexModel([("allowed_origins", pymongo.ASCENDING)], name="allowed_origins"),
        ]


class NoticeKind(StrEnum):
    SIGN_IN_THROTTLED = "sign_in_throttled"


class SecurityNotice(Document):
    """Something about the account's security the owner should know, shown on the dashboard until
    dismissed (there is no email yet). One open notice per kind: later events update it."""

    user_id: PydanticObjectId
    kind: NoticeKind
    first_at: datetime = Field(default_factory=utcnow)
    last_at: datetime = Field(default_factory=utcnow)
    last_ip: str | None = None
    occurrences: int = 1  # throttling episodes (counted at most once a minute)
    dismissed_at: datetime | None = None
    open: bool = True

    class Settings:
        name = "security_notices"
        indexes = [
            IndexModel([("user_id", pymongo.ASCENDING), ("open", pymongo.ASCENDING)], name="user_open"),
        ]


class TokenPurpose(StrEnum):
    PASSWORD_RESET = "password_reset"
    VERIFY_EMAIL = "verify_email"


class AccountToken(Document):
    """A single-use token mailed to an account's address: a password reset or an email
    verification. Only its SHA-256 is stored; it is void once used, expired, or once the account's
    email is no longer the one it was mailed to."""

    token_hash: str
    purpose: TokenPurpose
    user_id: PydanticObjectId
    email: str
    expires_at: datetime
    created_at: datetime = Field(default_factory=utcnow)
    used_at: datetime | None = None

    class Settings:
        name = "account_tokens"
        indexes = [
            IndexModel([("token_hash", pymongo.ASCENDING)], unique=True, name="token_hash_unique"),
            IndexModel([("user_id", pymongo.ASCENDING), ("purpose", pymongo.ASCENDING)], name="user_purpose"),
            # Removed by MongoDB a day after expiry (until then a used or expired link gets a clear answer).
            IndexModel([("expires_at", pymongo.ASCENDING)], expireAfterSeconds=86_400, name="expiry_ttl"),
        ]
