"""Shapes of the try-on API (snake_case JSON; multipart forms use the same field names)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import msgspec

from trailroom.core.vocabulary import (
    DEFAULT_GARMENT_PHOTO_TYPE,
    DEFAULT_MODE,
    DEFAULT_OUTPUT_FORMAT,
    DEFAULT_QUALITY,
    MAX_SAMPLES,
    SEED_LIMIT,
    GarmentPhotoType,
    OutputFormat,
    Quality,
    TryOnMode,
    api_literal,
)
from trailroom.domain.tryon.models import TryOnJob

# An image in JSON: an https:// URL, a data:image/...;base64, URI, or bare base64.
ImageValue = Annotated[str, msgspec.Meta(min_length=1, max_length=20_000_000)]

# The vocabulary's values as Literals: msgspec refuses others, the document lists them as `enum`.
if TYPE_CHECKING:
    Mode = str
    OutputFormatValue = str
    QualityValue = str
    GarmentPhotoTypeValue = str
else:
    Mode = api_literal(TryOnMode)
    OutputFormatValue = api_literal(OutputFormat)
    QualityValue = api_literal(Quality)
    GarmentPhotoTypeValue = api_literal(GarmentPhotoType)


class TryOnOptionsIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The options every try-on request takes (single or batch)."""

    samples: Annotated[int, msgspec.Meta(ge=1, le=MAX_SAMPLES)] = 1
    seed: Annotated[int, msgspec.Meta(ge=0, lt=SEED_LIMIT)] | None = None
    output_format: OutputFormatValue = DEFAULT_OUTPUT_FORMAT.value
    quality: QualityValue = DEFAULT_QUALITY.value
    garment_photo_type: GarmentPhotoTypeValue = DEFAULT_GARMENT_PHOTO_TYPE.value


class TryOnRequest(TryOnOptionsIn, kw_only=True, forbid_unknown_fields=True):
    mode: Mode
    person_image: ImageValue
    garment_image: ImageValue
    bottom_image: ImageValue | None = None


class BatchItem(msgspec.Struct, forbid_unknown_fields=True):
    garment_image: ImageValue
    person_image: ImageValue | None = None  # defaults to the batch's person_image
    bottom_image: ImageValue | None = None
    mode: Mode | None = None  # defaults to the batch's mode


class BatchRequest(TryOnOptionsIn, kw_only=True, forbid_unknown_fields=True):
    items: Annotated[list[BatchItem], msgspec.Meta(min_length=1, max_length=20)]
    mode: Mode = DEFAULT_MODE.value
    person_image: ImageValue | None = None


class JobErrorOut(msgspec.Struct):
    code: str
    detail: str


class JobLinks(msgspec.Struct):
    status: str
    events: str
    base64: str
    results: list[str]  # signed image URLs, valid for an hour


class TryOnJobResponse(msgspec.Struct, omit_defaults=True):
    id: str
    status: str
    mode: str
    samples: int
    credits_charged: int
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    error: JobErrorOut | None
    batch_id: str | None
    attempts: int
    links: JobLinks
    # Only in the answer to the publishable key that created the job: send it as `X-Client-Secret`
    # to read the job's status and events from the browser.
    client_secret: str | None = None

    @classmethod
    def of(cls, job: TryOnJob, result_urls: list[str], client_secret: str | None = None) -> TryOnJobResponse:
        base = f"/api/v1/tryon/{job.id}"
        return cls(
            id=str(job.id),
            status=job.status.value,
            mode=job.mode,
            samples=job.samples,
            credits_charged=job.credits_charged,
            created_at=job.created_at,
            started_at=job.started_at,
            completed_at=job.completed_at,
            error=JobErrorOut(code=job.error.code, detail=job.error.detail) if job.error else None,
            batch_id=job.batch_id,
            attempts=job.attempts,
            links=JobLinks(status=base, events=f"{base}/events", base64=f"{base}/base64", results=result_urls),
            client_secret=client_secret,
        )


class BatchResponse(msgspec.Struct):
    batch_id: str | None
    jobs: list[TryOnJobResponse]


class HistoryResponse(msgspec.Struct):
    data: list[TryOnJobResponse]
    next_cursor: str | None


class Base64Image(msgspec.Struct):
    media_type: str
    width: int
    height: int
    data: str


class Base64Response(msgspec.Struct):
    id: str
    images: list[Base64Image]


class ShopperIdResponse(msgspec.Struct):
    shopper_id: str  # send it as `X-Shopper-ID` with every try-on call of this browser and key
