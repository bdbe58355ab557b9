"""The Python client's try-on vocabulary (which the plugins import) is the platform's: the same values
in the same order, the same defaults, and what the OpenAPI document says of the request options."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import httpx
import pytest

import trailroom_client
from trailroom.core import vocabulary

# Each client vocabulary, its values, its default, and the platform's vocabulary and default.
VOCABULARIES: dict[str, tuple[tuple[str, ...], str, type[StrEnum], StrEnum]] = {
    "mode": (trailroom_client.MODES, trailroom_client.DEFAULT_MODE, vocabulary.TryOnMode, vocabulary.DEFAULT_MODE),
    "quality": (
        trailroom_client.QUALITIES,
        trailroom_client.DEFAULT_QUALITY,
        vocabulary.Quality,
        vocabulary.DEFAULT_QUALITY,
    ),
    "output_format": (
        trailroom_client.OUTPUT_FORMATS,
        trailroom_client.DEFAULT_OUTPUT_FORMAT,
        vocabulary.OutputFormat,
        vocabulary.DEFAULT_OUTPUT_FORMAT,
    ),
    "garment_photo_type": (
        trailroom_client.GARMENT_PHOTO_TYPES,
        trailroom_client.DEFAULT_GARMENT_PHOTO_TYPE,
        vocabulary.GarmentPhotoType,
        vocabulary.DEFAULT_GARMENT_PHOTO_TYPE,
    ),
}


@pytest.mark.parametrize("option", list(VOCABULARIES))
def test_the_client_speaks_the_platforms_vocabulary(option: str) -> None:
    client_values, client_default, platform, platform_default = VOCABULARIES[option]
    assert client_values == vocabulary.values(platform)
    assert client_default == platform_default.value


def test_the_client_knows_the_sample_limit_and_the_mode_names() -> None:
    assert trailroom_client.MAX_SAMPLES == vocabulary.MAX_SAMPLES
    assert trailroom_client.MODE_LABELS == vocabulary.MODE_LABELS


@pytest.fixture(scope="module")
async def schemas(base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url) as http:
        document: dict[str, Any] = (await http.get("/schema/openapi.json")).json()
    return document["components"]["schemas"]


@pytest.mark.parametrize("option", list(VOCABULARIES))
def test_the_document_lists_the_same_values_and_default(option: str, schemas: dict[str, Any]) -> None:
    client_values, client_default, _, _ = VOCABULARIES[option]
    for name in ("TryOnRequest", "BatchRequest"):
        prop = schemas[name]["properties"][option]
        assert sorted(prop["enum"]) == sorted(client_values), (name, option)  # the document sorts them
        if option != "mode" or name == "BatchRequest":  # a single try-on's mode is required
            assert prop["default"] == client_default, (name, option)
    assert schemas["TryOnRequest"]["properties"]["samples"]["maximum"] == trailroom_client.MAX_SAMPLES
