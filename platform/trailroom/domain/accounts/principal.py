"""Who is calling: a signed-in user (session) or a merchant's API key, and the account behind it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from beanie import PydanticObjectId

from trailroom.core.ratelimit import Decision
from trailroom.domain.accounts.models import ApiKey, User


class Via(StrEnum):
    SESSION = "session"  # user access token (Bearer or cookie)
    SECRET_KEY = "secret_key"
    PUBLISHABLE_KEY = "publishable_key"


@dataclass(frozen=True)
class Principal:
    user: User
    via: Via
    api_key: ApiKey | None = None
    # Sessions: the refresh-token family of the access token (CSRF tokens are bound to it).
    session_id: str | None = None
    # Sessions from the browser cookie carry whether the request echoed the CSRF token.
    cookie_auth: bool = False
    csrf_valid: bool = False
    # The API key's rate-limit decision for this request; the guards refuse it when not allowed.
    rate_limit: Decision | None = None

    @property
    def account_id(self) -> str:
        return str(self.user.id)

    @property
    def api_key_id(self) -> PydanticObjectId | None:
        return self.api_key.id if self.api_key else None

    @property
    def user_id(self) -> PydanticObjectId:
        """The account's id (users reach a principal only once saved, so it is always set)."""
        assert self.user.id is not None
        return self.user.id
