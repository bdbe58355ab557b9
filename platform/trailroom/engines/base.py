"""The try-on engine interface: what the pipeline hands an engine and what it gets back.

An engine turns one person photo and one or two garment photos into one result image. Photos it
cannot use are refused with an `EngineError` whose `code` is stable, so the API and the widget can
tell the shopper what to change. The words of a request (modes, qualities, formats, garment photo
types) are the try-on vocabulary in `core/vocabulary.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from trailroom.core.vocabulary import (
    DEFAULT_GARMENT_PHOTO_TYPE,
    DEFAULT_OUTPUT_FORMAT,
    DEFAULT_QUALITY,
    GarmentPhotoType,
    OutputFormat,
    Quality,
    TryOnMode,
)


@dataclass(frozen=True)
class TryOnInput:
    mode: TryOnMode
    person: bytes  # validated image bytes (JPEG/PNG/WebP), EXIF orientation already applied
    garment: bytes  # the garment for top/bottom/dress, the top for full
    bottom: bytes | None = None  # required for full
    garment_photo_type: GarmentPhotoType = DEFAULT_GARMENT_PHOTO_TYPE
    seed: int = 0
    quality: Quality = DEFAULT_QUALITY
    output_format: OutputFormat = DEFAULT_OUTPUT_FORMAT
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
