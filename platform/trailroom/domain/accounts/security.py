"""Password hashing and rules, access tokens (JWT), signed CSRF and device tokens, secret generation.

bcrypt works on at most 72 bytes, so passwords are first reduced to a fixed 44-byte string
(base64 of their SHA-256): long passphrases keep all their strength and nothing is truncated.
Hashing costs ~0.2 s of CPU at cost 12 and always runs off the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import bcrypt
import jwt

from trailroom.core.clock import utcnow
from trailroom.core.errors import InvalidInput, Unauthenticated

BCRYPT_COST = 12
JWT_ALGORITHM = "HS256"
JWT_ISSUER = "trailroom"
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256

# The most common passwords that still pass the length and character rules.
_COMMON_PASSWORDS = frozenset(
    {
        "password123",
        "password1!",
        "qwerty1234",
        "1234567890a",
        "iloveyou123",
        "welcome123",
        "letmein123",
        "administrator1",
        "passw0rd123",
        "changeme123",
        "trailroom123",
        "abc1234567",
    }
)


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode()).digest())


def _hash_sync(password: str, cost: int) -> str:
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds=cost)).decode()


def _verify_sync(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(_prehash(password), password_hash.encode())
    except ValueError:
        return False


# A valid hash to verify against when the account does not exist, so both cases cost the same.
_DUMMY_HASH = _hash_sync(secrets.token_urlsafe(16), 4).replace("$2b$04$", f"$2b${BCRYPT_COST}$", 1)


async def hash_password(password: str, cost: int = BCRYPT_COST) -> str:
    return await asyncio.to_thread(_hash_sync, password, cost)


async def verify_password(password: str, password_hash: str | None) -> bool:
    return await asyncio.to_thread(_verify_sync, password, password_hash or _DUMMY_HASH)


def check_password_rules(password: str, *, email: str = "", name: str = "") -> None:
    """Raise InvalidInput naming the first rule the password breaks."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"at most {MAX_PASSWORD_LENGTH} characters")
    if not any(c.isalpha() for c in password):
        problems.append("a letter")
    if not any(not c.isalpha() for c in password):
        problems.append("a digit or a symbol")
    if problems:
        raise InvalidInput("The password needs " + ", ".join(problems) + ".", code="weak_password", field="password")
    lowered = password.lower()
    local_part = email.split("@", 1)[0].lower()
    if lowered in _COMMON_PASSWORDS or len(set(lowered)) < 4:
        raise InvalidInput("This password is too common or too simple.", code="weak_password", field="password")
    if len(local_part) >= 4 and local_part in lowered:
        raise InvalidInput("The password must not contain your email address.", code="weak_password", field="password")
    if name and len(name) >= 4 and name.lower() in lowered:
        raise InvalidInput("The password must not contain your name.", code="weak_password", field="password")


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    role: str
    expires_at: datetime
    session_id: str  # the refresh-token family the token was issued for
    epoch: int  # the user's session epoch when it was issued (a password change moves it on)


class AccessTokens:
    """Short-lived HS256 access tokens. Only HS256 is accepted: `alg: none` and key confusion fail."""

    def __init__(self, secret: str, ttl: timedelta) -> None:
        self._secret = secret
        self.ttl = ttl

    def issue(
        self, user_id: str, role: str, *, session_id: str, epoch: int, now: datetime | None = None
    ) -> tuple[str, datetime]:
        issued = now or utcnow()
        expires = issued + self.ttl
        claims: dict[str, Any] = {
            "sub": user_id,
            "role": role,
            "sid": session_id,
            "sep": epoch,
            "typ": "access",
            "iss": JWT_ISSUER,
            "iat": int(issued.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self._secret, algorithm=JWT_ALGORITHM), expires

    def verify(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[JWT_ALGORITHM],
                issuer=JWT_ISSUER,
                options={"require": ["sub", "exp", "iat", "iss", "typ", "sid", "sep"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("The access token has expired; refresh it.", code="token_expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("The access token is not valid.", code="invalid_token") from exc
        if claims.get("typ") != "access" or not isinstance(claims["sep"], int):
            raise Unauthenticated("The access token is not valid.", code="invalid_token")
        return AccessClaims(
            user_id=str(claims["sub"]),
            role=str(claims.get("role", "user")),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            session_id=str(claims["sid"]),
            epoch=claims["sep"],
        )


def _derived_key(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"trailroom-{purpose}:".encode() + secret.encode()).digest()


def _mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:32]


ANONYMOUS_CSRF = "anonymous"


def session_csrf_binding(session_id: str) -> str:
    return f"session:{session_id}"


class CsrfTokens:
    """CSRF tokens bound to what they protect: `<nonce>.<HMAC(binding, nonce)>` with the app secret.

    A signed-in browser's token is bound to its session (the refresh-token family, which survives
    renewals); before sign-in it is bound to "anonymous". A cookie planted by another site or a
    sibling subdomain (cookie tossing) carries a token the server did not issue for this session,
    so it fails even when the form field matches it."""

    def __init__(self, secret: str) -> None:
        self._key = _derived_key(secret, "csrf")

    def issue(self, binding: str) -> str:
        nonce = new_token(18)
        return f"{nonce}.{_mac(self._key, f'{binding}|{nonce}')}"

    def valid_for(self, token: str | None, binding: str) -> bool:
        nonce, _, mac = (token or "").partition(".")
        return bool(nonce and mac) and hmac.compare_digest(mac, _mac(self._key, f"{binding}|{nonce}"))

    def matches(self, cookie: str | None, presented: str | None, binding: str) -> bool:
        """The double-submitted token (form field or header) equals the cookie, and the server
        issued it for this binding."""
        return (
            bool(cookie and presented)
            and hmac.compare_digest(str(cookie), str(presented))
            and self.valid_for(cookie, binding)
        )


@dataclass(frozen=True)
class Device:
    """A browser that signed in to an account before (its `tr_device` cookie checked out)."""

    device_id: str
    user_id: str


class DeviceTokens:
    """The `tr_device` cookie: `<user id>.<session epoch>.<device id>.<issued unix time>.<HMAC>`.

    It names the account it signed in to and the account's session epoch, so it is worthless for
    any other account and dies with a password change; a new one (new device id) is issued on
    every sign-in."""

    def __init__(self, secret: str, max_age_s: int) -> None:
        self._key = _derived_key(secret, "device")
        self.max_age_s = max_age_s

    def issue(self, user_id: str, epoch: int, *, now: float | None = None) -> str:
        body = f"{user_id}.{epoch}.{new_token(12)}.{int(now if now is not None else time.time())}"
        return f"{body}.{_mac(self._key, body)}"

    def verify(self, token: str | None, *, user_id: str, epoch: int, now: float | None = None) -> Device | None:
        parts = (token or "").split(".")
        if len(parts) != 5:
            return None
        body, mac = ".".join(parts[:4]), parts[4]
        if not hmac.compare_digest(mac, _mac(self._key, body)):
            return None
        token_user, token_epoch, device_id, issued = parts[:4]
        if token_user != user_id or token_epoch != str(epoch) or not issued.isdigit():
            return None
        if (now if now is not None else time.time()) - int(issued) > self.max_age_s:
            return None
        return Device(device_id=device_id, user_id=user_id)
