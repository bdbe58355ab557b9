"""Nothing of the garment shows where it is not worn: no pale outline of the product photo's
background around it, and the photo untouched outside the person."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from trailroom.core.vocabulary import TryOnMode
from trailroom.engines.base import TryOnInput
from trailroom.engines.local import LocalEngine
from trailroom.engines.local.compose import between_legs
from trailroom.engines.local.engine import MIN_GARMENT_SIDE, decode
from trailroom.engines.local.garment import cut_out

from .conftest import photo


@pytest.mark.parametrize("garment", ["top_1.jpg", "top_2.jpg", "jacket_1.jpg", "bottom_1.jpg", "bottom_2.jpg"])
def test_the_cut_out_edge_has_the_garment_colour_not_the_backdrop(garment: str) -> None:
    """The outermost pixels of a cut-out mix the garment with the light backdrop of the product
    photo; carried onto the person, they drew a pale outline of the flat-lay silhouette (a halo on
    the shoulders, beside the sleeves, along trouser legs)."""
    cutout = cut_out(decode(photo(f"garments/{garment}"), "garment", MIN_GARMENT_SIDE))
    inside = (cutout.alpha > 0.05).astype(np.uint8)
    depth = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    image = cutout.image.astype(np.float32)
    rim = image[(depth > 0) & (depth <= 4)].mean(axis=0)
    within = image[(depth > 12) & (depth <= 24)].mean(axis=0)
    assert np.abs(rim - within).max() < 12, (rim, within)


OUTLINE_PAIRS = [
    ("people/studio_1.png", "garments/top_1.jpg", TryOnMode.TOP),
    ("people/room_1.jpg", "garments/jacket_1.jpg", TryOnMode.TOP),
    ("people/room_3.jpg", "garments/top_2.jpg", TryOnMode.TOP),
    ("people/studio_2.png", "garments/top_1.jpg", TryOnMode.DRESS),
]


@pytest.mark.parametrize(("person", "garment", "mode"), OUTLINE_PAIRS)
def test_the_photo_is_untouched_outside_the_person(
    engine: LocalEngine, person: str, garment: str, mode: TryOnMode
) -> None:
    """Outside the person's outline (grown by a few pixels for its soft edge; for a dress, with
    the gap between the legs it hangs across) the result is the photo itself."""
    rendering = engine.render(TryOnInput(mode=mode, person=photo(person), garment=photo(garment)))
    body = rendering.body
    outline = between_legs(body) if mode is TryOnMode.DRESS else body.mask
    grown = cv2.dilate((outline > 0.25).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    outside = grown == 0
    difference = np.abs(rendering.image.astype(np.int16) - rendering.person.astype(np.int16)).max(axis=-1)
    assert outside.mean() > 0.3
    assert int(difference[outside].max()) <= 6
