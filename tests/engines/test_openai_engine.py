"""The `openai` engine through the real OpenAI SDK, pointed at a local server that speaks OpenAI's
image edit API (tests/fakes/openai_server.py): what the SDK sends, the image that comes back, and
how each failure of the API maps to an engine error the worker can act on."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from PIL import Image

from tests.conftest import serve
from tests.fakes.openai_server import API_KEY, Failure, OpenAIServer
from trailroom.core.vocabulary import GarmentPhotoType, OutputFormat, Quality, TryOnMode
from trailroom.embedded.process import free_port
from trailroom.engines.base import INVALID_IMAGE, INVALID_REQUEST, EngineError, TryOnInput
from trailroom.engines.openai_images import DEFAULT_MODEL, DEFAULT_SIZE, OpenAIEngine, default_prompt
from trailroom.engines.registry import create_engine, registered_engines

from .conftest import photo

PERSON = photo("people/studio_1.png")
TOP = photo("garments/top_1.jpg")
BOTTOM = photo("garments/bottom_1.jpg")


@pytest.fixture(scope="module")
async def openai_server() -> AsyncIterator[OpenAIServer]:
    port = free_port()
    server = OpenAIServer(url=f"http://127.0.0.1:{port}")
    async with serve(server.app(), "127.0.0.1", port):
        yield server


@pytest.fixture
def fake_openai(openai_server: OpenAIServer) -> OpenAIServer:
    openai_server.reset()
    return openai_server


@pytest.fixture
async def openai_engine(fake_openai: OpenAIServer) -> AsyncIterator[OpenAIEngine]:
    async with OpenAIEngine(api_key=API_KEY, base_url=f"{fake_openai.url}/v1", timeout_s=30) as openai_engine:
        yield openai_engine


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


async def test_generate_sends_person_then_garment_and_returns_the_decoded_image(
    openai_engine: OpenAIEngine, fake_openai: OpenAIServer
) -> None:
    result = await openai_engine.generate(TryOnInput(mode=TryOnMode.TOP, person=PERSON, garment=TOP))

    image = decoded(result.image)
    assert image.format == "PNG"
    assert result.media_type == "image/png"
    assert (result.width, result.height) == image.size == (1024, 1536)

    [sent] = fake_openai.requests
    assert sent.authorization == f"Bearer {API_KEY}"
    assert sent.content_type.startswith("multipart/form-data; boundary=")
    assert [(i.field, i.content_type, i.data) for i in sent.images] == [
        ("image[]", "image/png", PERSON),
        ("image[]", "image/jpeg", TOP),
    ]
    assert [i.filename for i in sent.images] == ["person.png", "garment.jpg"]
    assert sent.fields == {
        "model": DEFAULT_MODEL,
        "prompt": default_prompt(TryOnMode.TOP),
        "size": DEFAULT_SIZE,
        "quality": "medium",
        "n": "1",
        "output_format": "png",
    }  # and nothing else: no input_fidelity unless configured


async def test_full_outfit_sends_top_and_bottom_in_order_with_the_request_prompt(fake_openai: OpenAIServer) -> None:
    async with OpenAIEngine(
        api_key=API_KEY,
        base_url=f"{fake_openai.url}/v1",
        model="gpt-image-1.5",
        size="auto",
        input_fidelity="high",
        timeout_s=30,
    ) as engine:
        result = await engine.generate(
            TryOnInput(
                mode=TryOnMode.FULL,
                person=photo("people/room_1.jpg"),
                garment=TOP,
                bottom=BOTTOM,
                quality=Quality.HIGH,
                output_format=OutputFormat.JPEG,
                prompt="Dress the person in the top and the trousers.",
            )
        )

    image = decoded(result.image)
    assert image.format == "JPEG"
    assert result.media_type == "image/jpeg"
    assert (result.width, result.height) == image.size

    [sent] = fake_openai.requests
    assert [i.data for i in sent.images] == [photo("people/room_1.jpg"), TOP, BOTTOM]
    assert [i.field for i in sent.images] == ["image[]"] * 3
    assert sent.fields["model"] == "gpt-image-1.5"
    assert sent.fields["prompt"] == "Dress the person in the top and the trousers."
    assert sent.fields["size"] == "auto"
    assert sent.fields["quality"] == "high"
    assert sent.fields["output_format"] == "jpeg"
    assert sent.fields["input_fidelity"] == "high"


@pytest.mark.parametrize(
    ("quality", "sent_quality", "output_format", "pil_format"),
    [
        (Quality.FAST, "low", OutputFormat.WEBP, "WEBP"),
        (Quality.BALANCED, "medium", OutputFormat.JPEG, "JPEG"),
        (Quality.HIGH, "high", OutputFormat.PNG, "PNG"),
    ],
)
async def test_quality_and_output_format_are_mapped(
    openai_engine: OpenAIEngine,
    fake_openai: OpenAIServer,
    quality: Quality,
    sent_quality: str,
    output_format: OutputFormat,
    pil_format: str,
) -> None:
    result = await openai_engine.generate(
        TryOnInput(mode=TryOnMode.DRESS, person=PERSON, garment=TOP, quality=quality, output_format=output_format)
    )

    assert decoded(result.image).format == pil_format
    [sent] = fake_openai.requests
    assert sent.fields["quality"] == sent_quality
    assert sent.fields["output_format"] == output_format.value
    assert sent.fields["prompt"] == default_prompt(TryOnMode.DRESS)


@pytest.mark.parametrize(
    ("failure", "code", "transient"),
    [
        (Failure.RATE_LIMIT, "engine_rate_limited", True),
        (Failure.SERVER_ERROR, "engine_unavailable", True),
        (Failure.UNAVAILABLE, "engine_unavailable", True),
        (Failure.NO_IMAGE, "engine_failed", True),
        (Failure.MODERATION, "content_policy_violation", False),
        (Failure.CONTENT_POLICY, "content_policy_violation", False),
        (Failure.INSUFFICIENT_QUOTA, "engine_misconfigured", False),
    ],
)
async def test_api_failures_map_to_engine_errors(
    openai_engine: OpenAIEngine, fake_openai: OpenAIServer, failure: Failure, code: str, transient: bool
) -> None:
    fake_openai.failure = failure

    with pytest.raises(EngineError) as raised:
        await openai_engine.generate(TryOnInput(mode=TryOnMode.TOP, person=PERSON, garment=TOP))

    assert (raised.value.code, raised.value.transient) == (code, transient)
    assert len(fake_openai.requests) == 1  # the SDK does not retry: the worker does


async def test_a_wrong_api_key_is_a_final_misconfiguration_that_does_not_echo_the_key(
    fake_openai: OpenAIServer,
) -> None:
    async with OpenAIEngine(api_key="sk-wrong-key-0000000000", base_url=f"{fake_openai.url}/v1") as engine:
        with pytest.raises(EngineError) as raised:
            await engine.generate(TryOnInput(mode=TryOnMode.TOP, person=PERSON, garment=TOP))

    assert (raised.value.code, raised.value.transient) == ("engine_misconfigured", False)
    assert "401" in raised.value.detail
    assert "0000" not in str(raised.value)
    assert len(fake_openai.requests) == 0  # refused before the body is read, as OpenAI does


async def test_a_request_the_api_rejects_is_final(fake_openai: OpenAIServer) -> None:
    async with OpenAIEngine(api_key=API_KEY, base_url=f"{fake_openai.url}/v1", size="512x512") as engine:
        with pytest.raises(EngineError) as raised:
            await engine.generate(TryOnInput(mode=TryOnMode.TOP, person=PERSON, garment=TOP))

    assert (raised.value.code, raised.value.transient) == ("engine_rejected", False)
    assert "invalid_value" in raised.value.detail
    assert "512x512" in raised.value.detail


async def test_a_slow_answer_is_a_transient_timeout(fake_openai: OpenAIServer) -> None:
    fake_openai.failure = Failure.SLOW
    fake_openai.slow_s = 1.5
    async with OpenAIEngine(api_key=API_KEY, base_url=f"{fake_openai.url}/v1", timeout_s=0.3) as engine:
        with pytest.raises(EngineError) as raised:
            await engine.generate(TryOnInput(mode=TryOnMode.TOP, person=PERSON, garment=TOP))

    assert (raised.value.code, raised.value.transient) == ("engine_timeout", True)
    assert len(fake_openai.requests) == 1


async def test_an_unreachable_api_is_transiently_unavailable() -> None:
    async with OpenAIEngine(api_key=API_KEY, base_url=f"http://127.0.0.1:{free_port()}/v1", timeout_s=5) as engine:
        with pytest.raises(EngineError) as raised:
            await engine.generate(TryOnInput(mode=TryOnMode.TOP, person=PERSON, garment=TOP))

    assert (raised.value.code, raised.value.transient) == ("engine_unavailable", True)


async def test_inputs_it_cannot_send_are_refused_before_calling_the_api(
    openai_engine: OpenAIEngine, fake_openai: OpenAIServer
) -> None:
    with pytest.raises(EngineError) as not_an_image:
        await openai_engine.generate(TryOnInput(mode=TryOnMode.TOP, person=b"GIF89a not supported", garment=TOP))
    with pytest.raises(EngineError) as no_bottom:
        await openai_engine.generate(TryOnInput(mode=TryOnMode.FULL, person=PERSON, garment=TOP))

    assert (not_an_image.value.code, not_an_image.value.transient) == (INVALID_IMAGE, False)
    assert (no_bottom.value.code, no_bottom.value.transient) == (INVALID_REQUEST, False)
    assert fake_openai.requests == []


def test_no_api_key_anywhere_is_a_misconfiguration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    with pytest.raises(EngineError) as raised:
        OpenAIEngine(base_url="http://127.0.0.1:9/v1")

    assert (raised.value.code, raised.value.transient) == ("engine_misconfigured", False)


def test_default_prompts_differ_by_mode_and_garment_photo_type() -> None:
    prompts = {default_prompt(mode) for mode in TryOnMode}
    assert len(prompts) == len(TryOnMode)
    assert "third" in default_prompt(TryOnMode.FULL)
    assert default_prompt(TryOnMode.TOP, GarmentPhotoType.ON_MODEL) != default_prompt(TryOnMode.TOP)


async def test_the_registry_creates_it_by_name(fake_openai: OpenAIServer) -> None:
    assert "openai" in registered_engines()

    engine = create_engine("openai", api_key=API_KEY, base_url=f"{fake_openai.url}/v1", timeout_s=30)

    assert isinstance(engine, OpenAIEngine)
    assert engine.name == "openai"
    try:
        result = await engine.generate(TryOnInput(mode=TryOnMode.BOTTOM, person=PERSON, garment=BOTTOM))
    finally:
        await engine.aclose()
    assert decoded(result.image).size == (result.width, result.height)
    assert fake_openai.requests[0].fields["prompt"] == default_prompt(TryOnMode.BOTTOM)
