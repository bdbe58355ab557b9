"""A local server that speaks OpenAI's image edit API (`POST /v1/images/edits`) for the tests.

It takes what OpenAI takes (multipart/form-data with `image[]` parts (or one `image`), `model`,
`prompt`, `size`, `quality`, `n`, `output_format`; a Bearer key), checks it the way OpenAI does, and
answers the way OpenAI does: `{"created", "data": [{"b64_json"}], "usage", ...}` with a real image of
the requested size and format, or an OpenAI error body `{"error": {"message", "type", "param",
"code"}}` with the matching status.

Tests point the real SDK at it (`base_url=f"{server.url}/v1"`), choose a failure with
`server.failure`, and read what the SDK sent in `server.requests`."""

from __future__ import annotations

import asyncio
import base64
import io
import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from litestar import Litestar, Request, Response, post
from litestar.datastructures import UploadFile
from PIL import Image, ImageOps

API_KEY = "sk-test-trailroom-0123456789abcdef"

SIZES = ("1024x1024", "1024x1536", "1536x1024", "auto")
QUALITIES = ("low", "medium", "high", "auto")
OUTPUT_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
IMAGE_MEDIA_TYPES = ("image/png", "image/jpeg", "image/webp")
MAX_IMAGES = 16


class Failure(StrEnum):
    """How the next requests fail (after authentication, which always comes first, as at OpenAI)."""

    RATE_LIMIT = "rate_limit"  # 429 rate_limit_exceeded
    INSUFFICIENT_QUOTA = "insufficient_quota"  # 429 insufficient_quota
    MODERATION = "moderation"  # 400 moderation_blocked (gpt-image-1's safety system)
    CONTENT_POLICY = "content_policy"  # 400 content_policy_violation (the older code)
    SERVER_ERROR = "server_error"  # 500 server_error
    UNAVAILABLE = "unavailable"  # 503 from the edge
    SLOW = "slow"  # answers after `slow_s` seconds
    NO_IMAGE = "no_image"  # 200 whose `data` holds no image


@dataclass
class ReceivedImage:
    field: str  # the multipart field name: "image[]" for a list, "image" for one
    filename: str
    content_type: str
    data: bytes


@dataclass
class ReceivedEdit:
    """One `POST /v1/images/edits` as it arrived."""

    authorization: str | None
    content_type: str
    fields: dict[str, str]  # every non-file form field
    images: list[ReceivedImage]


def _error(status: int, message: str, type_: str, code: str | None, param: str | None = None) -> Response[Any]:
    return Response(
        {"error": {"message": message, "type": type_, "param": param, "code": code}},
        status_code=status,
        headers={"x-request-id": f"req_{secrets.token_hex(16)}"},
    )


def _invalid_value(param: str, value: str, allowed: tuple[str, ...]) -> Response[Any]:
    supported = ", ".join(f"'{a}'" for a in allowed[:-1]) + f", and '{allowed[-1]}'"
    return _error(
        400,
        f"Invalid value: '{value}'. Supported values are: {supported}.",
        "invalid_request_error",
        "invalid_value",
        param,
    )


def _result_image(person: bytes, garments: list[bytes], size: str, output_format: str) -> bytes:
    """A stand-in result: the person photo fitted to the output size with the garments laid over it."""
    with Image.open(io.BytesIO(person)) as opened:
        base = opened.convert("RGB")
    if size == "auto":
        size = "1024x1536" if base.height > base.width else "1536x1024" if base.width > base.height else "1024x1024"
    width, height = (int(v) for v in size.split("x"))
    canvas = ImageOps.fit(base, (width, height))
    for index, garment in enumerate(garments):
        with Image.open(io.BytesIO(garment)) as opened:
            patch = ImageOps.contain(opened.convert("RGB"), (width // 3, height // 4))
        canvas.paste(patch, ((width - patch.width) // 2, height // 4 + index * height // 4))
    buffer = io.BytesIO()
    canvas.save(buffer, format=OUTPUT_FORMATS[output_format], compress_level=1)
    return buffer.getvalue()


@dataclass
class OpenAIServer:
    url: str  # e.g. http://127.0.0.1:PORT; the SDK's base_url is f"{url}/v1"
    api_key: str = API_KEY
    failure: Failure | None = None
    slow_s: float = 2.0
    requests: list[ReceivedEdit] = field(default_factory=list)

    def reset(self) -> None:
        self.failure = None
        self.slow_s = 2.0
        self.requests.clear()

    def app(self) -> Litestar:
        server = self

        @post("/v1/images/edits", status_code=200)
        async def images_edits(request: Request[Any, Any, Any]) -> Response[Any]:
            authorization = request.headers.get("authorization")
            if not authorization or not authorization.startswith("Bearer "):
                return _error(
                    401,
                    "You didn't provide an API key. You need to provide your API key in an Authorization "
                    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                    "invalid_request_error",
                    None,
                )
            key = authorization.removeprefix("Bearer ")
            if key != server.api_key:
                shown = f"{key[:3]}*****{key[-4:]}" if len(key) > 8 else key
                return _error(
                    401,
                    f"Incorrect API key provided: {shown}. You can find your API key at "
                    "https://platform.openai.com/account/api-keys.",
                    "invalid_request_error",
                    "invalid_api_key",
                )

            content_type = request.headers.get("content-type", "")
            if not content_type.startswith("multipart/form-data"):
                return _error(
                    400,
                    f"Invalid Content-Type header ({content_type}), expected multipart/form-data.",
                    "invalid_request_error",
                    None,
                )
            form = await request.form()
            fields: dict[str, str] = {}
            images: list[ReceivedImage] = []
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    if name in ("image", "image[]"):
                        images.append(ReceivedImage(name, value.filename, value.content_type, await value.read()))
                else:
                    fields[name] = value
            server.requests.append(ReceivedEdit(authorization, content_type, fields, images))

            if "prompt" not in fields:
                return _error(
                    400,
                    "Missing required parameter: 'prompt'.",
                    "invalid_request_error",
                    "missing_required_parameter",
                    "prompt",
                )
            if not images:
                return _error(
                    400,
                    "Missing required parameter: 'image'.",
                    "invalid_request_error",
                    "missing_required_parameter",
                    "image",
                )
            if len(images) > MAX_IMAGES:
                return _error(
                    400,
                    f"Invalid 'image': too many images ({len(images)}); at most {MAX_IMAGES} are accepted.",
                    "invalid_request_error",
                    "array_above_max_length",
                    "image",
                )
            for index, image in enumerate(images):
                if image.content_type not in IMAGE_MEDIA_TYPES:
                    label = f"image[{index}]" if image.field == "image[]" else "image"
                    return _error(
                        400,
                        f"Invalid file '{label}': unsupported mimetype ('{image.content_type}'). Supported file "
                        "formats are 'image/jpeg', 'image/png', and 'image/webp'.",
                        "invalid_request_error",
                        "unsupported_file_mimetype",
                        "image",
                    )
            size = fields.get("size", "auto")
            if size not in SIZES:
                return _invalid_value("size", size, SIZES)
            quality = fields.get("quality", "auto")
            if quality not in QUALITIES:
                return _invalid_value("quality", quality, QUALITIES)
            output_format = fields.get("output_format", "png")
            if output_format not in OUTPUT_FORMATS:
                return _invalid_value("output_format", output_format, tuple(OUTPUT_FORMATS))
            n = int(fields.get("n", "1"))
            if not 1 <= n <= 10:
                return _error(
                    400,
                    f"Invalid 'n': integer above/below range ({n}).",
                    "invalid_request_error",
                    "integer_out_of_range",
                    "n",
                )

            if server.failure is Failure.RATE_LIMIT:
                return Response(
                    {
                        "error": {
                            "message": "Rate limit reached for gpt-image-1 in organization org-test on images per "
                            "minute (IPM): Limit 5, Used 5, Requested 1. Please try again in 12s.",
                            "type": "requests",
                            "param": None,
                            "code": "rate_limit_exceeded",
                        }
                    },
                    status_code=429,
                    headers={
                        "x-request-id": f"req_{secrets.token_hex(16)}",
                        "x-ratelimit-limit-requests": "5",
                        "x-ratelimit-remaining-requests": "0",
                        "x-ratelimit-reset-requests": "12s",
                    },
                )
            if server.failure is Failure.INSUFFICIENT_QUOTA:
                return _error(
                    429,
                    "You exceeded your current quota, please check your plan and billing details.",
                    "insufficient_quota",
                    "insufficient_quota",
                )
            if server.failure is Failure.MODERATION:
                return _error(
                    400,
                    "Your request was rejected as a result of our safety system. Your request may contain "
                    "content that is not allowed by our safety system.",
                    "image_generation_user_error",
                    "moderation_blocked",
                )
            if server.failure is Failure.CONTENT_POLICY:
                return _error(
                    400,
                    "Your request was rejected as a result of our safety system.",
                    "invalid_request_error",
                    "content_policy_violation",
                )
            if server.failure is Failure.SERVER_ERROR:
                return _error(
                    500,
                    "The server had an error while processing your request. Sorry about that!",
                    "server_error",
                    None,
                )
            if server.failure is Failure.UNAVAILABLE:
                return _error(503, "The engine is currently overloaded, please try again later.", "server_error", None)
            if server.failure is Failure.SLOW:
                await asyncio.sleep(server.slow_s)

            data: list[dict[str, Any]] = []
            if server.failure is not Failure.NO_IMAGE:
                result = _result_image(images[0].data, [i.data for i in images[1:]], size, output_format)
                data = [{"b64_json": base64.b64encode(result).decode("ascii")} for _ in range(n)]
            return Response(
                {
                    "created": int(time.time()),
                    "background": "opaque",
                    "data": data,
                    "output_format": output_format,
                    "quality": quality,
                    "size": size,
                    "usage": {
                        "input_tokens": 323 * len(images) + len(fields["prompt"]) // 4,
                        "input_tokens_details": {
                            "image_tokens": 323 * len(images),
                            "text_tokens": len(fields["prompt"]) // 4,
                        },
                        "output_tokens": 1056,
                        "total_tokens": 323 * len(images) + len(fields["prompt"]) // 4 + 1056,
                    },
                },
                headers={"x-request-id": f"req_{secrets.token_hex(16)}", "openai-processing-ms": "25"},
            )

        # OpenAI takes up to 16 images of up to 50 MB each.
        return Litestar([images_edits], request_max_body_size=MAX_IMAGES * 50 * 1024 * 1024, logging_config=None)
