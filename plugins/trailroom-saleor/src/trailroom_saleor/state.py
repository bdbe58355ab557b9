"""What one Flask app holds in `app.extensions["trailroom_saleor"]`."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from trailroom_saleor.apl import APL, ProductTryOnStore
from trailroom_saleor.config import SaleorAppConfig
from trailroom_saleor.saleor import SaleorClient
from trailroom_saleor.signatures import JWKSVerifier

EXTENSION_KEY = "trailroom_saleor"


@dataclass
class SaleorAppState:
    config: SaleorAppConfig
    apl: APL
    products: ProductTryOnStore
    saleor: SaleorClient
    verifier: JWKSVerifier


def app_state(app: Flask | None = None) -> SaleorAppState:
    target = app if app is not None else current_app
    state = target.extensions.get(EXTENSION_KEY)
    if not isinstance(state, SaleorAppState):
        raise RuntimeError("not a TrailRoom Saleor app: build it with trailroom_saleor.create_app(config)")
    return state
