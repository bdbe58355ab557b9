"""The storefront helper: the `<trailroom-try-on>` element for a Saleor product, rendered by
trailroom-flask's `trailroom_widget` (same attributes, `endpoint` pointing at this app's proxy,
never a key)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup

from trailroom_flask import trailroom_widget
from trailroom_saleor.metadata import GarmentSettings, garment_from_metadata
from trailroom_saleor.state import app_state


class UnknownShop(LookupError):
    """No registration matches (or several do and none was named)."""


def shop_api_url(saleor_api_url: str | None = None) -> str:
    """The registered shop the storefront means: the one named, or the only one installed."""
    apl = app_state().apl
    if saleor_api_url:
        auth = apl.get(saleor_api_url)
        if auth is None:
            raise UnknownShop("this Saleor shop has not installed the app")
        return auth.saleor_api_url
    registrations = apl.all()
    if len(registrations) != 1:
        raise UnknownShop("name the shop (saleor_api_url): the app is installed in none or several")
    return registrations[0].saleor_api_url


def product_garment(product_id: str, saleor_api_url: str | None = None) -> GarmentSettings | None:
    """The product's try-on settings as last learnt from Saleor (webhooks, or the app's own edits)."""
    stored = app_state().products.get(shop_api_url(saleor_api_url), product_id)
    return None if stored is None else GarmentSettings(garment_image=stored.garment_image, mode=stored.mode)


def product_widget(
    product_id: str | None = None,
    *,
    metadata: Iterable[Mapping[str, Any]] | Mapping[str, Any] | None = None,
    saleor_api_url: str | None = None,
    **attrs: Any,
) -> Markup:
    """The widget for a product, from its `metadata` (e.g. fetched by the storefront's own product
    query) or, given only `product_id`, from the stored settings. Empty markup when the product has
    no try-on garment, so templates can call it for every product."""
    if metadata is not None:
        settings = garment_from_metadata(metadata)
    elif product_id is not None:
        settings = product_garment(product_id, saleor_api_url)
    else:
        raise TypeError("product_widget needs a product_id or the product's metadata")
    if settings is None:
        return Markup("")
    return trailroom_widget(settings.garment_image, settings.mode, **attrs)
