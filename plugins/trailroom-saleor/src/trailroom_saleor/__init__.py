"""Saleor app for TrailRoom virtual try-on: manifest, registration, JWS-verified webhooks, product
garment images kept in Saleor metadata, and the storefront widget with trailroom-flask's proxy."""

from trailroom_saleor.apl import APL, AuthData, ProductTryOn, ProductTryOnStore, SQLiteAPL, SQLiteStore
from trailroom_saleor.app import create_app
from trailroom_saleor.config import SaleorAppConfig
from trailroom_saleor.manifest import build_manifest
from trailroom_saleor.metadata import GARMENT_IMAGE_KEY, MODE_KEY, GarmentSettings, garment_from_metadata
from trailroom_saleor.state import SaleorAppState, app_state
from trailroom_saleor.storefront import UnknownShop, product_garment, product_widget

__version__ = "0.1.0"

__all__ = [
    "APL",
    "GARMENT_IMAGE_KEY",
    "MODE_KEY",
    "AuthData",
    "GarmentSettings",
    "ProductTryOn",
    "ProductTryOnStore",
    "SQLiteAPL",
    "SQLiteStore",
    "SaleorAppConfig",
    "SaleorAppState",
    "UnknownShop",
    "app_state",
    "build_manifest",
    "create_app",
    "garment_from_metadata",
    "product_garment",
    "product_widget",
]
