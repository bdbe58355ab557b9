"""Measures of a try-on result, for the quality report and the tests.

- inside: share of the garment's pixels that lie inside the person's outline.
- covered: share of the body region the garment is for (shoulders to hips for a top, hips to
  knees for a bottom) that the garment covers, hands in front left out.
- pose drift: mean distance between landmarks found on the result and on the original, in
  shoulder widths: the garment must not change how the person stands.
- colour ΔE: CIE76 distance between the garment's mean colour in the product photo and in the
  result (shading legitimately moves it a little).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from trailroom.core.vocabulary import TryOnMode
from trailroom.engines.local import pose as lm
from trailroom.engines.local.compose import keep_in_front
from trailroom.engines.local.engine import Rendering
from trailroom.engines.local.pose import PoseEstimator
from trailroom.engines.local.types import BoolArray, ImageArray

DRIFT_LANDMARKS = (
    lm.LEFT_SHOULDER,
    lm.RIGHT_SHOULDER,
    lm.LEFT_ELBOW,
    lm.RIGHT_ELBOW,
    lm.LEFT_WRIST,
    lm.RIGHT_WRIST,
    lm.LEFT_HIP,
    lm.RIGHT_HIP,
    lm.LEFT_KNEE,
    lm.RIGHT_KNEE,
)


@dataclass(frozen=True)
class Metrics:
    inside: float
    covered: float
    pose_drift: float
    colour_delta_e: float


def _polygon(shape: tuple[int, int], points: list[np.ndarray]) -> BoolArray:
    canvas = np.zeros(shape, np.uint8)
    cv2.fillPoly(canvas, [np.round(np.array(points)).astype(np.int32)], 1)
    result: BoolArray = canvas > 0
    return result


def target_region(rendering: Rendering, mode: TryOnMode) -> BoolArray:
    """The body region the garment must cover, inside the person and the frame."""
    body = rendering.body
    shape = body.mask.shape
    p = body.point
    if mode is TryOnMode.BOTTOM:
        corners = [p(lm.RIGHT_HIP), p(lm.LEFT_HIP), p(lm.LEFT_KNEE), p(lm.RIGHT_KNEE)]
    else:
        corners = [p(lm.RIGHT_SHOULDER), p(lm.LEFT_SHOULDER), p(lm.LEFT_HIP), p(lm.RIGHT_HIP)]
    region = _polygon((shape[0], shape[1]), corners)
    result: BoolArray = region & (body.mask > 0.5) & (keep_in_front(body) < 0.5)
    return result


def _mean_lab(image: ImageArray, where: BoolArray) -> np.ndarray:
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    # OpenCV's 8-bit Lab scales L to 0..255 and offsets a, b by 128.
    values = lab[where]
    values[:, 0] *= 100.0 / 255.0
    values[:, 1:] -= 128.0
    mean: np.ndarray = values.mean(axis=0)
    return mean


def measure(rendering: Rendering, mode: TryOnMode, estimator: PoseEstimator) -> Metrics:
    body = rendering.body
    garment = rendering.coverage > 0.5
    inside = float((garment & (body.mask > 0.5)).sum() / max(garment.sum(), 1))
    region = target_region(rendering, mode)
    covered = float((garment & region).sum() / max(region.sum(), 1))

    detections = estimator.detect(rendering.image)
    drift = float("inf")
    if detections:
        after = estimator.landmarks(rendering.image, max(detections, key=lambda d: d.box[3] - d.box[1]))
        height, width = garment.shape
        seen = [
            i
            for i in DRIFT_LANDMARKS
            if 0 <= body.pose.points[i][0] < width
            and 0 <= body.pose.points[i][1] < height
            and body.pose.presence[i] > 0.5
        ]
        distances = np.linalg.norm(after.points[seen] - body.pose.points[seen], axis=1)
        drift = float(distances.mean() / body.shoulder_width)

    strong = rendering.coverage > 0.95
    product = _mean_lab(rendering.garments[-1].image, rendering.garments[-1].mask)
    if mode is TryOnMode.FULL:
        product = np.mean([_mean_lab(g.image, g.mask) for g in rendering.garments], axis=0)
    result_colour = _mean_lab(rendering.image, strong) if strong.any() else np.full(3, np.nan)
    delta_e = float(np.linalg.norm(product - result_colour))
    return Metrics(inside=inside, covered=covered, pose_drift=drift, colour_delta_e=delta_e)
