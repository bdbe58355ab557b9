"""A local OpenID Connect provider that speaks Google's HTTP protocol: discovery, authorize,
token (with PKCE S256 and client authentication) and JWKS, issuing RS256-signed ID tokens.

Tests choose who "signs in" by setting `provider.identity` before the browser step."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar import Litestar, Request, Response, get, post
from litestar.params import URLEncodedBody
from litestar.response import Redirect

CLIENT_ID = "trailroom-test-client.apps.example"
CLIENT_SECRET = "test-client-secret"


@dataclass
class OIDCProvider:
    issuer: str
    identity: dict[str, Any] = field(default_factory=dict)
    # Switches for tests of a misbehaving provider.
    sign_with_unknown_key: bool = False
    wrong_audience: bool = False
    wrong_nonce: bool = False
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: int = 0

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"

    def jwks(self) -> dict[str, Any]:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        public.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [public]}

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": "someone-else" if self.wrong_audience else CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": "not-the-nonce" if self.wrong_nonce else nonce,
            **self.identity,
        }
        key = self.other_key if self.sign_with_unknown_key else self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})

    def app(self) -> Litestar:
        provider = self

        @get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": provider.issuer,
                "authorization_endpoint": f"{provider.issuer}/authorize",
                "token_endpoint": f"{provider.issuer}/token",
                "jwks_uri": f"{provider.issuer}/jwks",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }

        @get("/authorize")
        async def authorize(request: Request[Any, Any, Any]) -> Response[Any]:
            q = request.query_params
            if q.get("client_id") != CLIENT_ID or q.get("code_challenge_method") != "S256":
                return Response({"error": "invalid_request"}, status_code=400)
            for required in ("state", "nonce", "code_challenge", "redirect_uri"):
                if not q.get(required):
                    return Response({"error": "invalid_request", "missing": required}, status_code=400)
            code = secrets.token_urlsafe(16)
            provider.codes[code] = {
                "challenge": q["code_challenge"],
                "redirect_uri": q["redirect_uri"],
                "nonce": q["nonce"],
            }
            return Redirect(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}")

        @post("/token", status_code=200)
        async def token(data: URLEncodedBody[dict[str, str]]) -> Response[Any]:
            provider.token_requests += 1
            if data.get("client_id") != CLIENT_ID or data.get("client_secret") != CLIENT_SECRET:
                return Response({"error": "invalid_client"}, status_code=401)
            grant = provider.codes.pop(data.get("code", ""), None)  # codes are single-use
            if grant is None or data.get("redirect_uri") != grant["redirect_uri"]:
                return Response({"error": "invalid_grant"}, status_code=400)
            digest = hashlib.sha256(data.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
                return Response({"error": "invalid_grant", "error_description": "PKCE"}, status_code=400)
            return Response(
                {
                    "access_token": secrets.token_urlsafe(16),
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "id_token": provider.id_token(grant["nonce"]),
                }
            )

        @get("/jwks")
        async def jwks() -> dict[str, Any]:
            return provider.jwks()

        return Litestar([discovery, authorize, token, jwks], logging_config=None)
