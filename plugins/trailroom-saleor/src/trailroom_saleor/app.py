"""`create_app(config)`: the Saleor app as a Flask application.

It is built on trailroom-flask: the extension mounts the storefront proxy (secret key server side,
upload size and per-session limits, CSRF, `X-Shopper-ID`) and TrailRoom's own signed webhooks at
`TRAILROOM_URL_PREFIX` (default `/trailroom`), and this package adds the Saleor routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from trailroom_flask import TrailRoom
from trailroom_saleor.apl import ProductTryOnStore, SQLiteAPL, SQLiteStore
from trailroom_saleor.config import SaleorAppConfig, settings_from
from trailroom_saleor.saleor import SaleorClient
from trailroom_saleor.signatures import JWKSVerifier
from trailroom_saleor.state import EXTENSION_KEY, SaleorAppState
from trailroom_saleor.storefront import product_widget
from trailroom_saleor.views import blueprint


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The app, configured by `config` over the environment (`SECRET_KEY`, `TRAILROOM_*`, `SALEOR_*`)."""
    settings = settings_from(config)
    if not settings.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is not set: it signs the shopper's session cookie (the proxy's limits)")
    saleor_config = SaleorAppConfig.from_mapping(settings)
    app = Flask("trailroom_saleor")
    app.config.update(settings)
    TrailRoom(app)
    store = SQLiteStore(saleor_config.apl_path)
    apl = SQLiteAPL(store)
    saleor = SaleorClient(timeout_s=saleor_config.timeout_s)
    app.extensions[EXTENSION_KEY] = SaleorAppState(
        config=saleor_config,
        apl=apl,
        products=ProductTryOnStore(store),
        saleor=saleor,
        verifier=JWKSVerifier(apl, saleor, min_refresh_s=saleor_config.jwks_min_refresh_s),
    )
    app.register_blueprint(blueprint)
    app.add_template_global(product_widget, "saleor_product_widget")
    return app
