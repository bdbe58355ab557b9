"""The product metadata keys this app owns, and reading/validating their values.

Saleor metadata is a list of `{"key", "value"}` string pairs on the product (public metadata, so a
storefront can read it with its own GraphQL query too). Only these two keys are written by the app.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from trailroom_client import DEFAULT_MODE, MODES

GARMENT_IMAGE_KEY = "trailroom.garment_image"
MODE_KEY = "trailroom.mode"
MAX_URL_LENGTH = 2048


@dataclass(frozen=True, slots=True)
class GarmentSettings:
    garment_image: str
    mode: str


class InvalidGarmentSettings(ValueError):
    """A garment image URL or mode that cannot be stored; `code` is the problem code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def validate(garment_image: Any, mode: Any) -> GarmentSettings:
    """Settings a merchant may store: an absolute http(s) image URL and one of the widget's modes."""
    if not isinstance(garment_image, str) or not garment_image.strip():
        raise InvalidGarmentSettings("garment_image_missing", "garment_image (an image URL) is required")
    url = garment_image.strip()
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc or len(url) > MAX_URL_LENGTH:
        raise InvalidGarmentSettings("invalid_garment_image", "garment_image must be an absolute http(s) URL")
    if mode not in MODES:
        raise InvalidGarmentSettings("invalid_mode", f"mode must be one of {', '.join(MODES)}")
    return GarmentSettings(garment_image=url, mode=str(mode))


def as_dict(metadata: Iterable[Mapping[str, Any]] | Mapping[str, Any] | None) -> dict[str, str]:
    """Saleor's `[{"key", "value"}]` list (or an already flat mapping) as a dict."""
    if metadata is None:
        return {}
    if isinstance(metadata, Mapping):
        return {str(k): str(v) for k, v in metadata.items()}
    return {str(item.get("key")): str(item.get("value")) for item in metadata if isinstance(item, Mapping)}


def garment_from_metadata(metadata: Iterable[Mapping[str, Any]] | Mapping[str, Any] | None) -> GarmentSettings | None:
    """The product's try-on settings, or None when it has no (valid) garment image. A missing or
    unknown mode falls back to the default mode (`top`)."""
    values = as_dict(metadata)
    mode = values.get(MODE_KEY) or DEFAULT_MODE
    try:
        return validate(values.get(GARMENT_IMAGE_KEY), mode if mode in MODES else DEFAULT_MODE)
    except InvalidGarmentSettings:
        return None
