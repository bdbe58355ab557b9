"""The Saleor routes: manifest, registration, signed webhooks, the dashboard page and its API, and
the storefront widget fragment. Errors are RFC 9457 problem+json (trailroom-flask's `problem`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from trailroom_client import DEFAULT_MODE, MODE_LABELS, MODES
from trailroom_flask.views import problem
from trailroom_saleor.apl import AuthData, ProductTryOn
from trailroom_saleor.manifest import PERMISSIONS, build_manifest
from trailroom_saleor.metadata import InvalidGarmentSettings, garment_from_metadata, validate
from trailroom_saleor.saleor import Product, SaleorError, product_from
from trailroom_saleor.signatures import MissingPermissions, SignatureError
from trailroom_saleor.state import SaleorAppState, app_state
from trailroom_saleor.storefront import UnknownShop, product_garment, product_widget

blueprint = Blueprint(
    "trailroom_saleor",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/trailroom-saleor",
)

MAX_WEBHOOK_BYTES = 1024 * 1024
MAX_PRODUCT_ID_LENGTH = 200
PRODUCT_EVENTS = {"PRODUCT_CREATED", "PRODUCT_UPDATED", "PRODUCT_METADATA_UPDATED"}
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _state() -> SaleorAppState:
    return app_state()


def _event_name(typename: str) -> str:
    """`ProductMetadataUpdated` → `PRODUCT_METADATA_UPDATED` (the `saleor-event` header's spelling)."""
    return _CAMEL_BOUNDARY.sub("_", typename).upper()


def _same_host(domain: str, saleor_api_url: str) -> bool:
    parts = urlsplit(saleor_api_url)
    return domain.strip().lower() in {parts.netloc.lower(), (parts.hostname or "").lower()}


@blueprint.get("/api/manifest")
def manifest() -> Response:
    return jsonify(build_manifest(_state().config))


@blueprint.post("/api/register")
def register() -> Response:
    """Saleor's install handshake: `{"auth_token"}` with the `saleor-api-url` header. The URL must be
    allowed, the token must work against that URL (`app { id }`), and the JWKS must be fetchable."""
    state = _state()
    saleor_api_url = (request.headers.get("saleor-api-url") or "").strip()
    if not saleor_api_url:
        return problem(400, "missing_saleor_api_url", "the saleor-api-url header is required")
    body = request.get_json(silent=True)
    token = body.get("auth_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        return problem(400, "missing_auth_token", 'the body must be JSON {"auth_token": "…"}')
    if not state.config.allows(saleor_api_url):
        current_app.logger.warning("refused a registration from a Saleor API URL not allowed: %s", saleor_api_url)
        return problem(403, "saleor_url_prohibited", "this app may only be installed in the allowed Saleor shops")
    try:
        app_id = state.saleor.app_id(saleor_api_url, token)
        if app_id is None:
            return problem(401, "unknown_app_id", "the shop did not accept the auth token")
        jwks = state.saleor.fetch_jwks(saleor_api_url)
    except SaleorError as exc:
        current_app.logger.warning("registration with %s failed: %s", saleor_api_url, exc.code)
        return problem(502, exc.code, "the Saleor shop could not be reached to confirm the installation")
    domain = urlsplit(saleor_api_url).netloc
    state.apl.set(AuthData(saleor_api_url=saleor_api_url, domain=domain, token=token, app_id=app_id, jwks=jwks))
    current_app.logger.info("installed in %s as app %s", saleor_api_url, app_id)
    return jsonify({"success": True})


@dataclass(frozen=True, slots=True)
class VerifiedDelivery:
    auth: AuthData
    event: str
    payload: dict[str, Any]


def _verified_delivery() -> VerifiedDelivery | Response:
    state = _state()
    saleor_api_url = request.headers.get("saleor-api-url") or ""
    header_event = (request.headers.get("saleor-event") or "").upper()
    signature = request.headers.get("saleor-signature") or ""
    if not saleor_api_url or not header_event:
        return problem(400, "missing_saleor_headers", "the saleor-api-url and saleor-event headers are required")
    domain = request.headers.get("saleor-domain")
    if domain is not None and not _same_host(domain, saleor_api_url):
        return problem(400, "domain_mismatch", "saleor-domain does not match saleor-api-url")
    too_large = problem(413, "payload_too_large", f"webhook bodies may be at most {MAX_WEBHOOK_BYTES} bytes")
    if request.content_length is not None and request.content_length > MAX_WEBHOOK_BYTES:
        return too_large
    request.max_content_length = MAX_WEBHOOK_BYTES  # also bounds a body sent without Content-Length
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return too_large
    auth = state.apl.get(saleor_api_url)
    if auth is None:
        return problem(401, "not_registered", "this Saleor shop has not installed the app")
    if not signature:
        return problem(401, "invalid_signature", "the saleor-signature header is required")
    try:
        state.verifier.verify_webhook(auth, signature, body)
    except SignatureError as exc:
        current_app.logger.warning("refused a Saleor webhook from %s: %s", auth.saleor_api_url, exc)
        return problem(401, "invalid_signature", str(exc))
    try:
        payload = json.loads(body)
    except ValueError:
        return problem(400, "invalid_payload", "the body is not JSON")
    if not isinstance(payload, dict):
        return problem(400, "invalid_payload", "the body is not a JSON object")
    # The header is not signed: the event comes from the signed `__typename`, and both must agree.
    typename = payload.get("__typename")
    if not isinstance(typename, str) or _event_name(typename) != header_event:
        return problem(400, "event_mismatch", "the payload's __typename does not match saleor-event")
    return VerifiedDelivery(auth=auth, event=header_event, payload=payload)


def _store_product(state: SaleorAppState, auth: AuthData, product: Product) -> bool:
    settings = garment_from_metadata(product.metadata)
    tryon = (
        None
        if settings is None
        else ProductTryOn(auth.saleor_api_url, product.id, settings.garment_image, settings.mode, product.updated_at)
    )
    return state.products.apply(auth.saleor_api_url, product.id, product.updated_at, tryon)


@blueprint.post("/api/webhooks/saleor")
def saleor_webhook() -> Response:
    """Product events keep the stored try-on settings current; APP_DELETED forgets the installation."""
    verified = _verified_delivery()
    if isinstance(verified, Response):
        return verified
    state, auth, event, payload = _state(), verified.auth, verified.event, verified.payload
    applied = False
    if event in PRODUCT_EVENTS | {"PRODUCT_DELETED"}:
        product = product_from(payload.get("product"))
        if product is None:  # Saleor sends `product: null` for what the app may not see: nothing to do
            pass
        elif event == "PRODUCT_DELETED":
            state.products.forget(auth.saleor_api_url, product.id)
            applied = True
        else:
            applied = _store_product(state, auth, product)
    elif event == "APP_DELETED":
        app = payload.get("app")
        if isinstance(app, dict) and app.get("id") == auth.app_id:
            state.apl.delete(auth.saleor_api_url)
            current_app.logger.info("uninstalled from %s", auth.saleor_api_url)
            applied = True
    return jsonify({"event": event, "applied": applied})


def _dashboard_auth() -> AuthData | Response:
    """A request from the app's dashboard page: `saleor-api-url` and the dashboard user's token in
    `authorization-bearer`, signed by that shop, for this app, with MANAGE_PRODUCTS."""
    state = _state()
    saleor_api_url = request.headers.get("saleor-api-url") or ""
    token = request.headers.get("authorization-bearer") or ""
    if not saleor_api_url or not token:
        detail = "the saleor-api-url and authorization-bearer headers are required"
        return problem(401, "missing_dashboard_token", detail)
    auth = state.apl.get(saleor_api_url)
    if auth is None:
        return problem(401, "not_registered", "this Saleor shop has not installed the app")
    try:
        state.verifier.verify_dashboard_token(auth, token, tuple(PERMISSIONS))
    except MissingPermissions as exc:
        return problem(403, "missing_permissions", str(exc))
    except SignatureError as exc:
        return problem(401, "invalid_dashboard_token", str(exc))
    return auth


def _product_id(product_id: str) -> str | None:
    product_id = product_id.strip()
    return product_id if 0 < len(product_id) <= MAX_PRODUCT_ID_LENGTH else None


def _settings_json(product_id: str, product: Product) -> dict[str, Any]:
    settings = garment_from_metadata(product.metadata)
    return {
        "product_id": product_id,
        "garment_image": settings.garment_image if settings else None,
        "mode": settings.mode if settings else None,
    }


def _saleor_problem(exc: SaleorError) -> Response:
    if exc.code == "product_not_found":
        return problem(404, "product_not_found", "no such product in the shop")
    current_app.logger.warning("a Saleor call failed: %s", exc)
    return problem(502, exc.code, "the Saleor shop could not complete the request")


@blueprint.route("/api/products/<product_id>/tryon", methods=["GET", "PUT", "DELETE"])
def product_tryon(product_id: str) -> Response:
    """Read (GET), set (PUT `{"garment_image", "mode"}`) or remove (DELETE) a product's try-on
    garment, as product metadata written with the app token; the stored copy follows at once."""
    auth = _dashboard_auth()
    if isinstance(auth, Response):
        return auth
    valid_id = _product_id(product_id)
    if valid_id is None:
        return problem(422, "invalid_product_id", "the product id is empty or too long")
    state = _state()
    try:
        if request.method == "GET":
            product = state.saleor.product(auth.saleor_api_url, auth.token, valid_id)
            if product is None:
                return problem(404, "product_not_found", "no such product in the shop")
            return jsonify(_settings_json(valid_id, product))
        if request.method == "DELETE":
            product = state.saleor.clear_garment(auth.saleor_api_url, auth.token, valid_id)
        else:
            body = request.get_json(silent=True)
            if not isinstance(body, dict):
                return problem(400, "invalid_json", 'the body must be JSON {"garment_image": "…", "mode": "top"}')
            try:
                settings = validate(body.get("garment_image"), body.get("mode", DEFAULT_MODE))
            except InvalidGarmentSettings as exc:
                return problem(422, exc.code, str(exc))
            product = state.saleor.set_garment(auth.saleor_api_url, auth.token, valid_id, settings)
    except SaleorError as exc:
        return _saleor_problem(exc)
    _store_product(state, auth, product)
    return jsonify(_settings_json(valid_id, product))


@blueprint.get("/app")
def dashboard_page() -> str:
    """The page Saleor's dashboard shows in an iframe (appUrl, and the product page's extension)."""
    return render_template(
        "trailroom_saleor/dashboard.html", modes=MODES, mode_labels=MODE_LABELS, default_mode=DEFAULT_MODE
    )


@blueprint.get("/storefront/products/<product_id>/widget")
def storefront_widget(product_id: str) -> Response:
    """The widget's HTML for a product (for storefronts that fetch it rather than render it in
    Python); 404 when the product has no try-on garment."""
    valid_id = _product_id(product_id)
    if valid_id is None:
        return problem(422, "invalid_product_id", "the product id is empty or too long")
    shop = request.args.get("saleor_api_url")
    try:
        if product_garment(valid_id, shop) is None:
            return problem(404, "no_tryon", "this product has no try-on garment")
        html = product_widget(valid_id, saleor_api_url=shop)
    except UnknownShop as exc:
        return problem(404, "unknown_shop", str(exc))
    return Response(str(html), content_type="text/html; charset=utf-8")
