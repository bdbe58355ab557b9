"""Password hashing and rules, access tokens (JWT) and secret generation.

bcrypt works on at most 72 bytes, so passwords are first reduced to a fixed 44-byte string
(base64 of their SHA-256): long passphrases keep all their strength and nothing is truncated.
Hashing costs ~0.2 s of CPU at cost 12 and always runs off the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import bcrypt
import jwt

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


class AccessTokens:
    """Short-lived HS256 access tokens. Only HS256 is accepted: `alg: none` and key confusion fail."""

    def __init__(self, secret: str, ttl: timedelta) -> None:
        self._secret = secret
        self.ttl = ttl

    def issue(self, user_id: str, role: str, *, now: datetime | None = None) -> tuple[str, datetime]:
        issued = now or datetime.now(UTC)
        expires = issued + self.ttl
        claims: dict[str, Any] = {
            "sub": user_id,
            "role": role,
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
                options={"require": ["sub", "exp", "iat", "iss", "typ"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("The access token has expired; refresh it.", code="token_expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("The access token is not valid.", code="invalid_token") from exc
        if claims.get("typ") != "access":
            raise Unauthenticated("The access token is not valid.", code="invalid_token")
        return AccessClaims(
            user_id=str(claims["sub"]),
            role=str(claims.get("role", "user")),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )
