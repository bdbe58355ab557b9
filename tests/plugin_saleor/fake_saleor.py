"""A local Saleor for the Saleor app's tests, served over loopback HTTP: `/.well-known/jwks.json`,
and a `/graphql/` endpoint that answers the app's operations (`app { id }`, `product`,
`updateMetadata`, `deleteMetadata`) the way Saleor does, checking the app token. It signs webhook
bodies and dashboard tokens with its RSA key, exactly as Saleor's `jws_encode`/`jwt_encode` do."""

from __future__ import annotations

import html
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from jwt import api_jws
from litestar import Litestar, MediaType, Request, Response, get, post

_OPERATION = re.compile(r"^\s*(query|mutation)\s+(\w+)")


def new_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class FakeSaleor:
    base_url: str
    app_id: str = "QXBwOjQy"
    key: RSAPrivateKey = field(default_factory=new_key)
    kid: str = "saleor-key-1"
    tokens: set[str] = field(default_factory=set)  # app tokens the shop accepts
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    graphql_calls: list[dict[str, Any]] = field(default_factory=list)
    jwks_requests: int = 0
    # What the dashboard page at /dashboard/ embeds: {"app_url", "token", "product_id", "theme"}.
    dashboard: dict[str, str] = field(default_factory=dict)
    _clock: datetime = field(default_factory=lambda: datetime(2026, 11, 25, 1, 0, tzinfo=UTC))

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/graphql/"

    @property
    def domain(self) -> str:
        return self.base_url.removeprefix("http://")

    def reset(self) -> None:
        self.key, self.kid = new_key(), "saleor-key-1"
        self.tokens.clear()
        self.products.clear()
        self.graphql_calls.clear()
        self.jwks_requests = 0
        self.dashboard.clear()

    def jwks(self) -> dict[str, Any]:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        public.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [public]}

    def tick(self) -> str:
        """A new `updatedAt`, later than every one before."""
        self._clock += timedelta(seconds=1)
        return self._clock.isoformat()

    def add_product(self, product_id: str, metadata: dict[str, str] | None = None) -> dict[str, Any]:
        self.products[product_id] = {"id": product_id, "updatedAt": self.tick(), "metadata": dict(metadata or {})}
        return self.product_json(product_id)

    def product_json(self, product_id: str) -> dict[str, Any]:
        product = self.products[product_id]
        metadata = [{"key": k, "value": v} for k, v in product["metadata"].items()]
        return {"id": product["id"], "updatedAt": product["updatedAt"], "metadata": metadata}

    def sign(self, body: bytes, key: RSAPrivateKey | None = None, kid: str | None = None) -> str:
        """`saleor-signature`: RS256 JWS with the body detached (RFC 7797), as Saleor makes it."""
        return api_jws.encode(
            body,
            key=key or self.key,
            algorithm="RS256",
            headers={"kid": kid or self.kid, "crit": ["b64"]},
            is_payload_detached=True,
        )

    def dashboard_token(
        self,
        permissions: list[str] | None = None,
        app: str | None = None,
        key: RSAPrivateKey | None = None,
        expires_in: int = 300,
    ) -> str:
        """The token the dashboard hands the app's iframe for a staff user."""
        now = int(time.time())
        claims = {
            "iat": now,
            "exp": now + expires_in,
            "iss": self.api_url,
            "token": "staff-session",
            "email": "staff@example.com",
            "type": "thirdparty",
            "app": app or self.app_id,
            "user_permissions": ["MANAGE_PRODUCTS"] if permissions is None else permissions,
        }
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": self.kid})

    def calls(self, operation: str) -> list[dict[str, Any]]:
        return [call for call in self.graphql_calls if call["operation"] == operation]

    def _execute(self, operation: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        if operation == "TrailRoomAppId" and "app { id }" in query:
            return {"data": {"app": {"id": self.app_id}}}
        if operation == "TrailRoomProduct" and "product(id: $id)" in query:
            found = self.products.get(variables.get("id", ""))
            return {"data": {"product": self.product_json(found["id"]) if found else None}}
        if operation in {"TrailRoomSetGarment", "TrailRoomClearGarment"}:
            field_name = "updateMetadata" if operation == "TrailRoomSetGarment" else "deleteMetadata"
            if f"{field_name}(id: $id" not in query:
                return {"errors": [{"message": "unexpected query"}]}
            product = self.products.get(variables.get("id", ""))
            if product is None:
                error = {"field": "id", "code": "NOT_FOUND", "message": "Couldn't resolve to a node"}
                return {"data": {field_name: {"item": None, "errors": [error]}}}
            if field_name == "updateMetadata":
                product["metadata"].update({item["key"]: item["value"] for item in variables["input"]})
            else:
                for key in variables["keys"]:
                    product["metadata"].pop(key, None)
            product["updatedAt"] = self.tick()
            return {"data": {field_name: {"item": self.product_json(product["id"]), "errors": []}}}
        return {"errors": [{"message": f"unknown operation {operation}"}]}

    def app(self) -> Litestar:
        saleor = self

        @get("/.well-known/jwks.json")
        async def jwks() -> dict[str, Any]:
            saleor.jwks_requests += 1
            return saleor.jwks()

        @post("/graphql/", status_code=200)
        async def graphql(request: Request[Any, Any, Any]) -> Response[Any]:
            body = await request.json()
            query = str(body.get("query") or "")
            match = _OPERATION.match(query)
            operation = match.group(2) if match else ""
            authorization = request.headers.get("authorization", "")
            token = authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else None
            saleor.graphql_calls.append(
                {"operation": operation, "token": token, "variables": body.get("variables") or {}, "query": query}
            )
            if token is None or token not in saleor.tokens:
                # What Saleor answers for a token it does not know.
                error = {"message": "Invalid token", "extensions": {"exception": {"code": "InvalidTokenError"}}}
                return Response({"errors": [error]})
            return Response(saleor._execute(operation, query, body.get("variables") or {}))

        @get("/dashboard/", media_type=MediaType.HTML)
        async def dashboard() -> str:
            # Saleor's dashboard: the app's page in an iframe with its query parameters, then the
            # AppBridge handshake message carrying the staff user's token.
            query = urlencode(
                {
                    "id": saleor.app_id,
                    "saleorApiUrl": saleor.api_url,
                    "theme": saleor.dashboard.get("theme", "light"),
                    "productId": saleor.dashboard.get("product_id", ""),
                }
            )
            src = html.escape(f"{saleor.dashboard['app_url']}/app?{query}")
            token = json.dumps(saleor.dashboard["token"])
            return (
                "<!doctype html><html><body style='margin:0'>"
                f"<iframe id='app' src='{src}' style='width:100%;height:100vh;border:0'></iframe>"
                "<script>const frame = document.getElementById('app');"
                "frame.addEventListener('load', () => frame.contentWindow.postMessage("
                f"{{type: 'handshake', payload: {{token: {token}, version: 1}}}}, '*'));</script>"
                "</body></html>"
            )

        return Litestar([jwks, graphql, dashboard], logging_config=None)
