"""The app manifest Saleor reads when the app is installed (Saleor's `Manifest` shape)."""

from __future__ import annotations

from typing import Any

from trailroom_saleor.config import SaleorAppConfig

VERSION = "0.1.0"
PERMISSIONS = ["MANAGE_PRODUCTS"]

# One subscription for the product events: the fragment carries what the app stores, and
# `__typename` puts the event's name inside the signed body (the `saleor-event` header is not signed).
PRODUCT_SUBSCRIPTION = (
    "subscription TrailRoomProductEvents { event { __typename "
    "... on ProductCreated { product { ...TrailRoomProduct } } "
    "... on ProductUpdated { product { ...TrailRoomProduct } } "
    "... on ProductMetadataUpdated { product { ...TrailRoomProduct } } "
    "... on ProductDeleted { product { ...TrailRoomProduct } } } } "
    "fragment TrailRoomProduct on Product { id updatedAt metadata { key value } }"
)
PRODUCT_EVENTS = ["PRODUCT_CREATED", "PRODUCT_UPDATED", "PRODUCT_METADATA_UPDATED", "PRODUCT_DELETED"]

APP_DELETED_SUBSCRIPTION = "subscription TrailRoomAppDeleted { event { __typename ... on AppDeleted { app { id } } } }"

WEBHOOK_PATH = "/api/webhooks/saleor"


def build_manifest(config: SaleorAppConfig) -> dict[str, Any]:
    base = config.app_url
    return {
        "id": config.app_id,
        "version": VERSION,
        "requiredSaleorVersion": "^3.20",
        "name": "TrailRoom virtual try-on",
        "author": "TrailRoom",
        "about": "Lets shoppers try garments on with their own photo. Attach a try-on garment image to "
        "products here; the storefront renders the TrailRoom widget for them.",
        "permissions": PERMISSIONS,
        "appUrl": f"{base}/app",
        "tokenTargetUrl": f"{base}/api/register",
        "homepageUrl": f"{base}/app",
        "dataPrivacyUrl": f"{base}/app#privacy",
        "webhooks": [
            {
                "name": "TrailRoom product try-on settings",
                "asyncEvents": PRODUCT_EVENTS,
                "query": PRODUCT_SUBSCRIPTION,
                "targetUrl": f"{base}{WEBHOOK_PATH}",
                "isActive": True,
            },
            {
                "name": "TrailRoom app uninstalled",
                "asyncEvents": ["APP_DELETED"],
                "query": APP_DELETED_SUBSCRIPTION,
                "targetUrl": f"{base}{WEBHOOK_PATH}",
                "isActive": True,
            },
        ],
        "extensions": [
            {
                "label": "Virtual try-on",
                "mount": "PRODUCT_DETAILS_MORE_ACTIONS",
                "target": "POPUP",
                "permissions": PERMISSIONS,
                "url": f"{base}/app",
            }
        ],
    }
