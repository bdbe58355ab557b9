"""The `openai` try-on engine: OpenAI's image edit endpoint (`images.edit`, gpt-image-1 by default)
through the official SDK.

The person photo goes first and the garment photo(s) after it, with a prompt that tells the model
to dress the person in the garment. The SDK does not retry (`max_retries=0`): the SAQ worker retries
the failures marked transient, with its own backoff, so one job never hides several API calls.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import re
from typing import Literal

import openai
from openai import AsyncOpenAI
from PIL import Image, UnidentifiedImageError

from trailroom.core.logging import get_logger
from trailroom.core.vocabulary import MEDIA_TYPES, GarmentPhotoType, OutputFormat, Quality, TryOnMode
from trailroom.engines.base import INVALID_IMAGE, INVALID_REQUEST, EngineError, TryOnInput, TryOnOutput

log = get_logger("trailroom.engines.openai")

DEFAULT_MODEL = "gpt-image-1"
# Try-on photos are people standing: portrait is the framing that fits them. gpt-image-1 accepts
# "1024x1024", "1536x1024" (landscape), "1024x1536" (portrait) and "auto".
DEFAULT_SIZE = "1024x1536"
DEFAULT_TIMEOUT_S = 120.0

# Codes this engine raises besides the photo codes of `base`.
ENGINE_RATE_LIMITED = "engine_rate_limited"
ENGINE_TIMEOUT = "engine_timeout"
ENGINE_UNAVAILABLE = "engine_unavailable"
ENGINE_FAILED = "engine_failed"
ENGINE_MISCONFIGURED = "engine_misconfigured"
ENGINE_REJECTED = "engine_rejected"
CONTENT_POLICY_VIOLATION = "content_policy_violation"

QUALITY_SETTINGS: dict[Quality, Literal["low", "medium", "high"]] = {
    Quality.FAST: "low",
    Quality.BALANCED: "medium",
    Quality.HIGH: "high",
}

_OUTPUT_FORMATS: dict[OutputFormat, Literal["png", "jpeg", "webp"]] = {
    OutputFormat.PNG: "png",
    OutputFormat.JPEG: "jpeg",
    OutputFormat.WEBP: "webp",
}
_PIL_FORMATS: dict[OutputFormat, str] = {
    OutputFormat.PNG: "PNG",
    OutputFormat.JPEG: "JPEG",
    OutputFormat.WEBP: "WEBP",
}
# The `error.code` values OpenAI answers (with 400) when its safety system refuses a request.
_CONTENT_POLICY_CODES = frozenset({"moderation_blocked", "content_policy_violation"})
# A 429 that waiting will not cure: the organisation is out of quota or billing is off.
_QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached"})
_SIZE_PATTERN = re.compile(r"^(auto|\d+x\d+)$")

_GARMENT_WORDS: dict[TryOnMode, str] = {
    TryOnMode.TOP: "the top (upper-body garment)",
    TryOnMode.BOTTOM: "the bottom (trousers, skirt or shorts)",
    TryOnMode.DRESS: "the dress (one-piece garment)",
}


def default_prompt(mode: TryOnMode, garment_photo_type: GarmentPhotoType = GarmentPhotoType.FLAT_LAY) -> str:
    """The built-in prompt for a mode: used when the request carries none (the prompt store's
    active template comes in `TryOnInput.prompt` and takes precedence)."""
    source = (
        "worn by a model in the photo: take only the garment, not that model's body, face or pose"
        if garment_photo_type is GarmentPhotoType.ON_MODEL
        else "photographed on its own"
    )
    if mode is TryOnMode.FULL:
        task = (
            "The first image is a photo of a person. The second image shows a top and the third a "
            f"bottom, each {source}. Dress the person in both: the top on the upper body and the "
            "bottom on the legs, replacing what they wear there."
        )
    else:
        replaced = {
            TryOnMode.TOP: "the garment on their upper body",
            TryOnMode.BOTTOM: "what they wear on their legs",
            TryOnMode.DRESS: "their outfit",
        }[mode]
        task = (
            f"The first image is a photo of a person. The second image shows {_GARMENT_WORDS[mode]}, "
            f"{source}. Dress the person in it, replacing {replaced}."
        )
    return (
        f"{task} Keep the garment's colour, pattern, print, logo, fabric and cut exactly as shown, "
        "fitted naturally to the person's body and pose with realistic folds and shadows. Keep the "
        "person's face, identity, hair, skin tone, body shape, pose and hands unchanged, and keep the "
        "background, framing and lighting of their photo. Photorealistic; one person; no text."
    )


def _image_file(name: str, data: bytes) -> tuple[str, bytes, str]:
    """The multipart file for one input image: OpenAI checks the part's media type, so it is sniffed."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        extension, media_type = "png", "image/png"
    elif data[:3] == b"\xff\xd8\xff":
        extension, media_type = "jpg", "image/jpeg"
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        extension, media_type = "webp", "image/webp"
    else:
        raise EngineError(INVALID_IMAGE, f"the {name} image is not JPEG, PNG or WebP")
    return f"{name}.{extension}", data, media_type


class OpenAIEngine:
    """Try-on through OpenAI's `images.edit`. One instance holds one HTTP connection pool: reuse it,
    and `await engine.aclose()` when done."""

    name = "openai"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        model: str = DEFAULT_MODEL,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        size: str = DEFAULT_SIZE,
        input_fidelity: Literal["high", "low"] | None = None,
    ) -> None:
        """`api_key` None falls back to `OPENAI_API_KEY`; `base_url` None means OpenAI itself (or
        `OPENAI_BASE_URL`). `input_fidelity` is sent only when set: not every model accepts it."""
        if not _SIZE_PATTERN.match(size):
            raise EngineError(ENGINE_MISCONFIGURED, f"size must be 'auto' or WIDTHxHEIGHT, not {size!r}")
        if timeout_s <= 0:
            raise EngineError(ENGINE_MISCONFIGURED, f"timeout_s must be positive, not {timeout_s!r}")
        self.model = model
        self.size = size
        self.timeout_s = timeout_s
        self.input_fidelity = input_fidelity
        try:
            self._client = AsyncOpenAI(api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0)
        except openai.OpenAIError as exc:  # no key given and none in the environment
            raise EngineError(ENGINE_MISCONFIGURED, f"OpenAI client not configured: {exc}") from None

    async def aclose(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> OpenAIEngine:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def generate(self, request: TryOnInput) -> TryOnOutput:
        images = [_image_file("person", request.person), _image_file("garment", request.garment)]
        if request.mode is TryOnMode.FULL:
            if request.bottom is None:
                raise EngineError(INVALID_REQUEST, "mode 'full' needs a bottom garment image")
            images.append(_image_file("bottom", request.bottom))
        prompt = request.prompt or default_prompt(request.mode, request.garment_photo_type)

        try:
            # The SDK's timeout bounds each read and write; this bounds the whole call.
            async with asyncio.timeout(self.timeout_s):
                response = await self._client.images.edit(
                    image=images,
                    prompt=prompt,
                    model=self.model,
                    n=1,
                    size=self.size,
                    quality=QUALITY_SETTINGS[request.quality],
                    output_format=_OUTPUT_FORMATS[request.output_format],
                    input_fidelity=self.input_fidelity if self.input_fidelity else openai.omit,
                )
        except TimeoutError:
            raise EngineError(ENGINE_TIMEOUT, "OpenAI did not answer in time", transient=True) from None
        except openai.APIError as exc:
            raise _engine_error(exc) from exc

        first = response.data[0] if response.data else None
        if first is None or not first.b64_json:
            raise EngineError(ENGINE_FAILED, "OpenAI answered without image data", transient=True)
        if response.usage is not None:
            log.info(
                "openai image edit",
                model=self.model,
                input_tokens=response.usage.input_tokens,
                output_tokens=response.usage.output_tokens,
            )
        return _decode(first.b64_json, request.output_format)


def _engine_error(exc: openai.APIError) -> EngineError:
    """Map an SDK error to the engine's codes; `transient` marks what the worker may retry."""
    if isinstance(exc, openai.APITimeoutError):
        return EngineError(ENGINE_TIMEOUT, "OpenAI did not answer in time", transient=True)
    if isinstance(exc, openai.APIConnectionError):
        return EngineError(ENGINE_UNAVAILABLE, f"could not reach OpenAI: {exc.message}", transient=True)
    if not isinstance(exc, openai.APIStatusError):  # e.g. a 200 whose body is not an images response
        return EngineError(ENGINE_FAILED, f"unexpected answer from OpenAI: {exc.message}", transient=True)

    status, code = exc.status_code, exc.code
    described = f"OpenAI answered {status}" + (f" ({code})" if code else "")
    if status == 429:
        if code in _QUOTA_CODES:
            return EngineError(ENGINE_MISCONFIGURED, f"{described}: {exc.message}")
        return EngineError(ENGINE_RATE_LIMITED, f"{described}: rate limited", transient=True)
    if status >= 500:
        return EngineError(ENGINE_UNAVAILABLE, described, transient=True)
    if status == 408:
        return EngineError(ENGINE_TIMEOUT, described, transient=True)
    if code in _CONTENT_POLICY_CODES:
        return EngineError(CONTENT_POLICY_VIOLATION, "OpenAI's safety system refused the images or the prompt")
    if status in (401, 403):
        # The message may quote part of the key: it is not repeated.
        return EngineError(ENGINE_MISCONFIGURED, f"{described}: check the API key, organisation and project")
    if status == 404 or code == "model_not_found":
        return EngineError(ENGINE_MISCONFIGURED, f"{described}: {exc.message}")
    return EngineError(ENGINE_REJECTED, f"{described}: {exc.message}")


def _decode(b64_json: str, output_format: OutputFormat) -> TryOnOutput:
    try:
        data = base64.b64decode(b64_json, validate=True)
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            width, height = image.size
            if image.format != _PIL_FORMATS[output_format]:
                # The API answers in the format asked for; should it not, keep our output contract.
                data = _encode(image, output_format)
    except (binascii.Error, UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        raise EngineError(ENGINE_FAILED, f"OpenAI's image could not be decoded: {exc}", transient=True) from None
    return TryOnOutput(image=data, media_type=MEDIA_TYPES[output_format], width=width, height=height)


def _encode(image: Image.Image, output_format: OutputFormat) -> bytes:
    if output_format is OutputFormat.JPEG and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=_PIL_FORMATS[output_format])
    return buffer.getvalue()
