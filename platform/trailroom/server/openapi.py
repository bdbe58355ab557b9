"""OpenAPI document at /schema with an interactive reference served from our own static files."""

from __future__ import annotations

from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Tag

from trailroom import __version__

SWAGGER_ASSETS = "/static/vendor/swagger-ui"


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="TrailRoom API",
        version=__version__,
        description=(
            "Virtual try-on for e-commerce. Authenticate with a secret API key (`tr_sk_…`) or a "
            "user access token as `Authorization: Bearer …`. Errors are RFC 9457 problem+json with a "
            "stable `code` and the `request_id`."
        ),
        path="/schema",
        render_plugins=[
            SwaggerRenderPlugin(
                path="/",
                js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
                css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
                standalone_preset_js_url=f"{SWAGGER_ASSETS}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' type='image/png' href='{SWAGGER_ASSETS}/favicon-32x32.png'>",
            )
        ],
        components=Components(
            security_schemes={
                "BearerAuth": SecurityScheme(
                    type="http", scheme="bearer", description="A secret API key or a user access token"
                )
            }
        ),
        tags=[Tag(name="System", description="Health and readiness probes")],
    )
