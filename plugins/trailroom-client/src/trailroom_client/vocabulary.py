"""The try-on vocabulary: the values each option of a try-on request takes, and their defaults.

The API's own words, spelled once here for every Python integration (the Django, Flask and
Saleor plugins import them from this module). The platform defines them in
`trailroom/core/vocabulary.py`; this package cannot import the platform, so the TrailRoom test
suite checks the two equal (and equal to the OpenAPI document's enums and defaults).
"""

from __future__ import annotations

from typing import Final, Literal, TypeGuard, get_args

Mode = Literal["top", "bottom", "dress", "full"]
Quality = Literal["fast", "balanced", "high"]
OutputFormat = Literal["png", "jpeg", "webp"]
GarmentPhotoType = Literal["flat_lay", "on_model"]

MODES: Final[tuple[Mode, ...]] = get_args(Mode)
QUALITIES: Final[tuple[Quality, ...]] = get_args(Quality)
OUTPUT_FORMATS: Final[tuple[OutputFormat, ...]] = get_args(OutputFormat)
GARMENT_PHOTO_TYPES: Final[tuple[GarmentPhotoType, ...]] = get_args(GarmentPhotoType)

DEFAULT_MODE: Final[Mode] = "top"
DEFAULT_QUALITY: Final[Quality] = "balanced"
DEFAULT_OUTPUT_FORMAT: Final[OutputFormat] = "png"
DEFAULT_GARMENT_PHOTO_TYPE: Final[GarmentPhotoType] = "flat_lay"

MAX_SAMPLES: Final = 4  # result images per request, each charged

# What people read for each mode (a merchant choosing a product's garment type).
MODE_LABELS: Final[dict[Mode, str]] = {"top": "Top", "bottom": "Bottom", "dress": "Dress", "full": "Full outfit"}


def is_mode(value: object) -> TypeGuard[Mode]:
    """Whether `value` is one of the try-on modes (narrows it to `Mode`)."""
    return value in MODES
