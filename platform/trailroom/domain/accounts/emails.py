"""What accounts do by mail: password reset and email verification.

Invariants:
- A token is `tr_pr_…` (reset) or `tr_ev_…` (verification): 32 random bytes, mailed once, stored
  only as its SHA-256 with an expiry (reset 1 hour, verification 48 hours) and the address it was
  mailed to. Using it is one conditional update on `used_at: null`: it works once.
- Asking for a reset answers the same whether or not the address has an account (the mail is
  written after the answer, so not even the time differs); only the per-IP limit refuses.
- A reset sets the password (same rules as registration), marks the address verified (the mail
  proved it), voids the account's other reset links and ends every session: refresh tokens
  revoked, the session epoch moved on (access and device tokens die with it).
- Nothing waits for verification: it only clears the dashboard's reminder.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from trailroom.core.clock import utcnow
from trailroom.core.config import Settings
from trailroom.core.errors import Conflict, Forbidden, InvalidInput, RateLimited
from trailroom.core.limits import (
    ACCOUNT_TOKENS_PER_IP,
    PASSWORD_RESET_MAILS_PER_EMAIL,
    PASSWORD_RESET_REQUESTS_PER_IP,
    VERIFICATION_MAILS_PER_ACCOUNT,
    RatePolicy,
)
from trailroom.core.logging import get_logger
from trailroom.core.ratelimit import RateLimiter
from trailroom.domain.accounts.models import AccountToken, TokenPurpose, User
from trailroom.domain.accounts.security import check_password_rules, hash_password, new_token, sha256_hex
from trailroom.domain.accounts.services import AccountService, normalize_email
from trailroom.domain.mail.models import OutgoingMail
from trailroom.domain.mail.services import MailService

log = get_logger("trailroom.accounts")

RESET_TTL = timedelta(hours=1)
VERIFY_TTL = timedelta(hours=48)
TOKEN_PREFIXES = {TokenPurpose.PASSWORD_RESET: "tr_pr_", TokenPurpose.VERIFY_EMAIL: "tr_ev_"}
RESET_PATH = "/reset-password"
VERIFY_PATH = "/verify-email"


def _invalid_reset() -> InvalidInput:
    return InvalidInput(
        "This password reset link is not valid, was used already or has expired; ask for a new one.",
        code="invalid_reset_token",
        field="token",
    )


def _invalid_verification() -> InvalidInput:
    return InvalidInput(
        "This confirmation link is not valid or has expired; send yourself a new one from the dashboard.",
        code="invalid_verification_token",
        field="token",
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class AccountEmails:
    def __init__(self, settings: Settings, accounts: AccountService, mail: MailService, limiter: RateLimiter) -> None:
        self.settings = settings
        self.accounts = accounts
        self.mail = mail
        self.limiter = limiter

    # -- password reset ---------------------------------------------------------------------------

    async def limit_reset_requests(self, ip: str) -> None:
        """Refuse a source asking for too many resets (the one refusal: it says nothing of accounts)."""
        await self._limit(PASSWORD_RESET_REQUESTS_PER_IP, ip)

    async def send_password_reset(self, email: str) -> OutgoingMail | None:
        """Mail a reset link to the account with this address, if there is one (and it is active,
        and the address has not had too many lately). Run after the answer is sent: the caller
        learns nothing from it."""
        try:
            address = normalize_email(email)
        except InvalidInput:
            return None
        if not (await self._take(PASSWORD_RESET_MAILS_PER_EMAIL, sha256_hex(address)[:32])).allowed:
            return None
        user = await User.find_one(User.email == address)
        if user is None or not user.is_active:
            return None
        token = await self._issue(user, TokenPurpose.PASSWORD_RESET, RESET_TTL)
        return await self.mail.queue(
            to=user.email,
            template="password_reset",
            context={
                "name": user.name,
                "reset_url": f"{self.settings.base_url}{RESET_PATH}?token={token}",
                "expires_minutes": int(RESET_TTL.total_seconds() // 60),
            },
            account_id=user.id,
        )

    async def reset_link_valid(self, token: str) -> bool:
        """Whether a reset link would work now (the page shows the form only then); uses nothing."""
        return await self._usable(token, TokenPurpose.PASSWORD_RESET) is not None

    async def reset_password(self, *, token: str, password: str, ip: str) -> User:
        """Set a new password with a reset token, once; every session of the account ends."""
        await self._limit(ACCOUNT_TOKENS_PER_IP, ip)
        record = await self._usable(token, TokenPurpose.PASSWORD_RESET)
        if record is None:
            raise _invalid_reset()
        user = await User.get(record.user_id)
        if user is None or user.email != record.email:
            raise _invalid_reset()
        if not user.is_active:
            raise Forbidden("This account is suspended; contact support.", code="account_suspended")
        # Checked before the token is used: a weak password does not cost the link.
        check_password_rules(password, email=user.email, name=user.name)
        password_hash = await hash_password(password)
        if not await self._use(record):
            raise _invalid_reset()  # used by a concurrent request a moment ago
        now = utcnow()
        await User.get_pymongo_collection().update_one(
            {"_id": user.id},
            {"$set": {"password_hash": password_hash, "email_verified": True, "updated_at": now}},
        )
        # Other reset links of the account die with this one.
        await AccountToken.get_pymongo_collection().update_many(
            {"user_id": user.id, "purpose": TokenPurpose.PASSWORD_RESET.value, "used_at": None},
            {"$set": {"used_at": now}},
        )
        assert user.id is not None
        await self.accounts.revoke_all_sessions(user.id)
        log.info("password reset", user_id=str(user.id))
        refreshed = await User.get(user.id)
        assert refreshed is not None
        return refreshed

    # -- email verification -------------------------------------------------------------------------

    async def send_verification(self, user: User) -> OutgoingMail | None:
        """Mail a confirmation link to a new password account (Google accounts come verified)."""
        if user.email_verified:
            return None
        token = await self._issue(user, TokenPurpose.VERIFY_EMAIL, VERIFY_TTL)
        return await self.mail.queue(
            to=user.email,
            template="verify_email",
            context={
                "name": user.name,
                "verify_url": f"{self.settings.base_url}{VERIFY_PATH}?token={token}",
                "expires_hours": int(VERIFY_TTL.total_seconds() // 3600),
            },
            account_id=user.id,
        )

    async def resend_verification(self, user: User) -> OutgoingMail:
        if user.email_verified:
            raise Conflict("This email address is confirmed already.", code="email_already_verified")
        await self._limit(VERIFICATION_MAILS_PER_ACCOUNT, user.id)
        mail = await self.send_verification(user)
        assert mail is not None
        return mail

    async def verify_email(self, *, token: str, ip: str) -> User:
        """Confirm the address a verification token was mailed to. A link opened again after it
        worked (a second click, a mail scanner first) still answers with the verified account."""
        await self._limit(ACCOUNT_TOKENS_PER_IP, ip)
        record = await AccountToken.find_one(
            AccountToken.token_hash == sha256_hex(token), AccountToken.purpose == TokenPurpose.VERIFY_EMAIL
        )
        if record is None:
            raise _invalid_verification()
        user = await User.get(record.user_id)
        if user is None or user.email != record.email:
            raise _invalid_verification()
        if record.used_at is not None:
            if user.email_verified:
                return user
            raise _invalid_verification()
        if _aware(record.expires_at) <= utcnow() or not await self._use(record):
            if user.email_verified:
                return user
            raise _invalid_verification()
        await User.get_pymongo_collection().update_one(
            {"_id": user.id, "email": record.email}, {"$set": {"email_verified": True, "updated_at": utcnow()}}
        )
        user.email_verified = True
        return user

    # -- tokens -------------------------------------------------------------------------------------

    async def _issue(self, user: User, purpose: TokenPurpose, ttl: timedelta) -> str:
        for _ in range(3):
            token = TOKEN_PREFIXES[purpose] + new_token(32)
            try:
                await AccountToken(
                    token_hash=sha256_hex(token),
                    purpose=purpose,
                    user_id=user.id,
                    email=user.email,
                    expires_at=utcnow() + ttl,
                ).insert()
            except DuplicateKeyError:  # 256 random bits colliding: never, but never twice either
                continue
            return token
        raise RuntimeError("could not issue an account token")

    async def _usable(self, token: str, purpose: TokenPurpose) -> AccountToken | None:
        if not token.startswith(TOKEN_PREFIXES[purpose]) or len(token) > 200:
            return None
        return await AccountToken.find_one(
            {
                "token_hash": sha256_hex(token),
                "purpose": purpose.value,
                "used_at": None,
                "expires_at": {"$gt": utcnow()},
            }
        )

    @staticmethod
    async def _use(record: AccountToken) -> bool:
        """The one conditional update that makes a token single-use."""
        used = await AccountToken.get_pymongo_collection().find_one_and_update(
            {"_id": record.id, "used_at": None, "expires_at": {"$gt": utcnow()}},
            {"$set": {"used_at": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )
        return used is not None

    async def _take(self, policy: RatePolicy, *subject: object) -> Any:
        return await self.limiter.take(policy.key(*subject), policy.limit, 1)

    async def _limit(self, policy: RatePolicy, *subject: object) -> None:
        decision = await self._take(policy, *subject)
        if not decision.allowed:
            raise RateLimited(
                f"Too many requests; try again in {decision.retry_after_s} s.",
                code="rate_limited",
                retry_after=decision.retry_after_s,
            )
