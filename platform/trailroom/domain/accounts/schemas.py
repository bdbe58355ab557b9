"""Request and response shapes of the accounts API (snake_case JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from trailroom.domain.accounts.models import ApiKey, User

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, examples=["ada@example.com"])]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class RegisterRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    # Documented as `true` only; anything else is refused by the service (`terms_not_accepted`).
    accept_terms: Annotated[bool, msgspec.Meta(extra_json_schema={"const": True})]


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


class UpdateProfileRequest(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class ChangePasswordRequest(msgspec.Struct, forbid_unknown_fields=True):
    new_password: Password
    current_password: Annotated[str, msgspec.Meta(max_length=256)] = ""


class ForgotPasswordRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email


MailedToken = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class ResetPasswordRequest(msgspec.Struct, forbid_unknown_fields=True):
    token: MailedToken  # from the link in the reset mail
    password: Password


class VerifyEmailRequest(msgspec.Struct, forbid_unknown_fields=True):
    token: MailedToken  # from the link in the confirmation mail


class MailAccepted(msgspec.Struct):
    """A mail is (or, for a reset, may be) on its way; the answer is the same for every address."""

    detail: str


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class TokenResponse(msgspec.Struct):
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    token_type: str = "Bearer"


class UserResponse(msgspec.Struct):
    id: str
    email: str
    name: str
    role: str
    auth_provider: str
    email_verified: bool
    status: str
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserResponse:
        return cls(
            id=str(user.id),
            email=user.email,
            name=user.name,
            role=user.role.value,
            auth_provider=user.auth_provider.value,
            email_verified=user.email_verified,
            status=user.status.value,
            created_at=user.created_at,
        )


class MeResponse(msgspec.Struct):
    user: UserResponse
    authenticated_via: Literal["session", "secret_key", "publishable_key"]


class AuthProviders(msgspec.Struct):
    password: bool
    google: bool
    google_url: str | None


Origins = Annotated[list[Annotated[str, msgspec.Meta(max_length=255)]], msgspec.Meta(max_length=20)]
DailyLimit = Annotated[int, msgspec.Meta(ge=1, le=100_000)]


class GenerateKeyRequest(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    kind: Literal["secret", "publishable"] = "secret"
    allowed_origins: Origins = []
    # Try-ons per UTC day per shopper id / per shopper IP; omitted or null: the platform's defaults.
    shopper_daily_limit: DailyLimit | None = None
    ip_daily_limit: DailyLimit | None = None


class UpdateKeyRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change; a limit sent as null goes back to the platform's default."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)] | msgspec.UnsetType = msgspec.UNSET
    allowed_origins: Origins | msgspec.UnsetType = msgspec.UNSET
    shopper_daily_limit: DailyLimit | msgspec.UnsetType | None = msgspec.UNSET
    ip_daily_limit: DailyLimit | msgspec.UnsetType | None = msgspec.UNSET


class ApiKeyResponse(msgspec.Struct):
    id: str
    name: str
    kind: str
    prefix: str
    allowed_origins: list[str]
    shopper_daily_limit: int | None
    ip_daily_limit: int | None
    created_at: datetime
    rotated_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyResponse:
        return cls(
            id=str(key.id),
            name=key.name,
            kind=key.kind.value,
            prefix=key.display_prefix,
            allowed_origins=key.allowed_origins,
            shopper_daily_limit=key.shopper_daily_limit,
            ip_daily_limit=key.ip_daily_limit,
            created_at=key.created_at,
            rotated_at=key.rotated_at,
            last_used_at=key.last_used_at,
        )


class NewApiKeyResponse(ApiKeyResponse):
    """The key's fields plus the full `key`, shown this once; only its hash is stored."""

    key: str

    @classmethod
    def of_new(cls, api_key: ApiKey, key: str) -> NewApiKeyResponse:
        return cls(**msgspec.structs.asdict(ApiKeyResponse.of(api_key)), key=key)


class ApiKeyList(msgspec.Struct):
    data: list[ApiKeyResponse]
