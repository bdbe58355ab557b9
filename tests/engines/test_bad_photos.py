"""Photos the local engine cannot use get a specific error, never a result."""

from __future__ import annotations

import numpy as np
import pytest

from trailroom.core.vocabulary import GarmentPhotoType, TryOnMode
from trailroom.engines.base import EngineError, TryOnInput
from trailroom.engines.local import LocalEngine

from .conftest import photo, pixels, png


def refused(engine: LocalEngine, request: TryOnInput) -> str:
    with pytest.raises(EngineError) as caught:
        engine.render(request)
    assert caught.value.detail
    return caught.value.code


def top(person: bytes, garment: bytes | None = None, **options: object) -> TryOnInput:
    return TryOnInput(
        mode=TryOnMode.TOP,
        person=person,
        garment=garment if garment is not None else photo("garments/top_2.jpg"),
        **options,  # type: ignore[arg-type]
    )


def noise(height: int = 1024, width: int = 768) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize("garment_as_person", ["garments/top_1.jpg", "garments/top_2.jpg", "garments/bottom_1.jpg"])
def test_photo_without_a_person(engine: LocalEngine, garment_as_person: str) -> None:
    assert refused(engine, top(photo(garment_as_person))) == "person_not_found"


def test_noise_is_not_a_person(engine: LocalEngine) -> None:
    assert refused(engine, top(png(noise()))) == "person_not_found"


def test_two_people_side_by_side(engine: LocalEngine) -> None:
    pair = np.hstack([pixels("people/studio_1.png"), pixels("people/studio_2.png")])
    assert refused(engine, top(png(pair))) == "multiple_people"


def test_tiny_person(engine: LocalEngine) -> None:
    person = pixels("people/studio_2.png")[::6, ::6]  # 128x230 on a 768x1024 backdrop
    canvas = np.empty((1024, 768, 3), np.uint8)
    canvas[:] = person[5, 5]
    canvas[600 : 600 + person.shape[0], 300 : 300 + person.shape[1]] = person
    assert refused(engine, top(png(canvas))) == "person_too_small"


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_rotated_or_upside_down(engine: LocalEngine, turns: int) -> None:
    rotated = np.rot90(pixels("people/studio_2.png"), k=turns)
    assert refused(engine, top(png(rotated))) == "person_not_facing_camera"


def test_legs_needed_but_out_of_frame(engine: LocalEngine) -> None:
    request = TryOnInput(
        mode=TryOnMode.BOTTOM, person=photo("people/selfie_1.jpg"), garment=photo("garments/bottom_1.jpg")
    )
    assert refused(engine, request) == "body_not_in_frame"


def test_garment_photo_of_a_room(engine: LocalEngine) -> None:
    room = pixels("people/room_3.jpg")[:, :230]  # bookshelves and fireplace, no person
    assert refused(engine, top(photo("people/studio_2.png"), png(room))) == "garment_not_found"


def test_garment_photo_of_noise(engine: LocalEngine) -> None:
    assert refused(engine, top(photo("people/studio_2.png"), png(noise(800, 800)))) == "garment_not_found"


def test_blank_garment_photo(engine: LocalEngine) -> None:
    blank = np.full((800, 800, 3), 235, np.uint8)
    assert refused(engine, top(photo("people/studio_2.png"), png(blank))) == "garment_not_found"


def test_product_photo_worn_by_a_model(engine: LocalEngine) -> None:
    assert refused(engine, top(photo("people/room_1.jpg"), photo("people/studio_2.png"))) == "garment_on_model"


def test_on_model_photo_type_is_not_supported_yet(engine: LocalEngine) -> None:
    request = top(
        photo("people/room_1.jpg"), photo("people/studio_2.png"), garment_photo_type=GarmentPhotoType.ON_MODEL
    )
    assert refused(engine, request) == "garment_on_model"


def test_person_photo_too_small(engine: LocalEngine) -> None:
    small = pixels("people/room_1.jpg")[::5, ::5]  # 154x205
    assert refused(engine, top(png(small))) == "image_too_small"


def test_garment_photo_too_small(engine: LocalEngine) -> None:
    small = pixels("garments/top_2.jpg")[::10, ::10]  # 103x103
    assert refused(engine, top(photo("people/room_1.jpg"), png(small))) == "image_too_small"


def test_not_an_image(engine: LocalEngine) -> None:
    assert refused(engine, top(b"definitely not an image")) == "invalid_image"


def test_full_outfit_needs_a_bottom(engine: LocalEngine) -> None:
    request = TryOnInput(mode=TryOnMode.FULL, person=photo("people/studio_2.png"), garment=photo("garments/top_2.jpg"))
    assert refused(engine, request) == "invalid_request"
