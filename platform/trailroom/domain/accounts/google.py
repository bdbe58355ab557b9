"""Google sign-in (OpenID Connect, authorization code flow with state, PKCE and nonce).

Authlib supplies the protocol pieces (tokens, PKCE challenge, URL building); the ID token is
verified with PyJWT against the provider's JWKS. The pending sign-in (nonce, PKCE verifier) is
kept in Redis under its state for ten minutes and can be completed once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from redis.asyncio import Redis

from trailroom.core.config import Settings
from trailroom.core.errors import NotFound, ServiceUnavailable, Unauthenticated
from trailroom.core.paths import safe_next

PENDING_TTL_S = 600
_GOOGLE_ISSUERS = {"https://accounts.google.com", "accounts.google.com"}


@dataclass(frozen=True)
class GoogleIdentity:
    sub: str
    email: str
    email_verified: bool
    name: str
    after: str  # the same-site path the browser asked to come back to


def _rejected(detail: str) -> Unauthenticated:
    return Unauthenticated(detail, code="google_sign_in_failed")


class GoogleSignIn:
    def __init__(self, settings: Settings, redis: Redis, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.redis = redis
        self.http = http
        self._metadata: dict[str, Any] | None = None

    def ensure_enabled(self) -> None:
        if not self.settings.google_enabled:
            raise NotFound("Google sign-in is not configured on this server.", code="google_not_configured")

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self.http.get(url, timeout=10)
            response.raise_for_status()
            data: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ServiceUnavailable(f"Google sign-in is unavailable right now ({exc}).") from exc
        return data

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            self._metadata = await self._get_json(self.settings.google_discovery_url)
        return self._metadata

    async def begin(self, redirect_uri: str, after: str | None = None) -> tuple[str, str]:
        """The provider URL to send the browser to, and the state to bind to the browser. `after` is
        where the browser goes once signed in (a same-site path; anything else means the dashboard)."""
        self.ensure_enabled()
        meta = await self.metadata()
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        pending = {"nonce": nonce, "verifier": verifier, "redirect_uri": redirect_uri, "after": safe_next(after)}
        await self.redis.set(f"trailroom:oauth:google:{state}", json.dumps(pending), ex=PENDING_TTL_S)
        url = add_params_to_uri(
            meta["authorization_endpoint"],
            [
                ("response_type", "code"),
                ("client_id", self.settings.google_client_id),
                ("redirect_uri", redirect_uri),
                ("scope", "openid email profile"),
                ("state", state),
                ("nonce", nonce),
                ("code_challenge", create_s256_code_challenge(verifier)),
                ("code_challenge_method", "S256"),
                ("prompt", "select_account"),
            ],
        )
        return url, state

    async def complete(self, *, code: str, state: str) -> GoogleIdentity:
        self.ensure_enabled()
        raw = await self.redis.getdel(f"trailroom:oauth:google:{state}")
        if raw is None:
            raise _rejected("The sign-in attempt expired or was already used; start again.")
        pending = json.loads(raw)
        meta = await self.metadata()
        try:
            response = await self.http.post(
                meta["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": pending["redirect_uri"],
                    "client_id": self.settings.google_client_id,
                    "client_secret": self.settings.google_client_secret,
                    "code_verifier": pending["verifier"],
                },
                headers={"Accept": "application/json"},
                timeout=10,
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"Google sign-in is unavailable right now ({exc}).") from exc
        if response.status_code != 200:
            raise _rejected("Google did not accept the sign-in code.")
        id_token = response.json().get("id_token")
        if not isinstance(id_token, str):
            raise _rejected("Google returned no ID token.")
        claims = await self._verify_id_token(id_token, meta)
        if claims.get("nonce") != pending["nonce"]:
            raise _rejected("The ID token does not belong to this sign-in attempt.")
        email = claims.get("email")
        if not isinstance(email, str):
            raise _rejected("Google did not share an email address.")
        return GoogleIdentity(
            sub=str(claims["sub"]),
            email=email,
            email_verified=bool(claims.get("email_verified")),
            name=str(claims.get("name") or ""),
            after=safe_next(pending.get("after")),
        )

    async def _verify_id_token(self, id_token: str, meta: dict[str, Any]) -> dict[str, Any]:
        jwks = jwt.PyJWKSet.from_dict(await self._get_json(meta["jwks_uri"]))
        try:
            header = jwt.get_unverified_header(id_token)
            key = next(k for k in jwks.keys if k.key_id == header.get("kid"))
        except (jwt.PyJWTError, StopIteration) as exc:
            raise _rejected("The ID token is not signed by a known key.") from exc
        issuers = _GOOGLE_ISSUERS if meta["issuer"] in _GOOGLE_ISSUERS else {meta["issuer"]}
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key=key.key,
                algorithms=["RS256"],
                audience=self.settings.google_client_id,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise _rejected(f"The ID token is not valid ({exc}).") from exc
        if claims["iss"] not in issuers:
            raise _rejected("The ID token comes from an unexpected issuer.")
        return claims
