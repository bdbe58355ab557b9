"""Image intake: what a caller sends as a person or garment photo becomes a clean, upright image.

Three ways in, one way out:
- `parse_image_reference` reads a JSON image value: an `https://` URL, a `data:image/...;base64,`
  URI or bare base64 (strict, size-checked on the encoded length before decoding).
- `fetch_image` downloads a URL with an SSRF guard (see its docstring and `FetchPolicy`).
- `normalize_image` (CPU work: call `normalize_image_async` from async code) sniffs the type from
  the content, enforces the byte limit and the pixel limits from the header before any pixel is
  decoded, applies the EXIF orientation, converts to sRGB (8-bit RGB, or RGBA when the image has
  transparency) and re-encodes without any metadata: JPEG stays JPEG (quality 95), PNG and WebP
  become PNG. Of an animated PNG or WebP (or a multi-picture JPEG) only the first frame is kept.

Every problem is an `InvalidInput` with `field=<the input's field>` and one of these codes:

| code | when |
| --- | --- |
| `image_not_decodable` | empty, not an image, truncated or corrupt, malformed base64 |
| `unsupported_image_type` | an image or document of another type (GIF, BMP, TIFF, HEIC, AVIF, SVG, PDF, ...) |
| `image_too_large` | over the byte limit, the pixel limit or the longest-side limit (decompression bombs) |
| `image_too_small` | the shortest side is under the minimum |
| `invalid_image_url` | not `https://` (http only where the policy allows), credentials in it, malformed |
| `image_url_forbidden` | the URL or a redirect resolves to a non-public address |
| `image_url_unreachable` | DNS or connection failure, timeout, a non-2xx answer, too many redirects |
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import io
import re
import struct
from dataclasses import dataclass
from typing import Literal

import httpx
import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from trailroom.core.errors import InvalidInput
from trailroom.core.netguard import (
    AddressForbidden,
    ConnectFailed,
    GuardedClient,
    OutboundPolicy,
    OutboundRefused,
    RedirectBroken,
    TooLarge,
    TooManyRedirects,
    Unresolvable,
    UrlRejected,
    parse_url,
    read_capped,
)

MIB = 1024 * 1024

# What an accepted photo is stored as (JPEG stays JPEG; PNG and WebP become PNG), not a result format.
NormalizedFormat = Literal["jpeg", "png"]


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 10 * MIB
    max_pixels: int = 25_000_000
    min_side: int = 256
    max_side: int = 8192

    def __post_init__(self) -> None:
        if min(self.max_bytes, self.max_pixels, self.min_side, self.max_side) <= 0:
            raise ValueError("image limits must be positive")
        if self.min_side > self.max_side:
            raise ValueError("min_side must not exceed max_side")

    @property
    def pixel_ceiling(self) -> int:
        """The pixel limit actually enforced: never above Pillow's own decompression-bomb threshold,
        so Pillow never gets to warn about (and then decode) an image we would accept."""
        pillow_limit = Image.MAX_IMAGE_PIXELS
        return self.max_pixels if pillow_limit is None else min(self.max_pixels, pillow_limit)

    @property
    def max_base64_chars(self) -> int:
        return 4 * ((self.max_bytes + 2) // 3)


DEFAULT_LIMITS = ImageLimits()


@dataclass(frozen=True)
class NormalizedImage:
    data: bytes
    media_type: str  # image/jpeg or image/png
    width: int
    height: int
    format: NormalizedFormat

    @property
    def extension(self) -> str:
        return "jpg" if self.format == "jpeg" else "png"


def _invalid(code: str, detail: str, field: str) -> InvalidInput:
    return InvalidInput(detail, code=code, field=field)


def _size_text(n: int) -> str:
    if n >= MIB:
        return f"{n / MIB:.3g} MiB"
    if n >= 1024:
        return f"{n / 1024:.3g} KiB"
    return f"{n} bytes"


# --- what the bytes are -------------------------------------------------------------------------

_ACCEPTED_NAMES = "JPEG, PNG or WebP"
_ACCEPTED = ("JPEG", "PNG", "WEBP")  # Pillow's names of the formats we take
_SAME_AS = {"MPO": "JPEG"}  # Pillow's JPEG reader names a JPEG with more pictures (as cameras write) MPO
# Types Pillow recognises by their signature, named in the refusal (as people call them).
_NAMED_BY_PILLOW = {
    "GIF": "GIF",
    "BMP": "BMP",
    "DIB": "BMP",
    "TIFF": "TIFF",
    "ICO": "ICO",
    "ICNS": "ICNS",
    "PSD": "Photoshop (PSD)",
    "DDS": "DDS",
    "QOI": "QOI",
    "JPEG2000": "JPEG 2000",
    "AVIF": "AVIF",
}
# Types Pillow cannot open, so cannot name: the ones phones and design tools commonly hand people.
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_UNREADABLE_SIGNATURES = ((b"%PDF-", "PDF"), (b"\xff\x0a", "JPEG XL"), (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"))
# What Pillow raises on a header or pixels it cannot read (UnidentifiedImageError is an OSError).
_PILLOW_READ_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error)
# Pillow's own decompression-bomb guard (its warning counts when warnings are errors).
_PILLOW_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)


def _other_image_type(data: bytes) -> str | None:
    """The name of a recognisable image (or document) type we do not accept, if it is one."""
    # The header only: nothing is decoded.
    with (
        contextlib.suppress(*_PILLOW_READ_ERRORS, *_PILLOW_BOMB),
        Image.open(io.BytesIO(data), formats=list(_NAMED_BY_PILLOW)) as image,
    ):
        return _NAMED_BY_PILLOW.get(image.format or "")
    for signature, name in _UNREADABLE_SIGNATURES:
        if data.startswith(signature):
            return name
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _AVIF_BRANDS:
            return "AVIF"
        if brand in _HEIF_BRANDS:
            return "HEIC/HEIF"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<?xml", b"<!doctype svg", b"<svg")) and b"<svg" in head:
        return "SVG"
    return None


def _not_accepted(data: bytes, field: str) -> InvalidInput:
    other = _other_image_type(data)
    if other is not None:
        return _invalid(
            "unsupported_image_type", f"The {field} is a {other} file; send a {_ACCEPTED_NAMES} image.", field
        )
    return _invalid("image_not_decodable", f"The {field} is not an image; send a {_ACCEPTED_NAMES} image.", field)


def _check_dimensions(width: int, height: int, limits: ImageLimits, field: str) -> None:
    if width <= 0 or height <= 0:
        raise _invalid("image_not_decodable", f"The {field} declares an empty size ({width}x{height}).", field)
    if width * height > limits.pixel_ceiling:
        raise _invalid(
            "image_too_large",
            f"The {field} is {width}x{height} pixels ({width * height / 1e6:.1f} MP); "
            f"the limit is {limits.pixel_ceiling / 1e6:.1f} MP.",
            field,
        )
    if max(width, height) > limits.max_side:
        raise _invalid(
            "image_too_large",
            f"The {field} is {width}x{height} pixels; no side may exceed {limits.max_side} pixels.",
            field,
        )
    if min(width, height) < limits.min_side:
        raise _invalid(
            "image_too_small",
            f"The {field} is {width}x{height} pixels; both sides must be at least {limits.min_side} pixels.",
            field,
        )


# --- normalization ------------------------------------------------------------------------------

_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_ICC_MODES = {"RGB", "RGBA", "CMYK", "L"}


def _make_upright(image: Image.Image) -> None:
    """Apply the EXIF orientation to the pixels, in place (no second copy of a large image)."""
    # Unreadable EXIF: there is no orientation we could trust, keep the pixels as stored.
    with contextlib.suppress(ValueError, TypeError, KeyError, OSError, struct.error, SyntaxError):
        ImageOps.exif_transpose(image, in_place=True)


def _to_srgb(image: Image.Image, icc: bytes, mode: str) -> Image.Image | None:
    """Convert from the embedded ICC profile to sRGB; None when it is sRGB already or unusable."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in (ImageCms.getProfileDescription(source) or "").lower():
            return None
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError, KeyError):
        return None
    return converted


def _eight_bit(image: Image.Image) -> Image.Image:
    """16-bit and 32-bit grey (PNG) and float images as 8-bit grey, scaled rather than clipped."""
    values = np.asarray(image)
    scaled = np.clip(values, 0, 255) if image.mode == "F" else np.clip(values.astype(np.int64) >> 8, 0, 255)
    return Image.fromarray(scaled.astype(np.uint8), "L")


def _to_rgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """8-bit RGB, or RGBA when the image has transparency that shows (a fully opaque alpha is dropped)."""
    if image.mode.startswith("I") or image.mode == "F":
        image = _eight_bit(image)
    has_alpha = image.mode in _ALPHA_MODES or "transparency" in image.info
    target = "RGBA" if has_alpha else "RGB"
    converted = None
    if icc and image.mode in _ICC_MODES and (target == "RGB" or image.mode == "RGBA"):
        converted = _to_srgb(image, icc, target)
    if converted is None:
        if image.mode == "La":
            image = image.convert("LA")
        converted = image if image.mode == target else image.convert(target)
    if converted.mode == "RGBA":
        alpha_range = converted.getchannel("A").getextrema()
        if alpha_range == (255, 255):
            converted = converted.convert("RGB")
    return converted


def _too_many_pixels(limits: ImageLimits, field: str) -> InvalidInput:
    return _invalid(
        "image_too_large",
        f"The {field} has too many pixels to be decoded safely; the limit is {limits.pixel_ceiling / 1e6:.1f} MP.",
        field,
    )


def _decode(data: bytes, limits: ImageLimits, field: str) -> tuple[Image.Image, str, bytes | None]:
    """The image, the accepted type it is (from the bytes, by Pillow) and its ICC profile. Pillow
    reads the header first (lazily): its size is checked before any pixel is decoded."""
    try:
        image = Image.open(io.BytesIO(data), formats=list(_ACCEPTED))
        _check_dimensions(image.width, image.height, limits, field)
        image.load()
    except InvalidInput:
        raise
    except UnidentifiedImageError as exc:
        raise _not_accepted(data, field) from exc
    except _PILLOW_BOMB as exc:  # refused, never decoded
        raise _too_many_pixels(limits, field) from exc
    except _PILLOW_READ_ERRORS as exc:
        raise _invalid(
            "image_not_decodable",
            f"The {field} could not be decoded: it is truncated or corrupt.",
            field,
        ) from exc
    kind = _SAME_AS.get(image.format or "", image.format or "")
    icc = image.info.get("icc_profile")
    _make_upright(image)
    return image, kind, icc if isinstance(icc, bytes) and icc else None


def normalize_image(data: bytes, limits: ImageLimits, *, field: str) -> NormalizedImage:
    """Check and clean one image; the type comes from the bytes, never from a file name or a declared type."""
    if not data:
        raise _invalid("image_not_decodable", f"The {field} is empty.", field)
    if len(data) > limits.max_bytes:
        raise _invalid(
            "image_too_large",
            f"The {field} is {_size_text(len(data))}; the limit is {_size_text(limits.max_bytes)}.",
            field,
        )
    image, kind, icc = _decode(data, limits, field)
    image = _to_rgb(image, icc)
    # Nothing from the source travels on: no EXIF, XMP, ICC, comments or text chunks.
    image.info = {}
    out = io.BytesIO()
    output_format: NormalizedFormat
    if kind == "JPEG":
        output_format = "jpeg"
        if image.mode != "RGB":
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=95, exif=b"", icc_profile=None)
    else:
        output_format = "png"
        image.save(out, "PNG", compress_level=3)  # level 6 is ~4x slower for ~7% smaller files
    return NormalizedImage(
        data=out.getvalue(),
        media_type=f"image/{output_format}",
        width=image.width,
        height=image.height,
        format=output_format,
    )


async def normalize_image_async(data: bytes, limits: ImageLimits, *, field: str) -> NormalizedImage:
    """`normalize_image` on a worker thread, so decoding never blocks the event loop."""
    return await asyncio.to_thread(normalize_image, data, limits, field=field)


# --- JSON image values --------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageUrl:
    url: str


@dataclass(frozen=True)
class InlineImage:
    data: bytes
    declared_type: str | None = None  # from a data: URI; informative only, the bytes are sniffed


ImageReference = ImageUrl | InlineImage

MAX_URL_LENGTH = 2048
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_DATA_URI = re.compile(r"^data:(?P<type>[^;,]*)(?P<params>(?:;[^;,]*)*),", re.IGNORECASE)


def _decode_base64(text: str, limits: ImageLimits, field: str) -> bytes:
    if not text:
        raise _invalid("image_not_decodable", f"The {field} is empty.", field)
    if len(text) > limits.max_base64_chars:
        raise _invalid(
            "image_too_large",
            f"The {field} is larger than {_size_text(limits.max_bytes)} once decoded.",
            field,
        )
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _invalid(
            "image_not_decodable",
            f"The {field} is not valid base64 (standard alphabet with padding, no line breaks).",
            field,
        ) from exc


def _url_problem(exc: UrlRejected, field: str) -> InvalidInput:
    if exc.problem == "scheme":
        return _invalid(
            "invalid_image_url",
            f"The {field} URL must start with https:// (got {exc.scheme or 'no'} scheme).",
            field,
        )
    if exc.problem == "no_host":
        return _invalid("invalid_image_url", f"The {field} URL has no host.", field)
    if exc.problem == "credentials":
        return _invalid("invalid_image_url", f"The {field} URL must not contain credentials.", field)
    return _invalid("invalid_image_url", f"The {field} URL is not a valid URL.", field)


def _check_url_text(value: str, field: str, *, allow_http: bool) -> httpx.URL:
    if len(value) > MAX_URL_LENGTH:
        raise _invalid("invalid_image_url", f"The {field} URL is longer than {MAX_URL_LENGTH} characters.", field)
    try:
        return parse_url(value, allow_http=allow_http)
    except UrlRejected as exc:
        raise _url_problem(exc, field) from exc


def parse_image_reference(
    value: str, *, limits: ImageLimits = DEFAULT_LIMITS, field: str = "image", allow_http: bool = False
) -> ImageReference:
    """An image value from JSON: an `https://` URL, a `data:image/...;base64,` URI or bare base64.
    `allow_http` (tests and local development only) also accepts `http://` URLs."""
    text = value.strip()
    scheme_match = _SCHEME.match(text)
    if scheme_match is None:
        return InlineImage(_decode_base64(text, limits, field))
    scheme = scheme_match.group(1).lower()
    if scheme == "data":
        header = _DATA_URI.match(text[:512])
        if header is None:
            raise _invalid("image_not_decodable", f"The {field} is not a valid data: URI.", field)
        media_type = header.group("type").strip().lower()
        params = [p.strip().lower() for p in header.group("params").split(";") if p.strip()]
        if not media_type.startswith("image/"):
            raise _invalid(
                "unsupported_image_type",
                f"The {field} data: URI must declare an image type (got {media_type or 'none'}).",
                field,
            )
        if "base64" not in params:
            raise _invalid("image_not_decodable", f"The {field} data: URI must be base64 encoded (;base64,).", field)
        return InlineImage(_decode_base64(text[header.end() :], limits, field), declared_type=media_type)
    if scheme == "https" or (scheme == "http" and allow_http):
        url = _check_url_text(text, field, allow_http=allow_http)
        return ImageUrl(str(url))
    raise _invalid(
        "invalid_image_url",
        f"The {field} must be an https:// URL, a data:image/...;base64, URI or base64 (got a {scheme}: URL).",
        field,
    )


# --- fetching URLs (SSRF guard) -----------------------------------------------------------------


@dataclass(frozen=True)
class FetchPolicy(OutboundPolicy):
    """The guarded client's policy for image URLs: image hosts and CDNs redirect, so a few are followed."""

    max_redirects: int = 3


DEFAULT_FETCH_POLICY = FetchPolicy()
_FETCH_HEADERS = {
    "User-Agent": "TrailRoom-ImageFetcher/1.0",
    "Accept": "image/jpeg, image/png, image/webp, image/*;q=0.8",
    "Accept-Encoding": "identity",
}


def _fetch_problem(exc: OutboundRefused, limits: ImageLimits, field: str) -> InvalidInput:
    """The image intake's words for why the guarded client did not bring the image."""
    if isinstance(exc, UrlRejected):
        return _url_problem(exc, field)
    if isinstance(exc, Unresolvable):
        return _invalid("image_url_unreachable", f"The {field} URL's host {exc.host} could not be resolved.", field)
    if isinstance(exc, AddressForbidden):
        where = "redirects to a host that resolves to" if exc.redirected else "resolves to"
        return _invalid(
            "image_url_forbidden",
            f"The {field} URL {where} {exc.reason}; only public internet addresses can be fetched.",
            field,
        )
    if isinstance(exc, RedirectBroken):
        if exc.location is None:
            return _invalid(
                "image_url_unreachable", f"The {field} URL answered {exc.status_code} without a Location.", field
            )
        return _invalid("invalid_image_url", f"The {field} URL redirects to an invalid URL.", field)
    if isinstance(exc, TooManyRedirects):
        return _invalid(
            "image_url_unreachable", f"The {field} URL redirected more than {exc.max_redirects} times.", field
        )
    if isinstance(exc, TooLarge):
        return _invalid(
            "image_too_large", f"The image at the {field} URL is larger than {_size_text(limits.max_bytes)}.", field
        )
    if isinstance(exc, ConnectFailed):
        return _invalid(
            "image_url_unreachable", f"The {field} URL could not be reached ({exc.cause or 'no address'}).", field
        )
    return _invalid("image_url_unreachable", f"The {field} URL could not be fetched ({exc}).", field)


async def _fetch(url: str, limits: ImageLimits, guard: GuardedClient, field: str) -> bytes:
    try:
        async with guard.stream(
            "GET", _check_url_text(url, field, allow_http=guard.policy.allow_http), headers=_FETCH_HEADERS
        ) as response:
            if not response.is_success:
                raise _invalid(
                    "image_url_unreachable",
                    f"The {field} URL answered HTTP {response.status_code} {response.reason_phrase}".rstrip() + ".",
                    field,
                )
            try:
                return await read_capped(response, limits.max_bytes)
            except httpx.HTTPError as exc:
                raise _invalid("image_url_unreachable", f"Reading the {field} URL failed ({exc}).", field) from exc
    except OutboundRefused as exc:
        raise _fetch_problem(exc, limits, field) from exc
    except httpx.HTTPError as exc:
        raise _invalid("image_url_unreachable", f"The {field} URL could not be fetched ({exc}).", field) from exc


async def fetch_image(
    url: str,
    *,
    limits: ImageLimits = DEFAULT_LIMITS,
    policy: FetchPolicy = DEFAULT_FETCH_POLICY,
    client: httpx.AsyncClient,
    field: str = "image",
) -> bytes:
    """Download an image URL a caller gave us, without letting it reach anything but the public internet.

    The request goes through `GuardedClient` (see it for the checks: every hop, at most
    `policy.max_redirects` redirects, resolved and found public before any connection, pinned to
    the checked address); the whole fetch must finish within `policy.timeout_s`, and the body is
    read as a stream and abandoned past `limits.max_bytes`. The bytes are not checked here: pass
    them to `normalize_image`. `client` must be dedicated to this (no base URL, auth, default
    headers or proxy).
    """
    try:
        return await _fetch(url, limits, GuardedClient(policy, client), field)
    except TimeoutError as exc:
        raise _invalid(
            "image_url_unreachable",
            f"The {field} URL did not deliver the image within {policy.timeout_s:g} seconds.",
            field,
        ) from exc
