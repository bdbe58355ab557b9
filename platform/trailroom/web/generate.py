"""Generate: the step-by-step try-on form, its no-script submission, and one try-on's page.

With script, the page sends the form to `POST /api/v1/tryon` and follows the job live. Without it,
the form posts here: the job is created through the same service and the browser lands on the
try-on's page, which refreshes itself until the job has ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from trailroom.core.errors import InvalidInput, TrailRoomError
from trailroom.core.vocabulary import (
    DEFAULT_GARMENT_PHOTO_TYPE,
    DEFAULT_MODE,
    DEFAULT_QUALITY,
    GARMENT_PHOTO_TYPE_LABELS,
    MAX_SAMPLES,
    MODE_LABELS,
    PAID_MODES,
    QUALITY_LABELS,
    TWO_GARMENT_MODES,
    GarmentPhotoType,
    Quality,
    TryOnMode,
    values,
)
from trailroom.domain.analytics.middleware import CREDITS_USED
from trailroom.domain.runtime_config.models import RuntimeConfig
from trailroom.domain.tryon.intake import Submission, TryOnOptions
from trailroom.server.problems import DOMAIN_STATUS
from trailroom.web.base import DashboardController
from trailroom.web.context import PageContext
from trailroom.web.signed_in import session_principal, signed_in

IMAGE_FIELDS = ("person_image", "garment_image", "bottom_image")
MODE_HINTS = {
    TryOnMode.TOP: "Shirts, T-shirts, jackets, hoodies",
    TryOnMode.BOTTOM: "Trousers, jeans, skirts, shorts",
    TryOnMode.DRESS: "Dresses and jumpsuits",
    TryOnMode.FULL: "A top and a bottom at once",
}
QUALITIES = tuple((quality.value, QUALITY_LABELS[quality]) for quality in Quality)
GARMENT_TYPES = tuple((kind.value, GARMENT_PHOTO_TYPE_LABELS[kind]) for kind in GarmentPhotoType)
MAX_FORM_BYTES = 3 * 11 * 1024 * 1024  # three photos at the 10 MiB limit, plus the other fields


@dataclass(frozen=True)
class ModeChoice:
    """One mode as the form offers it, with the costs the server quotes for it."""

    value: str
    label: str
    hint: str
    per_image: int  # the quote for one image
    quotes: dict[int, int]  # the quote for each number of images
    locked: bool  # a paid mode, for an account that has not bought credits
    needs_bottom: bool


def mode_choices(config: RuntimeConfig, *, is_paying: bool) -> list[ModeChoice]:
    quotes = config.quotes()
    return [
        ModeChoice(
            value=mode.value,
            label=MODE_LABELS[mode],
            hint=MODE_HINTS[mode],
            per_image=quotes[mode][1],
            quotes=quotes[mode],
            locked=mode in PAID_MODES and not is_paying,
            needs_bottom=mode in TWO_GARMENT_MODES,
        )
        for mode in TryOnMode
    ]


@dataclass(frozen=True)
class Prefill:
    """The options the form starts with (a "generate again" from history carries them)."""

    mode: str = DEFAULT_MODE.value
    samples: int = 1
    quality: str = DEFAULT_QUALITY.value
    garment_photo_type: str = DEFAULT_GARMENT_PHOTO_TYPE.value
    again_of: str | None = None

    @classmethod
    def of(cls, query: dict[str, str]) -> Prefill:
        mode = query.get("mode", cls.mode)
        samples = query.get("samples", "1")
        quality = query.get("quality", cls.quality)
        garment = query.get("garment_photo_type", cls.garment_photo_type)
        return cls(
            mode=mode if mode in values(TryOnMode) else cls.mode,
            samples=int(samples) if samples.isdigit() and 1 <= int(samples) <= MAX_SAMPLES else 1,
            quality=quality if quality in values(Quality) else cls.quality,
            garment_photo_type=garment if garment in values(GarmentPhotoType) else cls.garment_photo_type,
            again_of=query.get("again") or None,
        )


class GeneratePages(DashboardController):
    path = "/app/generate"

    async def _form_page(
        self, ctx: NamedDependency[PageContext], prefill: Prefill, *, error: str | None = None, status_code: int = 200
    ) -> Template:
        user = signed_in(ctx)
        config = await ctx.services.runtime_config.current()
        return ctx.render(
            "pages/app/generate.html",
            status_code=status_code,
            modes=mode_choices(config, is_paying=user.is_paying),
            qualities=QUALITIES,
            garment_types=GARMENT_TYPES,
            cost=config.cost_of(prefill.mode, prefill.samples),
            max_samples=MAX_SAMPLES,
            max_bytes=ctx.settings.image_max_bytes,
            bottom_modes=sorted(TWO_GARMENT_MODES),
            prefill=prefill,
            error=error,
        )

    @get("/", name="app:generate")
    async def form(self, ctx: NamedDependency[PageContext]) -> Template:
        return await self._form_page(ctx, Prefill.of(dict(ctx.request.query_params)))

    @post("/", request_max_body_size=MAX_FORM_BYTES)
    async def submit(self, ctx: NamedDependency[PageContext]) -> Template | Redirect:
        """The no-script path: one multipart form becomes one job, then its page."""
        fields = await ctx.form()
        raw = await ctx.request.form()
        prefill = Prefill.of(fields)
        tryon = ctx.services.tryon
        try:
            images: dict[str, Any] = {}
            for field in IMAGE_FIELDS:
                if field == "bottom_image" and fields.get("mode") not in TWO_GARMENT_MODES:
                    continue
                upload = raw.get(field)
                if isinstance(upload, UploadFile) and upload.filename:
                    images[field] = await tryon.intake.load_image(await upload.read(), field)
                elif fields.get(f"{field}_url", "").strip():
                    images[field] = await tryon.intake.load_image(fields[f"{field}_url"].strip(), field)
                elif field != "bottom_image":
                    what = "your photo" if field == "person_image" else "the garment's photo"
                    raise InvalidInput(f"Choose {what}, or give its URL.", code="missing_image", field=field)
            options = TryOnOptions(
                mode=fields.get("mode", ""),
                samples=int(fields.get("samples", "1")) if fields.get("samples", "1").isdigit() else 0,
                quality=fields.get("quality", DEFAULT_QUALITY.value),
                garment_photo_type=fields.get("garment_photo_type", DEFAULT_GARMENT_PHOTO_TYPE.value),
            )
            submission = Submission(
                options=options,
                person=images["person_image"],
                garment=images["garment_image"],
                bottom=images.get("bottom_image"),
            )
            job, _ = await tryon.intake.submit(
                session_principal(ctx),
                submission,
                client={"origin": "dashboard", "ip": ctx.request.client.host if ctx.request.client else None},
            )
        except TrailRoomError as exc:
            return await self._form_page(ctx, prefill, error=exc.detail, status_code=_status_of(exc))
        ctx.request.state[CREDITS_USED] = job.credits_charged
        return ctx.redirect(f"/app/history/{job.id}", flash="Your try-on has started.", kind="info")


def _status_of(error: TrailRoomError) -> int:
    return next((DOMAIN_STATUS[c] for c in type(error).__mro__ if c in DOMAIN_STATUS), 400)
