"""Account rules: registration, sign-in, sessions and API keys.

Invariants kept here:
- Emails are stored normalized and are unique by a unique index (a duplicate insert fails).
- Passwords are only ever stored as bcrypt hashes; unknown accounts cost as much to check as known ones.
- A refresh token works once. Rotation is one conditional update: of two concurrent refreshes with
  the same token only one can succeed, and presenting a used token revokes its whole family. The
  web pages' renewal alone allows a short grace (`renew(reuse_grace_s=…)`): a token rotated
  seconds ago by another tab of the same browser gets an access token, never a refresh token.
- An access token works only while its session does: it names its session (refresh family) and
  the user's session epoch, both checked against the user document read on every session request.
  Signing out or a detected reuse lists the session in `User.ended_sessions`; a password change or
  a suspension moves `User.session_epoch` on. Every API process sees either at its next request.
- Sign-in throttling follows OWASP's guidance (failed attempts only): per account and source IP
  (a hard limit), per source IP across accounts (hard), and account-wide a larger bound that only
  slows unknown browsers down (one attempt per source per minute), so a trickle of guesses from
  elsewhere cannot lock the owner out. A browser that signed in before (signed `tr_device` cookie)
  skips the per-IP and account-wide checks and has its own failure counter. Throttling an
  existing account leaves a security notice for its owner.
- API keys are stored only as SHA-256 hashes and shown once; `last_used_at` is collected in Redis
  and written to the database by a cron job, never on the request path.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from beanie import PydanticObjectId, SortDirection
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError
from redis.asyncio import Redis

from trailroom.core.clock import utcnow
from trailroom.core.config import Settings
from trailroom.core.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited, Unauthenticated
from trailroom.core.ids import parse_object_id
from trailroom.core.limits import LimitPolicies, RatePolicy
from trailroom.core.logging import get_logger
from trailroom.core.ratelimit import Decision, LeasedRateLimiter, RateLimiter
from trailroom.domain.accounts.models import (
    ApiKey,
    ApiKeyKind,
    AuthProvider,
    NoticeKind,
    RefreshToken,
    Role,
    SecurityNotice,
    User,
    UserStatus,
)
from trailroom.domain.accounts.security import (
    AccessTokens,
    CsrfTokens,
    Device,
    DeviceTokens,
    check_password_rules,
    hash_password,
    new_token,
    session_csrf_binding,
    sha256_hex,
    verify_password,
)

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
KEY_PREFIXES = {ApiKeyKind.SECRET: "tr_sk_", ApiKeyKind.PUBLISHABLE: "tr_pk_"}
MAX_KEYS_PER_ACCOUNT = 50
LAST_USED_KEY = "trailroom:apikeys:last_used"
MAX_ROTATIONS_FOLLOWED = 5  # tabs renewing at once within the reuse grace
DEVICE_TOKEN_MAX_AGE_S = 180 * 86_400
log = get_logger("trailroom.accounts")


def normalize_email(email: str) -> str:
    normalized = email.strip().lower()
    if len(normalized) > 254 or not _EMAIL.match(normalized):
        raise InvalidInput("Enter a valid email address.", code="invalid_email", field="email")
    return normalized


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    session_id: str  # the refresh-token family: stable across rotations
    csrf_token: str  # a CSRF token bound to this session, for the browser's cookie
    device_token: str | None = None  # a fresh `tr_device` value after a sign-in (not on renewals)


@dataclass(frozen=True)
class SessionAuth:
    """The user behind a valid access token, and the session it belongs to."""

    user: User
    session_id: str


@dataclass(frozen=True)
class Renewal:
    """A renewed session: always a new access token; the rotated pair unless a concurrent
    renewal of the same token already rotated it (see `AccountService.renew`)."""

    user: User
    access_token: str
    expires_in: int
    tokens: TokenPair | None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _suspended() -> Forbidden:
    return Forbidden("This account is suspended; contact support.", code="account_suspended")


class AccountService:
    def __init__(
        self, settings: Settings, tokens: AccessTokens, limiter: RateLimiter, limits: LimitPolicies | None = None
    ) -> None:
        self.settings = settings
        self.tokens = tokens
        self.limiter = limiter
        self.limits = limits or LimitPolicies(settings)
        secret = settings.resolved_secret_key()
        self.csrf = CsrfTokens(secret)
        self.devices = DeviceTokens(secret, DEVICE_TOKEN_MAX_AGE_S)

    # -- registration and sign-in ------------------------------------------------------------

    async def register(self, *, email: str, password: str, name: str, accept_terms: bool, ip: str) -> User:
        if not accept_terms:
            raise InvalidInput("Accept the terms of service to create an account.", code="terms_not_accepted")
        email = normalize_email(email)
        name = name.strip()
        if not name:
            raise InvalidInput("Enter your name.", code="invalid_name", field="name")
        check_password_rules(password, email=email, name=name)
        await self._limit(self.limits.registrations_per_ip, ip)
        return await self.create_user(email=email, password=password, name=name)

    async def create_user(
        self, *, email: str, password: str | None, name: str, role: Role = Role.USER, email_verified: bool = False
    ) -> User:
        user = User(
            email=normalize_email(email),
            name=name.strip(),
            password_hash=await hash_password(password) if password else None,
            role=role,
            email_verified=email_verified,
        )
        try:
            await user.insert()
        except DuplicateKeyError as exc:
            raise Conflict("An account with this email already exists.", code="email_taken") from exc
        return user

    async def login(
        self, *, email: str, password: str, ip: str, user_agent: str | None, device_token: str | None = None
    ) -> tuple[User, TokenPair]:
        """Check the password under the sign-in throttles (see the module's docstring).
        `device_token` is the browser's `tr_device` cookie, if any."""
        limits = self.limits
        await self._limit(limits.sign_ins_per_ip, ip)
        try:
            email = normalize_email(email)
        except InvalidInput:
            email = email.strip().lower()[:254]
        user = await User.find_one(User.email == email)
        device = self._device_of(device_token, user)
        # Unknown and known emails are throttled alike (by a hash of the email, not the account).
        account = sha256_hex(email)[:32]
        hard_limits: list[tuple[RatePolicy, tuple[str, ...]]]
        account_wide: tuple[RatePolicy, tuple[str, ...]] | None
        if device is not None:  # a known browser: its own failure counter only
            hard_limits = [(limits.sign_in_failures_per_device, (device.device_id,))]
            account_wide = None
        else:
            hard_limits = [
                (limits.sign_in_failures_per_ip, (ip,)),
                (limits.sign_in_failures_per_account_ip, (account, ip)),
            ]
            account_wide = (limits.sign_in_failures_per_account, (account,))
        try:
            # Looking costs nothing; only failures spend from the buckets.
            for policy, subject in hard_limits:
                await self._limit(policy, *subject, cost=0, code="login_throttled")
            if account_wide is not None and not (await self._take(account_wide[0], *account_wide[1], cost=0)).allowed:
                # Guessed at from many places: slowed, never locked (each source waits its own turn).
                await self._limit(limits.slowed_sign_ins, account, ip, code="login_throttled")
        except RateLimited:
            if user is not None:
                await self._notice_throttled(user, ip=ip, known_device=device is not None)
            raise
        valid = await verify_password(password, user.password_hash if user else None)
        if user is None or not valid:
            for policy, subject in [*hard_limits, *([account_wide] if account_wide else [])]:
                await self._take(policy, *subject)
            raise Unauthenticated("The email or password is not correct.", code="invalid_credentials")
        if not user.is_active:
            raise _suspended()
        return user, await self._start_session(user, ip=ip, user_agent=user_agent)

    def _device_of(self, token: str | None, user: User | None) -> Device | None:
        if not token or user is None:
            return None
        return self.devices.verify(token, user_id=str(user.id), epoch=user.session_epoch)

    async def _notice_throttled(self, user: User, *, ip: str, known_device: bool) -> None:
        """Tell the owner (a notice on the dashboard, and a log line): at most once a minute."""
        assert user.id is not None
        if not (await self._take(self.limits.sign_in_throttled_notice, user.id)).allowed:
            return
        log.warning("sign-in throttled", user_id=str(user.id), client_ip=ip, known_device=known_device)
        now = utcnow()
        await SecurityNotice.get_pymongo_collection().update_one(
            {"user_id": user.id, "kind": NoticeKind.SIGN_IN_THROTTLED.value, "open": True},
            {
                "$set": {"last_at": now, "last_ip": ip},
                "$inc": {"occurrences": 1},
                "$setOnInsert": {"first_at": now, "dismissed_at": None},
            },
            upsert=True,
        )

    async def open_notices(self, user_id: PydanticObjectId) -> list[SecurityNotice]:
        return await SecurityNotice.find(SecurityNotice.user_id == user_id, SecurityNotice.open == True).to_list()  # noqa: E712

    async def dismiss_notice(self, user_id: PydanticObjectId, notice_id: str) -> None:
        object_id = parse_object_id(notice_id)
        if object_id is None:
            return
        await SecurityNotice.get_pymongo_collection().update_one(
            {"_id": object_id, "user_id": user_id, "open": True}, {"$set": {"open": False, "dismissed_at": utcnow()}}
        )

    async def _take(self, policy: RatePolicy, *subject: object, cost: float = 1) -> Decision:
        return await self.limiter.take(policy.key(*subject), policy.limit, cost)

    async def _limit(self, policy: RatePolicy, *subject: object, cost: float = 1, code: str = "rate_limited") -> None:
        """Take from the policy's bucket for `subject`, or refuse (the one place sign-in limits refuse)."""
        decision = await self._take(policy, *subject, cost=cost)
        if not decision.allowed:
            raise RateLimited(
                f"Too many attempts; try again in {decision.retry_after_s} s.",
                code=code,
                retry_after=decision.retry_after_s,
            )

    # -- sessions --------------------------------------------------------------------------------

    async def _start_session(self, user: User, *, ip: str | None, user_agent: str | None) -> TokenPair:
        """A new session (refresh family) for a sign-in, with a fresh device token for the browser."""
        refresh = new_token()
        family_id = new_token(12)
        ttl = timedelta(days=self.settings.refresh_token_ttl_days)
        await RefreshToken(
            token_hash=sha256_hex(refresh),
            user_id=user.id,
            family_id=family_id,
            expires_at=utcnow() + ttl,
            ip=ip,
            user_agent=(user_agent or "")[:256] or None,
        ).insert()
        await User.find_one(User.id == user.id).update({"$set": {"last_login_at": utcnow()}})
        return TokenPair(
            access_token=self._access_token(user, family_id),
            refresh_token=refresh,
            expires_in=int(self.tokens.ttl.total_seconds()),
            refresh_expires_in=int(ttl.total_seconds()),
            session_id=family_id,
            csrf_token=self.csrf.issue(session_csrf_binding(family_id)),
            device_token=self.devices.issue(str(user.id), user.session_epoch),
        )

    def _access_token(self, user: User, session_id: str) -> str:
        access, _ = self.tokens.issue(str(user.id), user.role.value, session_id=session_id, epoch=user.session_epoch)
        return access

    async def refresh(self, token: str, *, ip: str | None, user_agent: str | None) -> tuple[User, TokenPair]:
        renewal = await self.renew(token, ip=ip, user_agent=user_agent, reuse_grace_s=0)
        assert renewal.tokens is not None  # without a grace period every success rotates
        return renewal.user, renewal.tokens

    async def renew(self, token: str, *, ip: str | None, user_agent: str | None, reuse_grace_s: float) -> Renewal:
        """Rotate `token` for a new pair. Within `reuse_grace_s` seconds of its rotation, a token
        presented again while its session is alive gets an access token only (no new refresh
        token): two browser tabs renewing at once share one cookie jar, which already holds the
        winner's refresh token. Outside the grace a reused token revokes its whole family."""
        token_hash = sha256_hex(token)
        now = utcnow()
        next_token = new_token()
        # The one conditional update that makes a refresh token single-use.
        used = await RefreshToken.get_pymongo_collection().find_one_and_update(
            {"token_hash": token_hash, "revoked_at": None, "expires_at": {"$gt": now}},
            {"$set": {"revoked_at": now, "replaced_by": sha256_hex(next_token)}},
            return_document=ReturnDocument.BEFORE,
        )
        if used is None:
            known = await RefreshToken.find_one(RefreshToken.token_hash == token_hash)
            if known is not None and known.revoked_at is not None:
                if await self._just_rotated(known, now, reuse_grace_s):
                    user = await self._active_user(known.user_id, known.family_id, now)
                    access = self._access_token(user, known.family_id)
                    return Renewal(user, access, int(self.tokens.ttl.total_seconds()), None)
                await self._end_session(known.user_id, known.family_id, now)
                raise Unauthenticated(
                    "This refresh token was already used; the session has been ended for safety.",
                    code="refresh_token_reused",
                )
            raise Unauthenticated("The refresh token is not valid or has expired.", code="invalid_refresh_token")
        user = await self._active_user(used["user_id"], used["family_id"], now)
        ttl = timedelta(days=self.settings.refresh_token_ttl_days)
        await RefreshToken(
            token_hash=sha256_hex(next_token),
            user_id=user.id,
            family_id=used["family_id"],
            expires_at=now + ttl,
            ip=ip,
            user_agent=(user_agent or "")[:256] or None,
        ).insert()
        family_id = used["family_id"]
        access = self._access_token(user, family_id)
        expires_in = int(self.tokens.ttl.total_seconds())
        pair = TokenPair(
            access_token=access,
            refresh_token=next_token,
            expires_in=expires_in,
            refresh_expires_in=int(ttl.total_seconds()),
            session_id=family_id,
            csrf_token=self.csrf.issue(session_csrf_binding(family_id)),
        )
        return Renewal(user, access, expires_in, pair)

    async def _active_user(self, user_id: PydanticObjectId, family_id: str, now: datetime) -> User:
        user = await User.get(user_id)
        if user is None:
            raise Unauthenticated("The refresh token is not valid or has expired.", code="invalid_refresh_token")
        if not user.is_active:
            await self._end_session(user_id, family_id, now)
            raise _suspended()
        return user

    @staticmethod
    async def _just_rotated(known: RefreshToken, now: datetime, grace_s: float) -> bool:
        """Rotated (not revoked by a sign-out) less than `grace_s` ago, and its session still alive:
        following the rotations from it ends at a live token, or at one still being written (the
        concurrent rotation revokes the old token before it inserts the new one)."""
        if grace_s <= 0 or known.revoked_at is None or known.replaced_by is None:
            return False
        revoked_at = known.revoked_at if known.revoked_at.tzinfo else known.revoked_at.replace(tzinfo=UTC)
        if (now - revoked_at).total_seconds() > grace_s:
            return False
        successor_hash: str | None = known.replaced_by
        for _ in range(MAX_ROTATIONS_FOLLOWED):
            successor = await RefreshToken.find_one(RefreshToken.token_hash == successor_hash)
            if successor is None or successor.revoked_at is None:
                return True
            if successor.replaced_by is None:  # revoked by a sign-out or a detected reuse
                return False
            successor_hash = successor.replaced_by
        return False

    async def logout(self, token: str) -> None:
        """End the session the refresh token belongs to (its whole family, and its access tokens)."""
        known = await RefreshToken.find_one(RefreshToken.token_hash == sha256_hex(token))
        if known is not None:
            await self._end_session(known.user_id, known.family_id, utcnow())

    async def session_id_of(self, refresh_token: str) -> str | None:
        """The session a refresh token belongs to (binds the CSRF token of a page without an access token)."""
        known = await RefreshToken.find_one(RefreshToken.token_hash == sha256_hex(refresh_token))
        return known.family_id if known is not None else None

    async def _end_session(self, user_id: PydanticObjectId, family_id: str, now: datetime) -> None:
        """Revoke the family's refresh tokens and list the session as ended on the user, until its
        last access token would have expired anyway (older entries are dropped as new ones come)."""
        await RefreshToken.get_pymongo_collection().update_many(
            {"family_id": family_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
        )
        user = await User.get(user_id)
        if user is None:
            return
        expired = [sid for sid, until in user.ended_sessions.items() if _aware(until) < now]
        update: dict[str, Any] = {"$set": {f"ended_sessions.{family_id}": now + self.tokens.ttl}}
        if expired:
            update["$unset"] = {f"ended_sessions.{sid}": "" for sid in expired}
        await User.get_pymongo_collection().update_one({"_id": user_id}, update)

    async def revoke_all_sessions(self, user_id: PydanticObjectId) -> int:
        """End every session of the account, access tokens included (the session epoch moves on).
        Returns the new epoch."""
        now = utcnow()
        await RefreshToken.get_pymongo_collection().update_many(
            {"user_id": user_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
        )
        updated = await User.get_pymongo_collection().find_one_and_update(
            {"_id": user_id},
            {"$inc": {"session_epoch": 1}, "$set": {"ended_sessions": {}, "updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return int(updated["session_epoch"]) if updated else 0

    async def session_for_access_token(self, token: str) -> SessionAuth:
        """The hot path of every session request: one JWT check and one read of the user by id,
        which also carries what ends sessions (suspension, epoch, ended sessions)."""
        claims = self.tokens.verify(token)
        user_id = parse_object_id(claims.user_id)
        user = await User.get(user_id) if user_id else None
        if user is None:
            raise Unauthenticated("The access token is not valid.", code="invalid_token")
        if not user.is_active:
            raise _suspended()
        if claims.epoch != user.session_epoch or claims.session_id in user.ended_sessions:
            raise Unauthenticated("This session has ended; sign in again.", code="session_ended")
        return SessionAuth(user=user, session_id=claims.session_id)

    async def user_for_access_token(self, token: str) -> User:
        return (await self.session_for_access_token(token)).user

    # -- profile and password --------------------------------------------------------------------

    async def update_profile(self, user: User, *, name: str) -> User:
        name = name.strip()
        if not name or len(name) > 100:
            raise InvalidInput("Enter a name of 1 to 100 characters.", code="invalid_name", field="name")
        await User.find_one(User.id == user.id).update({"$set": {"name": name, "updated_at": utcnow()}})
        user.name = name
        return user

    async def change_password(
        self, user: User, *, current_password: str, new_password: str, ip: str | None, user_agent: str | None
    ) -> TokenPair:
        """Set a new password (the current one is required when there is one) and end every other
        session: all refresh tokens are revoked, and a fresh session is returned for the caller."""
        failures = self.limits.password_change_failures
        await self._limit(failures, user.id, cost=0, code="password_change_throttled")
        if user.password_hash is not None and not await verify_password(current_password, user.password_hash):
            await self._take(failures, user.id)
            raise InvalidInput(
                "The current password is not correct.", code="wrong_current_password", field="current_password"
            )
        check_password_rules(new_password, email=user.email, name=user.name)
        if user.password_hash is not None and current_password == new_password:
            raise InvalidInput(
                "Choose a password different from the current one.", code="password_unchanged", field="new_password"
            )
        password_hash = await hash_password(new_password)
        await User.find_one(User.id == user.id).update(
            {"$set": {"password_hash": password_hash, "updated_at": utcnow()}}
        )
        user.password_hash = password_hash
        assert user.id is not None
        user.session_epoch = await self.revoke_all_sessions(user.id)
        return await self._start_session(user, ip=ip, user_agent=user_agent)

    # -- Google ------------------------------------------------------------------------------------

    async def sign_in_with_google(
        self, *, sub: str, email: str, email_verified: bool, name: str, ip: str | None, user_agent: str | None
    ) -> tuple[User, TokenPair]:
        """Find the account by Google subject, else link by verified email, else create one."""
        user = await User.find_one(User.google_sub == sub)
        if user is None:
            email = normalize_email(email)
            existing = await User.find_one(User.email == email)
            if existing is not None:
                if not email_verified:
                    raise Conflict(
                        "Google has not verified this email; sign in with your password instead.",
                        code="email_not_verified",
                    )
                # Link only an account with no Google identity yet (one conditional update).
                await User.get_pymongo_collection().update_one(
                    {"_id": existing.id, "google_sub": None},
                    {"$set": {"google_sub": sub, "email_verified": True, "updated_at": utcnow()}},
                )
                user = await User.get(existing.id)
                if user is None or user.google_sub != sub:
                    raise Conflict("This account is linked to another Google account.", code="google_account_conflict")
            else:
                user = User(
                    email=email,
                    name=name.strip() or email.split("@", 1)[0],
                    auth_provider=AuthProvider.GOOGLE,
                    google_sub=sub,
                    email_verified=email_verified,
                )
                try:
                    await user.insert()
                except DuplicateKeyError as exc:
                    raise Conflict("An account with this email already exists.", code="email_taken") from exc
        if not user.is_active:
            raise _suspended()
        return user, await self._start_session(user, ip=ip, user_agent=user_agent)

    async def set_status(self, user_id: PydanticObjectId, status: UserStatus) -> None:
        await User.find_one(User.id == user_id).update({"$set": {"status": status, "updated_at": utcnow()}})
        if status == UserStatus.SUSPENDED:
            await self.revoke_all_sessions(user_id)


class ApiKeyService:
    """API keys. Authentication is the hot path of every merchant call: a key's lookup (key and
    account) is kept in process memory for `cache_ttl_s` seconds. Revoking, regenerating or a
    balance change made in this process evict it at once; other changes (a suspension), and any
    change made by another process, are seen within `cache_ttl_s` (2 s by default)."""

    def __init__(self, redis: Redis, limiter: RateLimiter, cache_ttl_s: float = 2.0) -> None:
        self.redis = redis
        self.limiter = LeasedRateLimiter(limiter)
        self.cache_ttl_s = cache_ttl_s
        self._cache: dict[str, tuple[float, ApiKey, User]] = {}
        self._known_origins: dict[str, tuple[float, bool]] = {}
        self._loading: dict[str, asyncio.Future[tuple[ApiKey, User]]] = {}
        self._touched: dict[str, float] = {}

    @staticmethod
    def _mint(kind: ApiKeyKind) -> tuple[str, str, str]:
        key = KEY_PREFIXES[kind] + new_token(32)
        return key, sha256_hex(key), key[:12] + "…"

    async def generate(
        self,
        user: User,
        *,
        name: str,
        kind: ApiKeyKind,
        allowed_origins: list[str],
        shopper_daily_limit: int | None = None,
        ip_daily_limit: int | None = None,
    ) -> tuple[ApiKey, str]:
        name = _key_name(name)
        origins = validate_origins(kind, allowed_origins)
        if await ApiKey.find(ApiKey.user_id == user.id).count() >= MAX_KEYS_PER_ACCOUNT:
            raise Conflict(f"An account can have at most {MAX_KEYS_PER_ACCOUNT} keys.", code="too_many_keys")
        key, key_hash, prefix = self._mint(kind)
        api_key = ApiKey(
            user_id=user.id,
            name=name,
            kind=kind,
            key_hash=key_hash,
            display_prefix=prefix,
            allowed_origins=origins,
            shopper_daily_limit=_daily_limit(shopper_daily_limit, "shopper_daily_limit"),
            ip_daily_limit=_daily_limit(ip_daily_limit, "ip_daily_limit"),
        )
        await api_key.insert()
        self._known_origins.clear()
        return api_key, key

    async def update(self, user: User, key_id: str, changes: dict[str, Any]) -> ApiKey:
        """Rename a key, change its allowed origins or its shopper limits (None: the defaults)."""
        key = await self._owned(user, key_id)
        values: dict[str, Any] = {}
        if "name" in changes:
            values["name"] = _key_name(changes["name"])
        if "allowed_origins" in changes:
            values["allowed_origins"] = validate_origins(key.kind, changes["allowed_origins"])
        for field in ("shopper_daily_limit", "ip_daily_limit"):
            if field in changes:
                values[field] = _daily_limit(changes[field], field)
        if values:
            await ApiKey.get_pymongo_collection().update_one({"_id": key.id}, {"$set": values})
            self.forget_key(key.key_hash)
            self._known_origins.clear()
        return await self._owned(user, key_id)

    async def origin_allowed_anywhere(self, origin: str) -> bool:
        """Whether some publishable key allows `origin` (answers CORS preflights, which carry no key)."""
        cached = self._known_origins.get(origin)
        if cached is not None and time.monotonic() - cached[0] < max(self.cache_ttl_s, 1.0):
            return cached[1]
        found = await ApiKey.find_one({"kind": ApiKeyKind.PUBLISHABLE.value, "allowed_origins": origin}) is not None
        if len(self._known_origins) > 10_000:
            self._known_origins.clear()
        self._known_origins[origin] = (time.monotonic(), found)
        return found

    async def list_for(self, user: User) -> list[ApiKey]:
        keys = await ApiKey.find(ApiKey.user_id == user.id).sort([("created_at", SortDirection.DESCENDING)]).to_list()
        await self._merge_last_used(keys)
        return keys

    async def _owned(self, user: User, key_id: str) -> ApiKey:
        object_id = parse_object_id(key_id)
        key = await ApiKey.find_one(ApiKey.id == object_id, ApiKey.user_id == user.id) if object_id else None
        if key is None:
            # Another account's key and a missing key look the same.
            raise NotFound("No such API key.", code="api_key_not_found")
        return key

    async def delete(self, user: User, key_id: str) -> None:
        key = await self._owned(user, key_id)
        await key.delete()
        self.forget_key(key.key_hash)
        self._known_origins.clear()
        await self.redis.hdel(LAST_USED_KEY, str(key.id))

    async def regenerate(self, user: User, key_id: str) -> tuple[ApiKey, str]:
        """A new secret for the same key (name, kind, origins); the old secret stops working at once."""
        existing = await self._owned(user, key_id)
        key, key_hash, prefix = self._mint(existing.kind)
        updated = await ApiKey.get_pymongo_collection().find_one_and_update(
            {"_id": existing.id, "key_hash": existing.key_hash},
            {"$set": {"key_hash": key_hash, "display_prefix": prefix, "rotated_at": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )
        if updated is None:
            raise Conflict("The key changed while regenerating; try again.", code="concurrent_update")
        self.forget_key(existing.key_hash)
        refreshed = await ApiKey.get(existing.id)
        assert refreshed is not None
        return refreshed, key

    async def authenticate(self, key: str) -> tuple[ApiKey, User]:
        key_hash = sha256_hex(key)
        cached = self._cache.get(key_hash)
        if cached is not None and time.monotonic() - cached[0] < self.cache_ttl_s:
            return cached[1], cached[2]
        # One lookup per key at a time: when the cached entry expires under load, the concurrent
        # requests of that key wait for the same read instead of each querying the database.
        pending = self._loading.get(key_hash)
        if pending is not None:
            return await asyncio.shield(pending)
        loading: asyncio.Future[tuple[ApiKey, User]] = asyncio.get_running_loop().create_future()
        self._loading[key_hash] = loading
        try:
            found = await self._lookup(key_hash)
        except asyncio.CancelledError:
            loading.cancel()
            raise
        except BaseException as exc:
            loading.set_exception(exc)
            loading.exception()  # waiters (if any) re-raise it; nobody else needs to see it
            raise
        else:
            loading.set_result(found)
            return found
        finally:
            del self._loading[key_hash]

    async def _lookup(self, key_hash: str) -> tuple[ApiKey, User]:
        api_key = await ApiKey.find_one(ApiKey.key_hash == key_hash)
        if api_key is None:
            raise Unauthenticated("The API key is not valid or has been revoked.", code="invalid_api_key")
        user = await User.get(api_key.user_id)
        if user is None:
            raise Unauthenticated("The API key is not valid or has been revoked.", code="invalid_api_key")
        if not user.is_active:
            raise _suspended()
        if self.cache_ttl_s > 0:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_hash] = (time.monotonic(), api_key, user)
        return api_key, user

    def forget_key(self, key_hash: str) -> None:
        self._cache.pop(key_hash, None)

    def forget_user(self, user_id: PydanticObjectId) -> None:
        """Drop the cached lookups of an account (its balance or status changed)."""
        for key_hash in [h for h, (_, _, user) in self._cache.items() if user.id == user_id]:
            self._cache.pop(key_hash, None)

    async def touch(self, api_key: ApiKey) -> None:
        """Note that the key was used; at most every 10 s per key and process (minute precision suffices)."""
        key_id = str(api_key.id)
        now = time.monotonic()
        if now - self._touched.get(key_id, -60.0) < 10:
            return
        self._touched[key_id] = now
        await self.redis.hset(LAST_USED_KEY, key_id, repr(time.time()))

    async def _merge_last_used(self, keys: list[ApiKey]) -> None:
        if not keys:
            return
        values = await self.redis.hmget(LAST_USED_KEY, [str(k.id) for k in keys])
        for key, value in zip(keys, values, strict=True):
            if value is not None:
                key.last_used_at = datetime.fromtimestamp(float(value), UTC)

    async def flush_last_used(self) -> int:
        """Write the collected last-used times to the database (run by cron). Returns keys written."""
        entries = await self.redis.hgetall(LAST_USED_KEY)
        written = 0
        for raw_id, raw_ts in entries.items():
            object_id = parse_object_id(raw_id.decode() if isinstance(raw_id, bytes) else raw_id)
            if object_id is None:
                continue
            when = datetime.fromtimestamp(float(raw_ts), UTC)
            await ApiKey.get_pymongo_collection().update_one(
                {"_id": object_id, "$or": [{"last_used_at": None}, {"last_used_at": {"$lt": when}}]},
                {"$set": {"last_used_at": when}},
            )
            written += 1
        return written


def _key_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 80:
        raise InvalidInput("Give the key a name of 1 to 80 characters.", code="invalid_name", field="name")
    return name


def _daily_limit(value: int | None, field: str) -> int | None:
    if value is not None and not 1 <= value <= 100_000:
        raise InvalidInput(
            "A daily limit is 1 to 100000 try-ons (or null for the default).", code="invalid_limit", field=field
        )
    return value


def validate_origins(kind: ApiKeyKind, origins: list[str]) -> list[str]:
    """Publishable keys need exact origins (`https://shop.example`); secret keys take none."""
    if kind == ApiKeyKind.SECRET:
        if origins:
            raise InvalidInput(
                "Secret keys are for servers and take no allowed origins.",
                code="invalid_origins",
                field="allowed_origins",
            )
        return []
    if not origins:
        raise InvalidInput(
            "A publishable key needs at least one allowed origin, like https://shop.example.",
            code="invalid_origins",
            field="allowed_origins",
        )
    if len(origins) > 20:
        raise InvalidInput("At most 20 allowed origins.", code="invalid_origins", field="allowed_origins")
    cleaned = []
    for origin in origins:
        parts = urlsplit(origin.strip())
        local = parts.hostname in {"localhost", "127.0.0.1"}
        if (
            parts.scheme not in ({"https", "http"} if local else {"https"})
            or not parts.hostname
            or parts.path not in {"", "/"}
            or parts.query
            or parts.fragment
            or parts.username
        ):
            raise InvalidInput(
                f"{origin!r} is not an origin: use https://host[:port] (http only for localhost).",
                code="invalid_origins",
                field="allowed_origins",
            )
        cleaned.append(f"{parts.scheme}://{parts.netloc.lower()}")
    return sorted(set(cleaned))
