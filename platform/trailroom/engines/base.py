"""The try-on engine interface: what the pipeline hands an engine and what it gets back.

An engine turns one person photo and one or two garment photos into one result image. Photos it
cannot use are refused with an `EngineError` whose `code` is stable, so the API and the widget can
tell the shopper what to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class TryOnMode(StrEnum):
    TOP = "top"
    BOTTOM = "bottom"
    DRESS = "dress"
    FULL = "full"


class GarmentPhotoType(StrEnum):
    FLAT_LAY = "flat_lay"
    ON_MODEL = "on_model"


class Quality(StrEnum):
    FAST = "fast"
    BALANCED = "balanced"
    HIGH = "high"


class OutputFormat(StrEnum):
    PNG = "png"
    JPEG = "jpeg"
    WEBP = "webp"


MEDIA_TYPES: dict[OutputFormat, str] = {
    OutputFormat.PNG: "image/png",
    OutputFormat.JPEG: "image/jpeg",
    OutputFormat.WEBP: "image/webp",
}


@dataclass(frozen=True)
class TryOnInput:
    mode: TryOnMode
    person: bytes  # validated image bytes (JPEG/PNG/WebP), EXIF orientation already applied
    garment: bytes  # the garment for top/bottom/dress, the top for full
    bottom: bytes | None = None  # required for full
    garment_photo_type: GarmentPhotoType = GarmentPhotoType.FLAT_LAY
    seed: int = 0
    quality: Quality = Quality.BALANCED
    output_format: OutputFormat = OutputFormat.PNG
    prompt: str | None = None  # for prompt-driven engines (OpenAI); the local engine ignores it


@dataclass(frozen=True)
class TryOnOutput:
    image: bytes  # one result image in output_format
    media_type: str  # e.g. "image/png"
    width: int
    height: int


# Codes an engine may raise for a photo it cannot use; the API turns each into a problem the
# shopper can act on. `engine_failed`/`engine_unavailable` are the engine's own faults.
PERSON_NOT_FOUND = "person_not_found"
MULTIPLE_PEOPLE = "multiple_people"
PERSON_TOO_SMALL = "person_too_small"
PERSON_NOT_FACING_CAMERA = "person_not_facing_camera"
BODY_NOT_IN_FRAME = "body_not_in_frame"
GARMENT_NOT_FOUND = "garment_not_found"
GARMENT_ON_MODEL = "garment_on_model"
IMAGE_TOO_SMALL = "image_too_small"
INVALID_IMAGE = "invalid_image"
INVALID_REQUEST = "invalid_request"


class EngineError(Exception):
    """A try-on the engine will not produce. `transient` says whether retrying may succeed."""

    def __init__(self, code: str, detail: str, transient: bool = False) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.transient = transient


class TryOnEngine(Protocol):
    name: str

    async def generate(self, request: TryOnInput) -> TryOnOutput: ...
