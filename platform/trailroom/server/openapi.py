"""OpenAPI document at /schema with an interactive reference served from our own static files."""

from __future__ import annotations

from html import escape
from typing import Any

from litestar import Request
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Tag

from trailroom import __version__

SWAGGER_ASSETS = "/static/vendor/swagger-ui"
SCHEMA_SCRIPT = "/static/app/js/schema.js"


class CspSafeSwaggerPlugin(SwaggerRenderPlugin):
    """Swagger UI without inline script or style, so /schema lives under the pages' strict CSP:
    our module (`static/app/js/schema.js`) starts it with the document's URL from a data attribute."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = escape(str(openapi_schema["info"]["title"]))
        spec_url = escape(f"{request.app.openapi_config.path}/openapi.json")  # type: ignore[union-attr]
        return (
            "<!DOCTYPE html><html lang='en'><head>"
            f"<title>{title}</title>{self.favicon}"
            "<meta charset='utf-8'><meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<link href='{self.css_url}' rel='stylesheet'>"
            f"<script src='{self.js_url}'></script>"
            f"<script src='{self.standalone_preset_js_url}'></script>"
            f"<script src='{SCHEMA_SCRIPT}' defer></script>"
            f"</head><body><div id='swagger-container' data-spec-url='{spec_url}'></div></body></html>"
        ).encode()


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="TrailRoom API",
        version=__version__,
        description=(
            "Virtual try-on for e-commerce. Authenticate with a secret API key (`tr_sk_…`) or a "
            "user access token as `Authorization: Bearer …` (Authorize, then Try it out: each operation "
            "says which credentials it takes). Errors are RFC 9457 problem+json with a stable `code` "
            "and the `request_id`; each operation lists the statuses and codes it can answer."
        ),
        path="/schema",
        render_plugins=[
            CspSafeSwaggerPlugin(
                path="/",
                js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
                css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
                standalone_preset_js_url=f"{SWAGGER_ASSETS}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' type='image/png' href='{SWAGGER_ASSETS}/favicon-32x32.png'>",
            )
        ],
        tags=[Tag(name="System", description="Health and readiness probes")],
    )
