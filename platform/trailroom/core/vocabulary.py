"""The try-on vocabulary: the options a try-on request takes, their values, defaults and names.

Every layer speaks these words (the engines render a mode, the services check and charge it, the
API documents it, the pages offer it), so they live in `core`, which every layer may import and
which imports nothing above it; the engines could not import them from `domain` (engines sit
below the services). Each vocabulary is a `StrEnum`, the one place its values are spelled; the
API's msgspec structs and the OpenAPI document take their `Literal`s from `api_literal`, and the
Python client (`plugins/trailroom-client`, which cannot import the platform) spells the same
words once in `trailroom_client.vocabulary`, checked equal to these by tests/client.

What a try-on costs is not here: the per-mode credits are a runtime setting
(`RuntimeConfig.credit_costs`, defaults below) and the one rule that prices a request is
`RuntimeConfig.cost_of`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, Literal


class TryOnMode(StrEnum):
    """What is tried on: one garment (top, bottom, dress) or a top and a bottom at once (full)."""

    TOP = "top"
    BOTTOM = "bottom"
    DRESS = "dress"
    FULL = "full"


class Quality(StrEnum):
    FAST = "fast"
    BALANCED = "balanced"
    HIGH = "high"


class OutputFormat(StrEnum):
    PNG = "png"
    JPEG = "jpeg"
    WEBP = "webp"


class GarmentPhotoType(StrEnum):
    """How the garment was photographed: laid flat / a packshot, or worn by a model."""

    FLAT_LAY = "flat_lay"
    ON_MODEL = "on_model"


DEFAULT_MODE = TryOnMode.TOP
DEFAULT_QUALITY = Quality.BALANCED
DEFAULT_OUTPUT_FORMAT = OutputFormat.PNG
DEFAULT_GARMENT_PHOTO_TYPE = GarmentPhotoType.FLAT_LAY

MAX_SAMPLES = 4  # result images per request, each charged
SEED_LIMIT = 2**31  # seeds are 0 <= seed < SEED_LIMIT

# Modes only accounts that have bought credits may use.
PAID_MODES = frozenset({TryOnMode.FULL})
# Modes that take a second garment photo (`bottom_image`) besides `garment_image`.
TWO_GARMENT_MODES = frozenset({TryOnMode.FULL})

# The tables below are keyed by the members, which are their values too, so a plain string (a
# stored job's mode, a form field) finds its entry.

# Credits per result image, by mode, until an admin changes them (RuntimeConfig.credit_costs).
DEFAULT_CREDIT_COSTS: dict[TryOnMode, int] = {
    TryOnMode.TOP: 1,
    TryOnMode.BOTTOM: 1,
    TryOnMode.DRESS: 1,
    TryOnMode.FULL: 2,
}

MEDIA_TYPES: dict[str, str] = {
    OutputFormat.PNG: "image/png",
    OutputFormat.JPEG: "image/jpeg",
    OutputFormat.WEBP: "image/webp",
}
FILE_EXTENSIONS: dict[str, str] = {
    OutputFormat.PNG: "png",
    OutputFormat.JPEG: "jpg",
    OutputFormat.WEBP: "webp",
}
# The file extension of an image stored under its media type (inputs and results).
EXTENSION_OF_MEDIA_TYPE: dict[str, str] = {MEDIA_TYPES[f]: FILE_EXTENSIONS[f] for f in OutputFormat}

# What people read for each value (pages); the API speaks the values.
MODE_LABELS: dict[str, str] = {
    TryOnMode.TOP: "Top",
    TryOnMode.BOTTOM: "Bottom",
    TryOnMode.DRESS: "Dress",
    TryOnMode.FULL: "Full outfit",
}
QUALITY_LABELS: dict[str, str] = {Quality.FAST: "Fast", Quality.BALANCED: "Balanced", Quality.HIGH: "High"}
GARMENT_PHOTO_TYPE_LABELS: dict[str, str] = {
    GarmentPhotoType.FLAT_LAY: "Flat lay or packshot",
    GarmentPhotoType.ON_MODEL: "Worn by a model",
}


def values(vocabulary: type[StrEnum]) -> tuple[str, ...]:
    """The values of a vocabulary as plain strings, in their declared order."""
    return tuple(member.value for member in vocabulary)


def listed(vocabulary: Iterable[str], last: str = "or") -> str:
    """The values for a sentence: "png, jpeg or webp"."""
    words = [str(word) for word in vocabulary]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def api_literal(vocabulary: type[StrEnum]) -> Any:
    """`Literal["a", "b", ...]` of a vocabulary's values, for msgspec structs at the API edge.

    msgspec checks a `Literal` while decoding and Litestar documents it as an inline `enum`, which
    is what the API has always said; a `StrEnum` field would become a `$ref` to a component
    instead. Type checkers cannot read a `Literal` built at run time, so the aliases made with
    this are declared `str` for them (see `domain/tryon/schemas.py`).
    """
    return Literal[values(vocabulary)]  # Literal[("a", "b")] is Literal["a", "b"]
