"""Verification of what Saleor signs with its RS256 keys (published as the shop's JWKS):

- webhook bodies: `saleor-signature` is a JWS with a detached payload (RFC 7797, `b64: false`, the
  raw body is the signed content), the way Saleor's `jws_encode` makes it with PyJWT;
- dashboard user tokens (`authorization-bearer`, handed to the app's page by the dashboard): JWTs
  whose `app` claim is our app id and `user_permissions` the staff user's permissions.

The JWKS is cached in the APL; a `kid` it does not hold (Saleor rotated its key) triggers one
refetch, at most once per shop per `min_refresh_s`, so forged kids cannot make the app hammer Saleor.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt
from jwt import PyJWK, PyJWKSet, api_jws
from jwt.exceptions import InvalidTokenError, PyJWKError, PyJWKSetError

from trailroom_saleor.apl import APL, AuthData
from trailroom_saleor.saleor import SaleorClient, SaleorError

ALGORITHMS = ["RS256"]


class SignatureError(Exception):
    """The signature or token does not verify; the message says why (safe to answer)."""


class MissingPermissions(SignatureError):
    """A valid dashboard token whose user lacks a permission the route needs."""


def _key(jwks: str, kid: str) -> PyJWK | None:
    try:
        keys = PyJWKSet.from_dict(json.loads(jwks))
    except (ValueError, PyJWKError, PyJWKSetError):
        return None
    try:
        return keys[kid]
    except KeyError:
        return None


class JWKSVerifier:
    def __init__(
        self, apl: APL, saleor: SaleorClient, min_refresh_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.apl = apl
        self.saleor = saleor
        self.min_refresh_s = min_refresh_s
        self.clock = clock
        self._last_refresh: dict[str, float] = {}
        self._lock = threading.Lock()

    def key_for(self, auth: AuthData, kid: Any) -> PyJWK:
        """The shop's public key `kid`, refetching the JWKS once when the cached one lacks it."""
        if not isinstance(kid, str) or not kid:
            raise SignatureError("the signature names no key (kid)")
        key = _key(auth.jwks, kid)
        if key is not None:
            return key
        with self._lock:
            now = self.clock()
            last = self._last_refresh.get(auth.saleor_api_url)
            if last is not None and now - last < self.min_refresh_s:
                raise SignatureError("the signature's key is not one of the shop's keys")
            self._last_refresh[auth.saleor_api_url] = now
        try:
            jwks = self.saleor.fetch_jwks(auth.saleor_api_url)
        except SaleorError as exc:
            raise SignatureError("the signature's key is unknown and the shop's keys could not be fetched") from exc
        key = _key(jwks, kid)
        if key is None:
            raise SignatureError("the signature's key is not one of the shop's keys")
        self.apl.update_jwks(auth.saleor_api_url, jwks)
        return key

    def verify_webhook(self, auth: AuthData, signature: str, body: bytes) -> None:
        """Check `saleor-signature` (detached JWS) over the raw `body`."""
        try:
            header = api_jws.get_unverified_header(signature)
        except InvalidTokenError as exc:
            raise SignatureError("saleor-signature is not a JWS") from exc
        if header.get("alg") not in ALGORITHMS:
            raise SignatureError("saleor-signature must be RS256")
        key = self.key_for(auth, header.get("kid"))
        try:
            if header.get("b64", True) is False:
                api_jws.decode(signature, key=key, algorithms=ALGORITHMS, detached_payload=body)
            else:  # a detached JWS without RFC 7797: the payload segment is the base64url body
                protected, _, signed = signature.split(".")
                encoded = jwt.utils.base64url_encode(body).decode()
                api_jws.decode(f"{protected}.{encoded}.{signed}", key=key, algorithms=ALGORITHMS)
        except (InvalidTokenError, ValueError) as exc:
            raise SignatureError("saleor-signature does not match the body") from exc

    def verify_dashboard_token(
        self, auth: AuthData, token: str, required_permissions: tuple[str, ...]
    ) -> dict[str, Any]:
        """The claims of a dashboard user token for this installation with the required permissions."""
        try:
            header = jwt.get_unverified_header(token)
        except InvalidTokenError as exc:
            raise SignatureError("the dashboard token is not a JWT") from exc
        key = self.key_for(auth, header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key=key, algorithms=ALGORITHMS, options={"require": ["exp"], "verify_aud": False}
            )
        except InvalidTokenError as exc:
            raise SignatureError(f"the dashboard token does not verify: {exc}") from exc
        if claims.get("app") != auth.app_id:
            raise SignatureError("the dashboard token was issued for another app")
        granted = claims.get("user_permissions")
        if not isinstance(granted, list) or not set(required_permissions) <= set(granted):
            raise MissingPermissions(f"the dashboard user needs the {', '.join(required_permissions)} permission")
        return claims
