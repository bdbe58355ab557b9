"""Image intake: sniffing, limits, decompression bombs, orientation, metadata stripping, JSON image
values, and the SSRF-guarded URL fetch.

URL fetches either go to real servers on 127.0.0.1 (through a transport that refuses anything but
loopback, so a broken guard can never send traffic elsewhere), or to `httpx.MockTransport`, which
records requests and never touches the network. Names other than `localhost` are resolved by a
fake resolver installed on the event loop, so no DNS query leaves the machine either.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import io
import ipaddress
import resource
import socket
import ssl
import struct
import time
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import numpy as np
import pytest
import uvicorn
from PIL import ExifTags, Image, ImageCms

from trailroom.core.errors import InvalidInput
from trailroom.core.netguard import forbidden_reason
from trailroom.domain.tryon import images
from trailroom.domain.tryon.images import (
    FetchPolicy,
    ImageLimits,
    ImageUrl,
    InlineImage,
    fetch_image,
    normalize_image,
    normalize_image_async,
    parse_image_reference,
)
from trailroom.embedded.process import free_port

DATA = Path(__file__).resolve().parent.parent / "data"
SHARED = Path("/work/shared/testdata")
LIMITS = ImageLimits()
MIB = 1024 * 1024


@pytest.fixture(autouse=True)
def clean_state() -> None:
    """These tests use no database or Redis: replace the suite's per-test cleanup with nothing."""


def photo(relative: str) -> bytes:
    for base in (DATA, SHARED):
        if (base / relative).is_file():
            return (base / relative).read_bytes()
    pytest.fail(f"test photo {relative} is missing")


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def refused(code: str, call: Callable[[], object], field_name: str = "person_image") -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        call()
    assert caught.value.code == code, caught.value.detail
    assert caught.value.extra["field"] == field_name
    assert field_name in caught.value.detail
    return caught.value


def normalize(data: bytes, limits: ImageLimits = LIMITS) -> images.NormalizedImage:
    return normalize_image(data, limits, field="person_image")


def reopen(result: images.NormalizedImage) -> Image.Image:
    image = Image.open(io.BytesIO(result.data))
    image.load()
    return image


def pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    return value


def close_to(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def halves(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", size, bottom)
    image.paste(top, (0, 0, size[0], size[1] // 2))
    return image


def png_declaring(width: int, height: int) -> bytes:
    """A valid-looking PNG whose header declares width x height, built without allocating the pixels."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + chunk(b"IEND", b"")
    )


# --- normalization: real photos ---------------------------------------------------------------


def test_real_phone_photo_is_kept_as_jpeg_without_its_metadata() -> None:
    original = photo("people/selfie_1.jpg")
    source = Image.open(io.BytesIO(original))
    # The input really carries what must go: GPS position, camera make and model, XMP, an ICC profile.
    assert ExifTags.IFD.GPSInfo in source.getexif()
    assert source.getexif()[ExifTags.Base.Make] == "Apple"
    assert {"xmp", "icc_profile", "exif"} <= set(source.info)

    result = normalize(original)

    assert (result.format, result.media_type, result.extension) == ("jpeg", "image/jpeg", "jpg")
    assert (result.width, result.height) == source.size == (768, 1024)
    cleaned = reopen(result)
    assert cleaned.format == "JPEG"
    assert cleaned.mode == "RGB"
    assert not cleaned.getexif()
    assert not {"exif", "xmp", "icc_profile", "photoshop", "comment"} & set(cleaned.info)
    for marker in (b"Apple", b"iPhone", b"Exif\x00\x00", b"http://ns.adobe.com/xap", b"Display P3"):
        assert marker not in result.data
    # Same picture (converted from Display P3 to sRGB): on average within a few levels per channel.
    difference = np.abs(np.asarray(cleaned, dtype=np.int16) - np.asarray(source.convert("RGB"), dtype=np.int16))
    assert difference.mean() < 8


def test_real_png_photo_stays_a_png_with_the_same_pixels() -> None:
    original = Image.open(io.BytesIO(photo("people/studio_1.png")))
    result = normalize(photo("people/studio_1.png"))
    assert (result.format, result.media_type) == ("png", "image/png")
    assert np.array_equal(np.asarray(reopen(result).convert("RGB")), np.asarray(original.convert("RGB")))


async def test_async_normalization_runs_off_the_event_loop() -> None:
    big = encode(Image.effect_noise((3000, 2500), 60).convert("RGB"), "JPEG", quality=90)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        result = await normalize_image_async(big, ImageLimits(max_bytes=64 * MIB), field="person_image")
    finally:
        task.cancel()
    assert (result.width, result.height) == (3000, 2500)
    # The loop kept ticking while the image was decoded and encoded on a worker thread (on the loop
    # itself, the ticker could not have run at all until the work was done).
    assert ticks >= 3


# --- normalization: orientation and metadata ----------------------------------------------------


RED, BLUE = (220, 20, 20), (20, 20, 220)


@pytest.mark.parametrize(
    ("orientation", "size", "red_at", "blue_at"),
    [
        (1, (400, 300), (200, 20), (200, 280)),  # as stored: red on top
        (3, (400, 300), (200, 280), (200, 20)),  # rotated 180: red at the bottom
        (6, (300, 400), (280, 200), (20, 200)),  # rotate 90 clockwise to view: the stored top is on the right
        (8, (300, 400), (20, 200), (280, 200)),  # rotate 90 counter-clockwise: the stored top is on the left
    ],
)
def test_exif_orientation_is_applied_and_removed(
    orientation: int, size: tuple[int, int], red_at: tuple[int, int], blue_at: tuple[int, int]
) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    stored = encode(halves((400, 300), RED, BLUE), "JPEG", quality=95, exif=exif.tobytes())

    result = normalize(stored)

    upright = reopen(result)
    assert upright.size == (result.width, result.height) == size
    assert close_to(pixel(upright, red_at), RED)
    assert close_to(pixel(upright, blue_at), BLUE)
    assert ExifTags.Base.Orientation not in upright.getexif()
    assert "exif" not in upright.info


def test_gps_camera_comment_xmp_and_icc_are_stripped_from_a_jpeg() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SecretCam"
    exif[ExifTags.Base.ImageDescription] = "SECRET-DESCRIPTION"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (13.0, 24.0, 36.0)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description creator="SECRET-XMP"/></x:xmpmeta>'
    stored = encode(
        halves((400, 300), RED, BLUE),
        "JPEG",
        exif=exif.tobytes(),
        comment=b"SECRET-COMMENT",
        xmp=xmp,
        icc_profile=srgb,
    )
    before = Image.open(io.BytesIO(stored))
    assert before.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
    assert b"SECRET-COMMENT" in stored
    assert b"SECRET-XMP" in stored

    result = normalize(stored)

    for secret in (b"SECRET", b"SecretCam", b"Exif\x00\x00", b"adobe:ns:meta"):
        assert secret not in result.data
    after = reopen(result)
    assert not after.getexif()
    assert not after.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert not {"exif", "xmp", "icc_profile", "comment"} & set(after.info)


def test_png_text_chunks_and_profile_are_stripped() -> None:
    from PIL import PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "SECRET-AUTHOR")
    text.add_text("Location", "SECRET-PLACE", zip=True)
    stored = encode(
        halves((300, 300), RED, BLUE),
        "PNG",
        pnginfo=text,
        icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
    )
    assert b"SECRET-AUTHOR" in stored

    result = normalize(stored)

    assert b"SECRET" not in result.data
    assert b"tEXt" not in result.data
    assert b"zTXt" not in result.data
    assert b"iCCP" not in result.data
    assert close_to(pixel(reopen(result), (150, 10)), RED, 0)


# --- normalization: modes and alpha -------------------------------------------------------------


def transparent_sample(mode: str = "RGBA") -> Image.Image:
    image = Image.new("RGBA", (300, 300), (200, 30, 30, 0))  # fully transparent red
    image.paste((10, 200, 10, 255), (0, 0, 150, 300))  # opaque green left half
    image.paste((10, 10, 200, 128), (150, 0, 300, 100))  # half-transparent blue corner
    return image if mode == "RGBA" else image.convert(mode)


def test_png_with_alpha_keeps_its_alpha() -> None:
    result = normalize(encode(transparent_sample(), "PNG"))
    out = reopen(result)
    assert (result.format, out.mode) == ("png", "RGBA")
    assert pixel(out, (10, 10)) == (10, 200, 10, 255)
    assert pixel(out, (200, 50)) == (10, 10, 200, 128)
    assert pixel(out, (200, 250))[3] == 0


def test_webp_with_alpha_becomes_a_png_with_alpha() -> None:
    stored = encode(transparent_sample(), "WEBP", lossless=True)
    result = normalize(stored)
    out = reopen(result)
    assert (result.format, result.media_type, out.format, out.mode) == ("png", "image/png", "PNG", "RGBA")
    assert pixel(out, (10, 10)) == (10, 200, 10, 255)
    assert pixel(out, (200, 250))[3] == 0


def test_lossy_webp_without_alpha_becomes_an_rgb_png() -> None:
    result = normalize(encode(halves((320, 280), RED, BLUE), "WEBP", quality=90))
    out = reopen(result)
    assert (out.format, out.mode, out.size) == ("PNG", "RGB", (320, 280))
    assert close_to(pixel(out, (160, 10)), RED)


def test_fully_opaque_alpha_is_dropped() -> None:
    image = halves((300, 300), RED, BLUE).convert("RGBA")
    out = reopen(normalize(encode(image, "PNG")))
    assert out.mode == "RGB"
    assert pixel(out, (10, 10)) == RED


def test_palette_png_with_transparency_becomes_rgba() -> None:
    palette = transparent_sample().convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    transparent_index = palette.getpixel((200, 250))
    assert isinstance(transparent_index, int)
    out = reopen(normalize(encode(palette, "PNG", transparency=transparent_index)))
    assert out.mode == "RGBA"
    assert pixel(out, (200, 250))[3] == 0
    assert pixel(out, (10, 10))[3] == 255


def test_palette_png_without_transparency_becomes_rgb() -> None:
    palette = halves((300, 300), RED, BLUE).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    out = reopen(normalize(encode(palette, "PNG")))
    assert out.mode == "RGB"
    assert close_to(pixel(out, (150, 10)), RED, 0)


def test_grey_with_alpha_becomes_rgba() -> None:
    image = Image.new("LA", (300, 300), (90, 255))
    image.paste((200, 0), (0, 0, 300, 150))
    out = reopen(normalize(encode(image, "PNG")))
    assert out.mode == "RGBA"
    assert pixel(out, (10, 10)) == (200, 200, 200, 0)
    assert pixel(out, (10, 200)) == (90, 90, 90, 255)


def test_cmyk_jpeg_becomes_rgb() -> None:
    image = Image.new("CMYK", (300, 300), (0, 255, 255, 0))  # red in CMYK
    stored = encode(image, "JPEG", quality=95)
    assert Image.open(io.BytesIO(stored)).mode == "CMYK"
    result = normalize(stored)
    out = reopen(result)
    assert (result.format, out.mode) == ("jpeg", "RGB")
    assert close_to(pixel(out, (150, 150)), (255, 0, 0), 16)


def test_sixteen_bit_grey_png_is_scaled_not_clipped() -> None:
    values = np.full((300, 300), 65535, dtype=np.uint16)
    values[:150] = 32768
    stored = encode(Image.fromarray(values), "PNG")
    out = reopen(normalize(stored))
    assert out.mode == "RGB"
    assert pixel(out, (5, 5)) == (128, 128, 128)
    assert pixel(out, (5, 295)) == (255, 255, 255)


def test_grey_jpeg_becomes_rgb() -> None:
    out = reopen(normalize(encode(Image.new("L", (300, 300), 77), "JPEG", quality=95)))
    assert out.mode == "RGB"
    assert close_to(pixel(out, (5, 5)), (77, 77, 77), 2)


# --- normalization: refusals --------------------------------------------------------------------


def sample(fmt: str, **params: Any) -> bytes:
    return encode(halves((300, 300), RED, BLUE), fmt, **params)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("GIF", sample("GIF")),
        ("BMP", sample("BMP")),
        ("TIFF", sample("TIFF")),
        ("ICO", sample("ICO")),
        ("SVG", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="300" height="300"/>'),
        ("SVG", b'  <svg xmlns="http://www.w3.org/2000/svg"><rect width="9" height="9"/></svg>'),
        ("PDF", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n"),
        ("HEIC/HEIF", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64),
        ("AVIF", b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 64),
    ],
)
def test_other_image_types_are_unsupported(name: str, data: bytes) -> None:
    error = refused("unsupported_image_type", lambda: normalize(data))
    assert name in error.detail
    assert "JPEG, PNG or WebP" in error.detail


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="zero bytes"),
        pytest.param(b"hello, this is a text file and not a picture\n" * 20, id="text"),
        pytest.param(bytes(range(256)) * 8, id="random bytes"),
        pytest.param(b'{"image": "person.png"}', id="json"),
        pytest.param(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", id="jpeg signature only"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, id="png signature then garbage"),
        pytest.param(b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 40, id="webp signature then garbage"),
    ],
)
def test_non_images_are_not_decodable(data: bytes) -> None:
    refused("image_not_decodable", lambda: normalize(data))


def test_truncated_jpeg_is_not_decodable() -> None:
    original = photo("people/selfie_1.jpg")
    refused("image_not_decodable", lambda: normalize(original[: len(original) // 2]))


def test_truncated_png_is_not_decodable() -> None:
    original = photo("people/studio_1.png")
    refused("image_not_decodable", lambda: normalize(original[: len(original) // 3]))


def test_type_is_sniffed_from_content_not_trusted_from_a_declaration() -> None:
    # A GIF sent as a data: URI that claims PNG is still a GIF.
    gif = sample("GIF")
    reference = parse_image_reference("data:image/png;base64," + base64.b64encode(gif).decode(), field="person_image")
    assert isinstance(reference, InlineImage)
    assert reference.declared_type == "image/png"
    refused("unsupported_image_type", lambda: normalize(reference.data))


def test_too_many_bytes_refused_before_decoding() -> None:
    data = encode(Image.effect_noise((400, 400), 60).convert("RGB"), "PNG")
    error = refused("image_too_large", lambda: normalize(data, ImageLimits(max_bytes=len(data) - 1)))
    assert "KiB" in error.detail


def test_too_small_image_refused() -> None:
    refused("image_too_small", lambda: normalize(encode(Image.new("RGB", (100, 100)), "PNG")))
    error = refused("image_too_small", lambda: normalize(encode(Image.new("RGB", (1000, 255)), "JPEG")))
    assert "1000x255" in error.detail
    assert "256" in error.detail


def test_too_long_side_refused() -> None:
    wide = encode(Image.new("RGB", (600, 300)), "PNG")
    error = refused("image_too_large", lambda: normalize(wide, ImageLimits(max_side=500)))
    assert "500" in error.detail


def test_too_many_pixels_refused() -> None:
    image = encode(Image.new("RGB", (1000, 1000)), "JPEG")
    error = refused("image_too_large", lambda: normalize(image, ImageLimits(max_pixels=999_999)))
    assert "1000x1000" in error.detail


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize(
    "bomb",
    [
        pytest.param(png_declaring(30000, 30000), id="png 30000x30000 (2.7 GB of pixels)"),
        pytest.param(png_declaring(0x7FFFFFFF, 0x7FFFFFFF), id="png at the format's maximum"),
        pytest.param(png_declaring(5001, 5000), id="png just over 25 MP"),
    ],
)
def test_decompression_bomb_refused_quickly_without_allocating(bomb: bytes) -> None:
    assert len(bomb) < 200
    rss_before = peak_rss_mib()
    started = time.perf_counter()
    error = refused("image_too_large", lambda: normalize(bomb))
    assert time.perf_counter() - started < 0.5
    assert peak_rss_mib() - rss_before < 50
    assert "MP" in error.detail


def test_jpeg_and_webp_headers_are_checked_before_decoding() -> None:
    jpeg = bytearray(encode(Image.new("RGB", (300, 300)), "JPEG"))
    frame = jpeg.index(b"\xff\xc0")
    struct.pack_into(">HH", jpeg, frame + 5, 40000, 40000)
    webp = bytearray(encode(Image.new("RGBA", (300, 300), (1, 2, 3, 4)), "WEBP"))
    assert webp[12:16] == b"VP8X"
    webp[24:30] = (16383).to_bytes(3, "little") * 2  # a 16384 x 16384 canvas
    rss_before = peak_rss_mib()
    refused("image_too_large", lambda: normalize(bytes(jpeg)))
    refused("image_too_large", lambda: normalize(bytes(webp)))
    assert peak_rss_mib() - rss_before < 50


def test_pillows_own_bomb_guard_is_mapped_when_the_header_is_unusual() -> None:
    # Junk between JPEG segments: Pillow skips the junk, finds a
    # 60000 x 60000 frame and raises its DecompressionBombError, which must become image_too_large.
    jpeg = bytearray(encode(Image.new("RGB", (300, 300)), "JPEG"))
    frame = jpeg.index(b"\xff\xc0")
    struct.pack_into(">HH", jpeg, frame + 5, 60000, 60000)
    app0_end = 4 + struct.unpack_from(">H", jpeg, 4)[0]
    with_junk = bytes(jpeg[:app0_end]) + b"\x00" + bytes(jpeg[app0_end:])
    refused("image_too_large", lambda: normalize(with_junk))


# Pillow warns (the image is past its threshold, not twice past); our ceiling then refuses it.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_pixel_limit_never_exceeds_pillows_bomb_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)
    assert ImageLimits().pixel_ceiling == 100_000
    refused("image_too_large", lambda: normalize(encode(Image.new("RGB", (400, 400)), "PNG")))


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="positive"):
        ImageLimits(max_bytes=0)
    with pytest.raises(ValueError, match="min_side"):
        ImageLimits(min_side=500, max_side=400)


# --- JSON image values ----------------------------------------------------------------------------


def test_data_uri_is_decoded() -> None:
    garment = photo("garments/top_3.jpg")
    reference = parse_image_reference("data:image/jpeg;base64," + base64.b64encode(garment).decode())
    assert reference == InlineImage(garment, declared_type="image/jpeg")
    result = normalize(reference.data)
    assert (result.format, result.width, result.height) == ("jpeg", 1024, 1024)


def test_data_uri_scheme_and_type_are_case_insensitive_and_may_have_parameters() -> None:
    payload = sample("PNG")
    reference = parse_image_reference("DATA:Image/PNG;name=x.png;BASE64," + base64.b64encode(payload).decode())
    assert reference == InlineImage(payload, declared_type="image/png")


def test_bare_base64_is_decoded() -> None:
    payload = sample("PNG")
    reference = parse_image_reference("  " + base64.b64encode(payload).decode() + "\n")
    assert reference == InlineImage(payload)
    assert normalize(reference.data).format == "png"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("aGVsbG8", id="missing padding"),
        pytest.param("aGVs\nbG8=", id="line break inside"),
        pytest.param("aGV-bG8_", id="url-safe alphabet"),
        pytest.param("not base64 at all!", id="garbage"),
        pytest.param("data:image/png;base64,@@@@", id="data uri with bad base64"),
        pytest.param("data:image/png,iVBORw0KGgo=", id="data uri not base64"),
        pytest.param("data:image/png;base64", id="data uri without comma"),
    ],
)
def test_malformed_inline_values_are_refused(value: str) -> None:
    refused("image_not_decodable", lambda: parse_image_reference(value, field="person_image"))


def test_data_uri_of_another_type_is_refused() -> None:
    value = "data:text/html;base64," + base64.b64encode(b"<script>alert(1)</script>").decode()
    error = refused("unsupported_image_type", lambda: parse_image_reference(value, field="person_image"))
    assert "text/html" in error.detail


def test_oversized_base64_is_refused_on_its_length_before_decoding() -> None:
    limits = ImageLimits(max_bytes=3000)
    # Not even valid base64: refused as too large, so it was never decoded.
    value = "!" * (limits.max_base64_chars + 4)
    refused("image_too_large", lambda: parse_image_reference(value, limits=limits, field="person_image"))
    refused(
        "image_too_large",
        lambda: parse_image_reference("data:image/png;base64," + value, limits=limits, field="person_image"),
    )
    just_fits = base64.b64encode(b"x" * 3000).decode()
    assert parse_image_reference(just_fits, limits=limits) == InlineImage(b"x" * 3000)


def test_http_url_only_where_allowed() -> None:
    refused("invalid_image_url", lambda: parse_image_reference("http://127.0.0.1:9/a.jpg", field="person_image"))
    assert parse_image_reference("http://127.0.0.1:9/a.jpg", allow_http=True) == ImageUrl("http://127.0.0.1:9/a.jpg")
    refused(
        "invalid_image_url",
        lambda: parse_image_reference("ftp://127.0.0.1/a.jpg", allow_http=True, field="person_image"),
    )


def test_https_url_is_a_reference() -> None:
    assert parse_image_reference("https://cdn.example.com/shirts/1.jpg?w=800") == ImageUrl(
        "https://cdn.example.com/shirts/1.jpg?w=800"
    )


@pytest.mark.parametrize(
    "value",
    [
        "http://cdn.example.com/a.jpg",
        "HTTP://cdn.example.com/a.jpg",
        "ftp://cdn.example.com/a.jpg",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        "javascript:alert(1)",
        "https://user:secret@cdn.example.com/a.jpg",
        "https:///a.jpg",
        "https://cdn.example.com/" + "a" * 3000,
    ],
)
def test_other_urls_are_invalid(value: str) -> None:
    refused("invalid_image_url", lambda: parse_image_reference(value, field="person_image"))


# --- address classification -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.0.9",
        "10.0.0.1",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "169.254.1.1",
        "100.64.0.1",
        "100.100.100.200",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.0.192",
        "168.63.129.16",
        "198.18.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",
        "ff02::1",
        "fec0::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
        "2002:a00:1::1",  # 6to4 around 10.0.0.1
        "2001:db8::1",
    ],
)
def test_non_public_addresses_are_forbidden(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.215.14", "2606:4700::1111", "64:ff9b::808:808"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None


def test_allow_loopback_allows_only_loopback() -> None:
    for loopback in ("127.0.0.1", "127.8.9.10", "::1"):
        assert forbidden_reason(ipaddress.ip_address(loopback), allow_loopback=True) is None
    for other in ("10.0.0.1", "192.168.1.1", "172.16.0.1", "169.254.169.254", "0.0.0.0", "::", "fd00::1"):
        assert forbidden_reason(ipaddress.ip_address(other), allow_loopback=True) is not None


# --- fetching: refused before any connection --------------------------------------------------------


@dataclass
class Recorder:
    """A transport that records requests and answers them itself: it never touches the network."""

    answer: Callable[[httpx.Request], httpx.Response] | None = None
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answer is not None:
            return self.answer(request)
        return httpx.Response(200, content=sample("PNG"), headers={"Content-Type": "image/png"})

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))


@pytest.fixture
async def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names resolved from this table by the running loop: no DNS query leaves the machine."""
    table: dict[str, list[str]] = {}

    async def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        results: list[tuple[Any, ...]] = []
        for address in table[host]:
            if ":" in address:
                results.append((socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port, 0, 0)))
            else:
                results.append((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port)))
        return results

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    return table


FORBIDDEN_URLS = [
    "https://127.0.0.1/a.jpg",
    "https://127.1/a.jpg",
    "https://2130706433/a.jpg",
    "https://0x7f.0.0.1/a.jpg",
    "https://10.0.0.1/a.jpg",
    "https://192.168.1.1/a.jpg",
    "https://172.16.0.1/a.jpg",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/a.jpg",
    "https://[::ffff:127.0.0.1]/a.jpg",
    "https://[fd00:ec2::254]/latest/meta-data/",
    "https://0.0.0.0/a.jpg",
    "https://[::]/a.jpg",
    "https://100.64.0.1/a.jpg",
    "https://localhost/a.jpg",
    "https://localhost:8000/a.jpg",
]


@pytest.mark.parametrize("url", FORBIDDEN_URLS)
async def test_non_public_targets_are_refused_before_any_connection(url: str) -> None:
    recorder = Recorder()
    async with recorder.client() as client:
        with pytest.raises(InvalidInput) as caught:
            await fetch_image(url, limits=LIMITS, policy=FetchPolicy(), client=client, field="garment_image")
    assert caught.value.code == "image_url_forbidden"
    assert caught.value.extra == {"field": "garment_image"}
    assert recorder.requests == []


@pytest.mark.parametrize(
    "url", ["https://10.0.0.1/a.jpg", "https://192.168.1.1/a.jpg", "https://169.254.169.254/", "https://0.0.0.0/"]
)
async def test_allow_loopback_does_not_open_private_ranges(url: str) -> None:
    recorder = Recorder()
    async with recorder.client() as client:
        with pytest.raises(InvalidInput) as caught:
            await fetch_image(url, limits=LIMITS, policy=FetchPolicy(allow_loopback=True), client=client)
    assert caught.value.code == "image_url_forbidden"
    assert recorder.requests == []


@pytest.mark.parametrize("url", ["http://93.184.215.14/a.jpg", "ftp://93.184.215.14/a.jpg", "file:///etc/passwd"])
async def test_only_https_by_default(url: str) -> None:
    recorder = Recorder()
    async with recorder.client() as client:
        with pytest.raises(InvalidInput) as caught:
            await fetch_image(url, limits=LIMITS, policy=FetchPolicy(), client=client)
    assert caught.value.code == "invalid_image_url"
    assert recorder.requests == []


async def test_a_name_with_any_private_address_is_refused(fake_dns: dict[str, list[str]]) -> None:
    fake_dns["mixed.example"] = ["93.184.215.14", "10.0.0.5"]
    recorder = Recorder()
    async with recorder.client() as client:
        with pytest.raises(InvalidInput) as caught:
            await fetch_image("https://mixed.example/a.png", limits=LIMITS, policy=FetchPolicy(), client=client)
    assert caught.value.code == "image_url_forbidden"
    assert "10.0.0.5" not in caught.value.detail  # internal addresses are not disclosed
    assert recorder.requests == []


async def test_the_request_goes_to_the_checked_address(fake_dns: dict[str, list[str]]) -> None:
    fake_dns["cdn.example"] = ["93.184.215.14"]
    recorder = Recorder()
    async with recorder.client() as client:
        body = await fetch_image("https://cdn.example/shirts/a.png?v=2#frag", limits=LIMITS, client=client)
    assert body == sample("PNG")
    [request] = recorder.requests
    # Pinned: the connection target is the address that was checked, not a second DNS lookup...
    assert request.url.host == "93.184.215.14"
    assert request.url.scheme == "https"
    assert request.url.raw_path == b"/shirts/a.png?v=2"
    # ...while the server and TLS still see the real name.
    assert request.headers["host"] == "cdn.example"
    assert request.extensions["sni_hostname"] == "cdn.example"
    assert request.headers["accept-encoding"] == "identity"
    assert "authorization" not in request.headers
    assert "cookie" not in request.headers


async def test_ipv6_literal_is_pinned_with_brackets() -> None:
    recorder = Recorder()
    async with recorder.client() as client:
        await fetch_image("https://[2606:4700::1111]:8443/a.png", limits=LIMITS, client=client)
    [request] = recorder.requests
    assert request.url.host == "2606:4700::1111"
    assert request.headers["host"] == "[2606:4700::1111]:8443"
    assert "sni_hostname" not in request.extensions


async def test_a_redirect_to_a_private_name_is_refused(fake_dns: dict[str, list[str]]) -> None:
    fake_dns["cdn.example"] = ["93.184.215.14"]
    fake_dns["internal.example"] = ["10.1.2.3"]

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "https://internal.example/admin"})

    recorder = Recorder(answer)
    async with recorder.client() as client:
        with pytest.raises(InvalidInput) as caught:
            await fetch_image("https://cdn.example/a.png", limits=LIMITS, client=client)
    assert caught.value.code == "image_url_forbidden"
    assert "redirect" in caught.value.detail
    assert [str(r.url) for r in recorder.requests] == ["https://93.184.215.14/a.png"]


async def test_redirects_are_limited(fake_dns: dict[str, list[str]]) -> None:
    fake_dns["cdn.example"] = ["93.184.215.14"]

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"Location": f"/hop{len(recorder.requests)}"})

    recorder = Recorder(answer)
    async with recorder.client() as client:
        with pytest.raises(InvalidInput) as caught:
            await fetch_image("https://cdn.example/a.png", limits=LIMITS, client=client)
    assert caught.value.code == "image_url_unreachable"
    assert "more than 3" in caught.value.detail
    assert len(recorder.requests) == 4  # the URL and three redirects, no more
    assert recorder.requests[-1].headers["host"] == "cdn.example"


async def test_unresolvable_name_is_unreachable(fake_dns: dict[str, list[str]]) -> None:
    recorder = Recorder()
    async with recorder.client() as client:
        with pytest.raises(InvalidInput) as caught:
            await fetch_image("https://nothing.example/a.png", limits=LIMITS, client=client)
    assert caught.value.code == "image_url_unreachable"
    assert recorder.requests == []


# --- fetching: against real local servers -----------------------------------------------------------


@dataclass
class ImageServer:
    """A raw ASGI app serving a photo, redirects, errors, slow and endless answers."""

    image: bytes
    hosts: list[str] = field(default_factory=list)
    streamed: int = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        headers = {key.decode(): value.decode() for key, value in scope["headers"]}
        self.hosts.append(headers.get("host", ""))
        path: str = scope["path"]
        query = parse_qs(scope["query_string"].decode())

        async def respond(status: int, body: bytes = b"", extra: list[tuple[bytes, bytes]] | None = None) -> None:
            head = [(b"content-length", str(len(body)).encode()), *(extra or [])]
            await send({"type": "http.response.start", "status": status, "headers": head})
            await send({"type": "http.response.body", "body": body})

        async def stream(total: int, declared: int | None) -> None:
            head = [(b"content-type", b"image/jpeg")]
            if declared is not None:
                head.append((b"content-length", str(declared).encode()))
            await send({"type": "http.response.start", "status": 200, "headers": head})
            chunk = b"\xff" * 65536
            while self.streamed < total:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                self.streamed += len(chunk)
            await send({"type": "http.response.body", "body": b""})

        if path == "/photo.jpg":
            await respond(200, self.image, [(b"content-type", b"image/jpeg")])
        elif path == "/redirect":
            await respond(302, extra=[(b"location", query["to"][0].encode())])
        elif path.startswith("/chain/"):
            left = int(path.rsplit("/", 1)[1])
            await respond(302, extra=[(b"location", f"/chain/{left - 1}".encode() if left else b"/photo.jpg")])
        elif path.startswith("/status/"):
            await respond(int(path.rsplit("/", 1)[1]), b"nope")
        elif path == "/endless":
            await stream(64 * MIB, declared=None)
        elif path == "/declared-large":
            await stream(64 * MIB, declared=64 * MIB)
        elif path == "/slow":
            await asyncio.sleep(1.5)
            await respond(200, self.image)
        else:
            await respond(404)


class LoopbackOnly(httpx.AsyncBaseTransport):
    """The real HTTP transport, but anything other than loopback is refused and recorded."""

    def __init__(self, **options: Any) -> None:
        self.inner = httpx.AsyncHTTPTransport(**options)
        self.blocked: list[str] = []
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host not in ("127.0.0.1", "::1"):
            self.blocked.append(str(request.url))
            raise httpx.ConnectError("test guard: only loopback connections", request=request)
        self.sent.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@asynccontextmanager
async def serving(app: Any, port: int, **tls: Any) -> AsyncIterator[None]:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off", **tls)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the test server stopped while starting")
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@dataclass
class Served:
    app: ImageServer
    url: str


@pytest.fixture(scope="module")
async def http_server() -> AsyncIterator[Served]:
    app = ImageServer(photo("people/selfie_1.jpg"))
    port = free_port()
    async with serving(app, port):
        yield Served(app, f"http://127.0.0.1:{port}")


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for the name `localhost` only (no IP address in it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
async def https_server(tls_files: tuple[Path, Path]) -> AsyncIterator[Served]:
    app = ImageServer(photo("people/selfie_1.jpg"))
    port = free_port()
    cert, key = tls_files
    async with serving(app, port, ssl_certfile=str(cert), ssl_keyfile=str(key)):
        yield Served(app, f"https://localhost:{port}")


@pytest.fixture
async def loopback() -> AsyncIterator[tuple[httpx.AsyncClient, LoopbackOnly]]:
    transport = LoopbackOnly()
    async with httpx.AsyncClient(transport=transport) as client:
        yield client, transport
    assert transport.blocked == [], "a request was attempted to a non-loopback address"


LOCAL = FetchPolicy(allow_http=True, allow_loopback=True, timeout_s=5)


async def test_fetches_from_a_real_server(
    http_server: Served, loopback: tuple[httpx.AsyncClient, LoopbackOnly]
) -> None:
    client, _ = loopback
    body = await fetch_image(f"{http_server.url}/photo.jpg", limits=LIMITS, policy=LOCAL, client=client)
    assert body == photo("people/selfie_1.jpg")
    assert normalize(body).format == "jpeg"


async def test_fetches_by_name_from_a_real_server(
    http_server: Served, loopback: tuple[httpx.AsyncClient, LoopbackOnly]
) -> None:
    client, transport = loopback
    port = http_server.url.rsplit(":", 1)[1]
    body = await fetch_image(f"http://localhost:{port}/photo.jpg", limits=LIMITS, policy=LOCAL, client=client)
    assert body == photo("people/selfie_1.jpg")
    assert http_server.app.hosts[-1] == f"localhost:{port}"
    assert transport.sent[-1].url.host in ("127.0.0.1", "::1")


async def test_loopback_is_refused_unless_allowed(
    http_server: Served, loopback: tuple[httpx.AsyncClient, LoopbackOnly]
) -> None:
    client, transport = loopback
    seen = len(http_server.app.hosts)
    with pytest.raises(InvalidInput) as caught:
        await fetch_image(
            f"{http_server.url}/photo.jpg", limits=LIMITS, policy=FetchPolicy(allow_http=True), client=client
        )
    assert caught.value.code == "image_url_forbidden"
    with pytest.raises(InvalidInput) as caught:
        await fetch_image(
            f"{http_server.url}/photo.jpg", limits=LIMITS, policy=FetchPolicy(allow_loopback=True), client=client
        )
    assert caught.value.code == "invalid_image_url"
    assert len(http_server.app.hosts) == seen
    assert transport.sent == []


async def test_follows_up_to_three_redirects(
    http_server: Served, loopback: tuple[httpx.AsyncClient, LoopbackOnly]
) -> None:
    client, _ = loopback
    body = await fetch_image(f"{http_server.url}/chain/2", limits=LIMITS, policy=LOCAL, client=client)
    assert body == photo("people/selfie_1.jpg")
    with pytest.raises(InvalidInput) as caught:
        await fetch_image(f"{http_server.url}/chain/3", limits=LIMITS, policy=LOCAL, client=client)
    assert caught.value.code == "image_url_unreachable"
    assert "redirected more than 3 times" in caught.value.detail


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/photo.jpg",
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://192.168.1.1/",
        "https://[fd00:ec2::254]/",
        "http://0.0.0.0:8000/",
    ],
)
async def test_redirect_to_a_forbidden_address_is_refused(
    http_server: Served, loopback: tuple[httpx.AsyncClient, LoopbackOnly], target: str
) -> None:
    client, transport = loopback
    with pytest.raises(InvalidInput) as caught:
        await fetch_image(f"{http_server.url}/redirect?to={target}", limits=LIMITS, policy=LOCAL, client=client)
    assert caught.value.code == "image_url_forbidden"
    assert len(transport.sent) == 1  # only the first hop went out; the redirect target was never contacted


async def test_non_2xx_is_unreachable_and_names_the_status(
    http_server: Served, loopback: tuple[httpx.AsyncClient, LoopbackOnly]
) -> None:
    client, _ = loopback
    for status, words in ((404, "404 Not Found"), (500, "500 Internal Server Error")):
        with pytest.raises(InvalidInput) as caught:
            await fetch_image(f"{http_server.url}/status/{status}", limits=LIMITS, policy=LOCAL, client=client)
        assert caught.value.code == "image_url_unreachable"
        assert words in caught.value.detail


async def test_streamed_body_is_cut_at_the_byte_limit(
    http_server: Served, loopback: tuple[httpx.AsyncClient, LoopbackOnly]
) -> None:
    client, _ = loopback
    http_server.app.streamed = 0
    started = time.perf_counter()
    with pytest.raises(InvalidInput) as caught:
        await fetch_image(f"{http_server.url}/endless", limits=ImageLimits(max_bytes=MIB), policy=LOCAL, client=client)
    sent_when_refused = http_server.app.streamed
    assert caught.value.code == "image_too_large"
    assert "1 MiB" in caught.value.detail
    # Reading stopped just past the limit: the server had pushed a fraction of its 64 MiB.
    assert sent_when_refused < 24 * MIB
    assert time.perf_counter() - started < 10


async def test_declared_length_over_the_limit_is_refused_without_reading(
    http_server: Served, loopback: tuple[httpx.AsyncClient, LoopbackOnly]
) -> None:
    client, _ = loopback
    http_server.app.streamed = 0
    with pytest.raises(InvalidInput) as caught:
        await fetch_image(
            f"{http_server.url}/declared-large", limits=ImageLimits(max_bytes=MIB), policy=LOCAL, client=client
        )
    assert caught.value.code == "image_too_large"
    assert http_server.app.streamed < 24 * MIB


async def test_total_time_is_limited(http_server: Served, loopback: tuple[httpx.AsyncClient, LoopbackOnly]) -> None:
    client, _ = loopback
    started = time.perf_counter()
    with pytest.raises(InvalidInput) as caught:
        await fetch_image(
            f"{http_server.url}/slow",
            limits=LIMITS,
            policy=FetchPolicy(allow_http=True, allow_loopback=True, timeout_s=0.3),
            client=client,
        )
    assert caught.value.code == "image_url_unreachable"
    assert "0.3 seconds" in caught.value.detail
    assert time.perf_counter() - started < 1.4


async def test_connection_refused_is_unreachable(loopback: tuple[httpx.AsyncClient, LoopbackOnly]) -> None:
    client, _ = loopback
    with pytest.raises(InvalidInput) as caught:
        await fetch_image(f"http://127.0.0.1:{free_port()}/photo.jpg", limits=LIMITS, policy=LOCAL, client=client)
    assert caught.value.code == "image_url_unreachable"


@pytest.fixture
async def tls_client(tls_files: tuple[Path, Path]) -> AsyncIterator[tuple[httpx.AsyncClient, LoopbackOnly]]:
    context = ssl.create_default_context(cafile=str(tls_files[0]))
    transport = LoopbackOnly(verify=context)
    async with httpx.AsyncClient(transport=transport) as client:
        yield client, transport
    assert transport.blocked == []


async def test_https_pinned_to_the_address_still_verifies_the_certificate_for_the_name(
    https_server: Served, tls_client: tuple[httpx.AsyncClient, LoopbackOnly]
) -> None:
    client, transport = tls_client
    # The certificate names only `localhost`: this works because TLS is told the name (SNI and
    # verification) while the connection goes to the checked IP address.
    body = await fetch_image(
        f"{https_server.url}/photo.jpg", limits=LIMITS, policy=FetchPolicy(allow_loopback=True), client=client
    )
    assert body == photo("people/selfie_1.jpg")
    assert transport.sent[-1].url.host in ("127.0.0.1", "::1")
    assert https_server.app.hosts[-1] == https_server.url.removeprefix("https://")


async def test_https_with_an_untrusted_certificate_is_unreachable(https_server: Served) -> None:
    transport = LoopbackOnly()  # the system's trust store: the self-signed certificate is not in it
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(InvalidInput) as caught:
            await fetch_image(
                f"{https_server.url}/photo.jpg", limits=LIMITS, policy=FetchPolicy(allow_loopback=True), client=client
            )
    assert caught.value.code == "image_url_unreachable"


async def test_https_redirect_to_http_is_refused(
    https_server: Served, http_server: Served, tls_client: tuple[httpx.AsyncClient, LoopbackOnly]
) -> None:
    client, transport = tls_client
    with pytest.raises(InvalidInput) as caught:
        await fetch_image(
            f"{https_server.url}/redirect?to={http_server.url}/photo.jpg",
            limits=LIMITS,
            policy=FetchPolicy(allow_loopback=True),
            client=client,
        )
    assert caught.value.code == "invalid_image_url"
    assert len(transport.sent) == 1
