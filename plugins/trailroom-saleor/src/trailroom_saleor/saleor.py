"""Calls this app makes to a Saleor shop: its GraphQL API with the app token, and its JWKS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from trailroom_saleor.metadata import GARMENT_IMAGE_KEY, MODE_KEY, GarmentSettings

APP_ID_QUERY = "query TrailRoomAppId { app { id } }"

PRODUCT_FIELDS = "id updatedAt metadata { key value }"

PRODUCT_QUERY = f"query TrailRoomProduct($id: ID!) {{ product(id: $id) {{ {PRODUCT_FIELDS} }} }}"

UPDATE_METADATA_MUTATION = (
    "mutation TrailRoomSetGarment($id: ID!, $input: [MetadataInput!]!) { "
    f"updateMetadata(id: $id, input: $input) {{ item {{ ... on Product {{ {PRODUCT_FIELDS} }} }} "
    "errors { field code message } } }"
)

DELETE_METADATA_MUTATION = (
    "mutation TrailRoomClearGarment($id: ID!, $keys: [String!]!) { "
    f"deleteMetadata(id: $id, keys: $keys) {{ item {{ ... on Product {{ {PRODUCT_FIELDS} }} }} "
    "errors { field code message } } }"
)


class SaleorError(Exception):
    """Saleor could not be reached, or answered with an error (`code` is a problem code)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def jwks_url(saleor_api_url: str) -> str:
    """Saleor publishes its signing keys at the API host's `/.well-known/jwks.json`."""
    parts = urlsplit(saleor_api_url)
    return f"{parts.scheme}://{parts.netloc}/.well-known/jwks.json"


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    updated_at: str
    metadata: list[dict[str, str]]


def product_from(data: Any) -> Product | None:
    """A product object of a GraphQL answer or webhook payload; None without an id."""
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return None
    metadata = [item for item in data.get("metadata") or [] if isinstance(item, dict)]
    return Product(id=data["id"], updated_at=str(data.get("updatedAt") or ""), metadata=metadata)


class SaleorClient:
    """Synchronous (the app is a WSGI app) HTTP calls to Saleor shops."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s

    def fetch_jwks(self, saleor_api_url: str) -> str:
        """The shop's JWKS as JSON text; raises `SaleorError` unless it is a JSON object with `keys`."""
        try:
            response = httpx.get(jwks_url(saleor_api_url), timeout=self.timeout_s)
            body = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as exc:
            raise SaleorError("jwks_not_available", f"the shop's JWKS could not be fetched: {exc}") from exc
        if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
            raise SaleorError("jwks_not_available", "the shop's JWKS could not be fetched")
        return response.text

    def graphql(self, saleor_api_url: str, token: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        """The `data` of one GraphQL request made with the app token; top-level errors raise."""
        try:
            response = httpx.post(
                saleor_api_url,
                json={"query": query, "variables": variables or {}},
                headers={"Authorization": f"Bearer {token}"},
                timeout=self.timeout_s,
            )
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SaleorError("saleor_unavailable", f"Saleor could not be reached: {type(exc).__name__}") from exc
        if not isinstance(body, dict):
            raise SaleorError("saleor_error", f"Saleor answered {response.status_code} without a GraphQL body")
        if body.get("errors"):
            messages = "; ".join(str(error.get("message")) for error in body["errors"] if isinstance(error, dict))
            raise SaleorError("saleor_error", f"Saleor refused the request: {messages or response.status_code}")
        return body.get("data") or {}

    def app_id(self, saleor_api_url: str, token: str) -> str | None:
        """Our app's id in the shop, which also proves the token works; None when the shop refuses it."""
        try:
            data = self.graphql(saleor_api_url, token, APP_ID_QUERY)
        except SaleorError as exc:
            if exc.code == "saleor_unavailable":
                raise
            return None
        app = data.get("app") if isinstance(data, dict) else None
        app_id = app.get("id") if isinstance(app, dict) else None
        return app_id if isinstance(app_id, str) and app_id else None

    def product(self, saleor_api_url: str, token: str, product_id: str) -> Product | None:
        data = self.graphql(saleor_api_url, token, PRODUCT_QUERY, {"id": product_id})
        return product_from(data.get("product"))

    def set_garment(self, saleor_api_url: str, token: str, product_id: str, settings: GarmentSettings) -> Product:
        """Write the two metadata keys on the product (`updateMetadata`); the product as Saleor stored it."""
        variables = {
            "id": product_id,
            "input": [
                {"key": GARMENT_IMAGE_KEY, "value": settings.garment_image},
                {"key": MODE_KEY, "value": settings.mode},
            ],
        }
        data = self.graphql(saleor_api_url, token, UPDATE_METADATA_MUTATION, variables)
        return self._mutated(data.get("updateMetadata"))

    def clear_garment(self, saleor_api_url: str, token: str, product_id: str) -> Product:
        """Remove the two metadata keys from the product (`deleteMetadata`)."""
        variables = {"id": product_id, "keys": [GARMENT_IMAGE_KEY, MODE_KEY]}
        data = self.graphql(saleor_api_url, token, DELETE_METADATA_MUTATION, variables)
        return self._mutated(data.get("deleteMetadata"))

    @staticmethod
    def _mutated(result: Any) -> Product:
        if not isinstance(result, dict):
            raise SaleorError("saleor_error", "Saleor answered the mutation without a result")
        errors = [error for error in result.get("errors") or [] if isinstance(error, dict)]
        if errors:
            if any(error.get("code") == "NOT_FOUND" for error in errors):
                raise SaleorError("product_not_found", "no such product in the shop")
            raise SaleorError("saleor_error", "; ".join(str(error.get("message")) for error in errors))
        product = product_from(result.get("item"))
        if product is None:
            raise SaleorError("product_not_found", "no such product in the shop")
        return product
