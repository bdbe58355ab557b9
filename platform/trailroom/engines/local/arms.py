"""Old sleeves that the new garment does not cover, replaced by bare arms.

A short-sleeved top put on a person in a long-sleeved one leaves the old sleeves showing below the
new ones, and a long sleeve may stop short of the old cuff. Along each arm, the person's pixels the
new garment leaves uncovered that are not skin-coloured are the old sleeve: inside a bare arm's
width (tapering from shoulder to wrist) they are painted with the person's own skin tone (read from
their hands) and light, with a little roundness; the rest of the old sleeve, which a bare arm
would not fill, becomes the background estimated from the photo around the person.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from trailroom.engines.local import pose as lm
from trailroom.engines.local.body import Body
from trailroom.engines.local.collar import background
from trailroom.engines.local.types import BoolArray, FloatArray, ImageArray

# Half-widths of a bare arm at the shoulder, the elbow and the wrist, in shoulder widths.
ARM_HALF_WIDTHS = (0.15, 0.105, 0.075)
SLEEVE_REACH = 0.34  # how far from the arm's bones an old sleeve may reach, in shoulder widths
WRIST_REACH = 0.12  # an old cuff reaches this far past the wrist joint, in shoulder widths
MIN_OLD_SHARE = 0.12  # less of the bare arm than this is old sleeve: the arm is bare already


def _arm_distance(
    points: FloatArray, joints: FloatArray, sw: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Distance of each point to the shoulder-elbow-wrist polyline, the arc length (from the
    shoulder) of its nearest point, the bare arm's half-width there, and whether the point is
    beside the arm (1) rather than past the wrist or above the shoulder (0)."""
    best = np.full(len(points), np.inf)
    arc = np.zeros(len(points))
    half_width = np.zeros(len(points))
    on_arm = np.zeros(len(points))
    start = 0.0
    for index in range(2):
        a, b = joints[index], joints[index + 1]
        direction = b - a
        length = max(float(np.linalg.norm(direction)), 1e-6)
        t = (points - a) @ (direction / length)
        clipped = np.clip(t, 0.0, length)
        nearest = a + clipped[:, np.newaxis] * (direction / length)
        distance = np.linalg.norm(points - nearest, axis=1)
        closer = distance < best
        best = np.where(closer, distance, best)
        arc = np.where(closer, start + t, arc)
        fraction = clipped / length
        width = ARM_HALF_WIDTHS[index] + (ARM_HALF_WIDTHS[index + 1] - ARM_HALF_WIDTHS[index]) * fraction
        half_width = np.where(closer, width, half_width)
        # Past the wrist is the hand; above the shoulder joint, the shoulder the garment covers.
        inside = (t <= length + WRIST_REACH * sw) if index == 1 else (t >= 0.0)
        on_arm = np.where(closer, inside.astype(np.float64), on_arm)
        start += length
    return best, arc, half_width, on_arm


def bare_arms(
    image: ImageArray,
    body: Body,
    coverage: FloatArray,
    front: FloatArray,
    skin_of: Callable[[tuple[slice, slice]], FloatArray],
    tone_rgb: FloatArray,
) -> ImageArray:
    """`image` with the uncovered old sleeves turned into bare arms. `front` is what must stay as
    it is (the head and hair), `skin_of` gives 0..1 how skin-coloured each pixel of a window of
    the original photo is (the hands are), `tone_rgb` the skin colour."""
    height, width = body.mask.shape
    sw = body.shoulder_width
    result = image.copy()
    for joints_index in (
        (lm.LEFT_SHOULDER, lm.LEFT_ELBOW, lm.LEFT_WRIST),
        (lm.RIGHT_SHOULDER, lm.RIGHT_ELBOW, lm.RIGHT_WRIST),
    ):
        joints = np.stack([body.point(index) for index in joints_index])
        seen = all(
            0 <= joints[i][0] < width and 0 <= joints[i][1] < height and body.pose.presence[joints_index[i]] > 0.5
            for i in (1, 2)
        )
        if not seen:
            continue  # an arm out of the frame (a selfie) is only guessed: leave it as it is
        reach = SLEEVE_REACH * sw
        arm_length = float(np.linalg.norm(joints[1] - joints[0]) + np.linalg.norm(joints[2] - joints[1]))
        x0 = int(max(0, joints[:, 0].min() - reach))
        x1 = int(min(width, joints[:, 0].max() + reach + 1))
        y0 = int(max(0, joints[:, 1].min() - reach))
        y1 = int(min(height, joints[:, 1].max() + reach + 1))
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        ys, xs = np.mgrid[y0:y1, x0:x1]
        points = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
        raw_distance, raw_arc, raw_half_width, raw_on_arm = _arm_distance(points, joints, sw)
        shape = (y1 - y0, x1 - x0)
        distance = raw_distance.reshape(shape) / sw
        arc = raw_arc.reshape(shape)
        half_width = raw_half_width.reshape(shape)
        on_arm: BoolArray = raw_on_arm.reshape(shape) > 0.5
        window = (slice(y0, y1), slice(x0, x1))
        skin = skin_of(window)
        # Only past the new sleeve's end: a gap inside the garment is no bare arm.
        sleeve = (distance < half_width) & on_arm & (coverage[window] >= 0.5)
        sleeve_end = float(np.percentile(arc[sleeve], 99)) if sleeve.sum() > 16 else 0.0
        free = (coverage[window] < 0.5) & (front[window] < 0.5) & (body.mask[window] > 0.5)
        old: BoolArray = free & (skin < 0.5) & (distance < SLEEVE_REACH) & on_arm
        arm: BoolArray = (distance < half_width) & on_arm & free & (arc > sleeve_end - 0.02 * sw)
        if arm.sum() == 0 or (old & arm).sum() < MIN_OLD_SHARE * arm.sum():
            # No bare arm to draw; old clothing beside the new sleeve is still filled in.
            arm = np.zeros_like(arm)
        if not old.any():
            continue
        # Skin where a bare arm would be, rounded: darker towards its sides. An old sleeve close to
        # the skin's colour (a beige hoodie) is only partly told apart from skin: when most of the
        # arm is old sleeve, the whole arm up to the wrist is painted, not a patchwork.
        drawn = old & arm
        if drawn.sum() > 0.5 * arm.sum():
            drawn |= arm & (arc <= arm_length)
        paint: FloatArray = np.asarray(cv2.GaussianBlur(drawn.astype(np.float32), (0, 0), 1.0), np.float32)
        paint = paint * arm
        roundness = 1.06 - 0.26 * np.clip(distance / np.maximum(half_width, 1e-6), 0.0, 1.0) ** 2
        arm_rgb = tone_rgb[np.newaxis, np.newaxis, :] * roundness[..., np.newaxis]
        blended = result[window].astype(np.float32) * (1 - paint[..., np.newaxis]) + arm_rgb * paint[..., np.newaxis]
        result[window] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
        # The rest of the old sleeve (and its soft outline) is filled from what surrounds it.
        # Grown by a few pixels, so the old sleeve's soft outline goes too.
        grown = cv2.dilate(old.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))) > 0
        keep = (paint > 0.5) | (coverage[window] >= 0.5) | (front[window] >= 0.5) | (skin >= 0.5)
        rest = grown & ~keep
        if rest.any():
            # What lies behind the person there, from the photo around them. (Inpainting from the
            # surroundings smeared the new garment's colour into it: a translucent ghost of the
            # garment beside its sleeve, where the old sleeve had been.)
            behind = background(np.ascontiguousarray(result[window]), body.mask[window], 0.3 * sw)
            soft = np.asarray(cv2.GaussianBlur(rest.astype(np.float32), (0, 0), 1.0), np.float32)
            fill = np.maximum(rest.astype(np.float32), soft) * (1.0 - np.clip(coverage[window], 0.0, 1.0))
            fill *= (front[window] < 0.5) & (paint <= 0.5)
            # Past the person's outline the photo already shows what is behind: left as it is.
            fill *= np.clip((body.mask[window] - 0.1) / 0.2, 0.0, 1.0)
            blended = result[window].astype(np.float32) * (1 - fill[..., np.newaxis]) + behind * fill[..., np.newaxis]
            result[window] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    return result
