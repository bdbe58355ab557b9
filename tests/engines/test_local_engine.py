"""The local engine on good photos: the garment lands on the body, covers it, and leaves the pose alone."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from trailroom.core.vocabulary import MEDIA_TYPES, OutputFormat, TryOnMode
from trailroom.engines.base import TryOnEngine, TryOnInput
from trailroom.engines.local import LocalEngine
from trailroom.engines.local import pose as lm
from trailroom.engines.local.compose import skin_like, skin_tone
from trailroom.engines.local.metrics import measure
from trailroom.engines.registry import create_engine, registered_engines

from .conftest import photo

GOOD_PAIRS = [
    ("people/studio_2.png", "garments/top_2.jpg", TryOnMode.TOP, None),
    ("people/room_3.jpg", "garments/top_1.jpg", TryOnMode.TOP, None),
    ("people/selfie_1.jpg", "garments/top_3.jpg", TryOnMode.TOP, None),
    ("people/room_1.jpg", "garments/jacket_1.jpg", TryOnMode.TOP, None),
    ("people/studio_1.png", "garments/bottom_1.jpg", TryOnMode.BOTTOM, None),
    ("people/studio_2.png", "garments/bottom_2.jpg", TryOnMode.BOTTOM, None),
    ("people/room_3.jpg", "garments/top_2.jpg", TryOnMode.FULL, "garments/bottom_1.jpg"),
]
# Formerly below the limits: loose old trousers showing along the inner leg, a hand under the new
# trousers moving the wrist, a shirt worn as a dress losing its sleeves. Checked on a few seeds,
# since the seed changes the fit.
FORMERLY_FAILING = [
    ("people/room_1.jpg", "garments/bottom_1.jpg", TryOnMode.BOTTOM, None),
    ("people/room_3.jpg", "garments/bottom_1.jpg", TryOnMode.BOTTOM, None),
    ("people/studio_2.png", "garments/top_1.jpg", TryOnMode.DRESS, None),
]
CHECKED = [(*pair, 0) for pair in GOOD_PAIRS] + [(*pair, seed) for pair in FORMERLY_FAILING for seed in (0, 1, 2)]


@pytest.mark.parametrize(("person", "garment", "mode", "bottom", "seed"), CHECKED)
def test_good_pair_meets_the_quality_limits(
    engine: LocalEngine, person: str, garment: str, mode: TryOnMode, bottom: str | None, seed: int
) -> None:
    request = TryOnInput(
        mode=mode, person=photo(person), garment=photo(garment), bottom=photo(bottom) if bottom else None, seed=seed
    )
    rendering = engine.render(request)
    metrics = measure(rendering, mode, engine._estimator)
    assert metrics.inside >= 0.95
    assert metrics.covered >= 0.95
    assert metrics.pose_drift <= 0.06


def test_dress_mode_dresses_down_past_the_hips(engine: LocalEngine) -> None:
    request = TryOnInput(mode=TryOnMode.DRESS, person=photo("people/studio_2.png"), garment=photo("garments/top_1.jpg"))
    rendering = engine.render(request)
    body = rendering.body
    hips_y = (body.pose.points[23][1] + body.pose.points[24][1]) / 2
    knees_y = (body.pose.points[25][1] + body.pose.points[26][1]) / 2
    rows = np.flatnonzero((rendering.coverage > 0.5).any(axis=1))
    assert rows.max() > hips_y + 0.3 * (knees_y - hips_y)


@pytest.mark.parametrize("output_format", list(OutputFormat))
async def test_generate_returns_one_image_in_the_asked_format(engine: LocalEngine, output_format: OutputFormat) -> None:
    request = TryOnInput(
        mode=TryOnMode.TOP,
        person=photo("people/room_1.jpg"),
        garment=photo("garments/top_2.jpg"),
        output_format=output_format,
    )
    output = await engine.generate(request)
    assert output.media_type == MEDIA_TYPES[output_format]
    with Image.open(io.BytesIO(output.image)) as image:
        assert image.format == output_format.value.upper()
        assert image.size == (output.width, output.height) == (768, 1024)


async def test_same_seed_same_bytes_other_seed_other_sample(engine: LocalEngine) -> None:
    def request(seed: int) -> TryOnInput:
        return TryOnInput(
            mode=TryOnMode.TOP, person=photo("people/studio_1.png"), garment=photo("garments/top_3.jpg"), seed=seed
        )

    first = await engine.generate(request(7))
    again = await engine.generate(request(7))
    other = await engine.generate(request(8))
    assert first.image == again.image
    assert first.image != other.image


def test_registry_builds_the_local_engine() -> None:
    assert "local" in registered_engines()
    engine: TryOnEngine = create_engine("local")
    assert engine.name == "local"
    assert isinstance(engine, LocalEngine)
    with pytest.raises(KeyError, match="unknown try-on engine"):
        create_engine("nope")


def test_old_long_sleeves_under_a_short_sleeved_top_become_bare_arms(engine: LocalEngine) -> None:
    """A dark long-sleeved sweater under a short-sleeved shirt: the forearms show skin, not wool."""
    request = TryOnInput(mode=TryOnMode.TOP, person=photo("people/room_3.jpg"), garment=photo("garments/top_2.jpg"))
    rendering = engine.render(request)
    body = rendering.body
    tone = skin_tone(rendering.person, body)
    assert tone is not None
    radius = max(2, int(0.04 * body.shoulder_width))
    for elbow, wrist in ((lm.LEFT_ELBOW, lm.LEFT_WRIST), (lm.RIGHT_ELBOW, lm.RIGHT_WRIST)):
        x, y = ((body.point(elbow) + body.point(wrist)) / 2).astype(int)
        window = (slice(y - radius, y + radius + 1), slice(x - radius, x + radius + 1))
        before = cv2.cvtColor(np.ascontiguousarray(rendering.person[window]), cv2.COLOR_RGB2LAB).astype(np.float32)
        after = cv2.cvtColor(np.ascontiguousarray(rendering.image[window]), cv2.COLOR_RGB2LAB).astype(np.float32)
        assert skin_like(before, tone).mean() < 0.2  # the old sleeve
        assert skin_like(after, tone).mean() > 0.8  # a bare forearm


def test_a_shirt_worn_as_a_dress_keeps_its_sleeves(engine: LocalEngine) -> None:
    request = TryOnInput(mode=TryOnMode.DRESS, person=photo("people/studio_2.png"), garment=photo("garments/top_1.jpg"))
    rendering = engine.render(request)
    body = rendering.body
    for elbow in (lm.LEFT_ELBOW, lm.RIGHT_ELBOW):
        x, y = body.point(elbow).astype(int)
        assert rendering.coverage[y, x] > 0.5
