"""Putting the warped garment into the photo so it reads as worn, not pasted.

- Clipped to the person's outline (a dress also hangs across the gap between the legs), with the
  head and hands kept in front; the hands are found by their skin colour too, so fingers that
  curl past the hand landmarks stay in front of trousers.
- Shaded with the person's own folds and light: the photo's lightness, high-passed so the old
  garment's colour and large print do not show through, multiplies the garment.
- Edges feathered by a pixel or two, as a camera would render them.
- Old clothing the new top leaves showing is removed: old sleeves past the new ones become bare
  arms (`arms.py`), a hood or collar above the new neckline becomes background (`collar.py`).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from trailroom.engines.local import pose as lm
from trailroom.engines.local.arms import bare_arms
from trailroom.engines.local.body import Body
from trailroom.engines.local.collar import clear_collar
from trailroom.engines.local.types import AnyArray, FloatArray, ImageArray
from trailroom.engines.local.warp import Layer


def skin_tone(person: ImageArray, body: Body, lit: bool = False) -> FloatArray | None:
    """The Lab colour (OpenCV 8-bit scale) of the person's skin, read from the backs of the hands
    (lit as the arms are), or None when no hand is in the photo."""
    height, width = body.mask.shape
    samples = []
    for wrist, index, pinky in (
        (lm.LEFT_WRIST, lm.LEFT_INDEX, lm.LEFT_PINKY),
        (lm.RIGHT_WRIST, lm.RIGHT_INDEX, lm.RIGHT_PINKY),
    ):
        knuckles = (body.point(index) + body.point(pinky)) / 2
        centre = body.point(wrist) + (knuckles - body.point(wrist)) * 0.6
        radius = max(2, int(0.04 * body.shoulder_width))
        x, y = int(centre[0]), int(centre[1])
        if not (radius <= x < width - radius and radius <= y < height - radius):
            continue
        patch = person[y - radius : y + radius + 1, x - radius : x + radius + 1]
        inside = body.mask[y - radius : y + radius + 1, x - radius : x + radius + 1] > 0.5
        if inside.sum() >= 4:
            samples.append(cv2.cvtColor(patch, cv2.COLOR_RGB2LAB)[inside].astype(np.float32))
    if not samples:
        return None
    values = np.concatenate(samples)
    # With `lit`, the lightness of the skin's lit side (hands hang in their own shade): for
    # drawing skin, rather than recognising it.
    tone: FloatArray = np.median(values, axis=0)
    if lit:
        tone[0] = np.percentile(values[:, 0], 70)
    return tone


def skin_like(person_lab: FloatArray, tone: FloatArray) -> FloatArray:
    """0..1 how much each pixel's colour is the skin tone's (lightness may vary with the light)."""
    difference = person_lab - tone
    distance = np.sqrt((0.35 * difference[..., 0]) ** 2 + difference[..., 1] ** 2 + (0.8 * difference[..., 2]) ** 2)
    result: FloatArray = np.clip(1.5 - distance / 12.0, 0.0, 1.0).astype(np.float32)
    return result


def _hands(person: ImageArray, body: Body) -> FloatArray:
    """0..1 the hands, by their skin colour near the hand landmarks (fingers curl past them)."""
    height, width = body.mask.shape
    sw = body.shoulder_width
    result = np.zeros((height, width), np.float32)
    tone = skin_tone(person, body)
    if tone is None:
        return result
    reach = int(0.3 * sw)
    for wrist, index, pinky in (
        (lm.LEFT_WRIST, lm.LEFT_INDEX, lm.LEFT_PINKY),
        (lm.RIGHT_WRIST, lm.RIGHT_INDEX, lm.RIGHT_PINKY),
    ):
        knuckles = (body.point(index) + body.point(pinky)) / 2
        centre = body.point(wrist) + (knuckles - body.point(wrist)) * 0.8
        x0, x1 = max(0, int(centre[0]) - reach), min(width, int(centre[0]) + reach + 1)
        y0, y1 = max(0, int(centre[1]) - reach), min(height, int(centre[1]) + reach + 1)
        if x1 <= x0 or y1 <= y0:
            continue
        lab = cv2.cvtColor(np.ascontiguousarray(person[y0:y1, x0:x1]), cv2.COLOR_RGB2LAB).astype(np.float32)
        ys, xs = np.mgrid[y0:y1, x0:x1]
        near = np.hypot(xs - centre[0], ys - centre[1]) < reach
        skin = (skin_like(lab, tone) > 0.5) & near & (body.mask[y0:y1, x0:x1] > 0.5)
        skin = cv2.morphologyEx(skin.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        count, labels = cv2.connectedComponents(skin)
        if count <= 1:
            continue
        # The hand is the skin region at the landmarks, not skin-coloured cloth further away.
        cy, cx = int(centre[1]) - y0, int(centre[0]) - x0
        keep = {int(labels[cy, cx])} if 0 <= cy < y1 - y0 and 0 <= cx < x1 - x0 else set()
        wy, wx = int(body.point(wrist)[1]) - y0, int(body.point(wrist)[0]) - x0
        if 0 <= wy < y1 - y0 and 0 <= wx < x1 - x0:
            keep.add(int(labels[wy, wx]))
        keep.discard(0)
        if keep:
            region = np.isin(labels, list(keep))
            region = cv2.dilate(region.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
            result[y0:y1, x0:x1] = np.maximum(result[y0:y1, x0:x1], region.astype(np.float32))
    return result


def _head(body: Body, front: AnyArray) -> None:
    """Draws the head (an ellipse from above the crown to just under the chin) into `front`."""
    eyes = (body.point(lm.LEFT_EYE) + body.point(lm.RIGHT_EYE)) / 2
    mouth = (body.point(lm.MOUTH_LEFT) + body.point(lm.MOUTH_RIGHT)) / 2
    face_height = float(np.linalg.norm(mouth - eyes))
    ears = float(np.linalg.norm(body.point(lm.LEFT_EAR) - body.point(lm.RIGHT_EAR)))
    # The head: an ellipse from above the crown down to just under the chin.
    chin = mouth + body.down * 1.1 * face_height
    crown = eyes - body.down * 2.6 * face_height
    centre = (chin + crown) / 2
    axes = (int(max(0.62 * ears, 0.2 * body.shoulder_width)), int(np.linalg.norm(chin - crown) / 2))
    angle = float(np.degrees(np.arctan2(body.down[1], body.down[0]))) - 90
    cv2.ellipse(front, (int(centre[0]), int(centre[1])), axes, angle, 0, 360, 1, -1)


def head(body: Body) -> FloatArray:
    """0..1 the head (with the hair around it), which nothing is drawn over."""
    front = np.zeros(body.mask.shape, np.uint8)
    _head(body, front)
    return np.asarray(cv2.GaussianBlur((front * (body.mask > 0.5)).astype(np.float32), (0, 0), 1.5), np.float32)


def keep_in_front(body: Body, person: ImageArray | None = None) -> FloatArray:
    """0..1 mask of what stays in front of any garment: the head and the hands (found by their
    skin colour too when the photo is given)."""
    height, width = body.mask.shape
    sw = body.shoulder_width
    front = np.zeros((height, width), np.uint8)
    _head(body, front)
    for wrist, index, pinky in (
        (lm.LEFT_WRIST, lm.LEFT_INDEX, lm.LEFT_PINKY),
        (lm.RIGHT_WRIST, lm.RIGHT_INDEX, lm.RIGHT_PINKY),
    ):
        knuckles = (body.point(index) + body.point(pinky)) / 2
        tip = knuckles + (knuckles - body.point(wrist)) * 0.6
        start = body.point(wrist) + (knuckles - body.point(wrist)) * 0.15
        cv2.line(front, (int(start[0]), int(start[1])), (int(tip[0]), int(tip[1])), 1, max(2, int(0.2 * sw)))
    # Keep only the person's own pixels of those shapes.
    shapes = (front * (body.mask > 0.5)).astype(np.float32)
    if person is not None:
        shapes = np.maximum(shapes, _hands(person, body))
    return np.asarray(cv2.GaussianBlur(shapes, (0, 0), 1.5), dtype=np.float32)


def forearms(body: Body) -> FloatArray:
    """0..1 mask of the forearms, elbow to wrist: arms hanging at the sides lie in front of the
    hips and thighs, so trousers go behind them."""
    height, width = body.mask.shape
    sw = body.shoulder_width
    canvas = np.zeros((height, width), np.uint8)
    for elbow, wrist in ((lm.LEFT_ELBOW, lm.LEFT_WRIST), (lm.RIGHT_ELBOW, lm.RIGHT_WRIST)):
        a, b = body.point(elbow), body.point(wrist)
        direction = b - a
        length = max(float(np.linalg.norm(direction)), 1e-6)
        normal = np.array([-direction[1], direction[0]]) / length
        wide, narrow = 0.11 * sw, 0.075 * sw
        quad = np.array([a + normal * wide, b + normal * narrow, b - normal * narrow, a - normal * wide])
        cv2.fillPoly(canvas, [np.round(quad).astype(np.int32)], 1)
        cv2.circle(canvas, (int(a[0]), int(a[1])), int(wide), 1, -1)
        cv2.circle(canvas, (int(b[0]), int(b[1])), int(narrow), 1, -1)
    return np.asarray(cv2.GaussianBlur(canvas.astype(np.float32), (0, 0), 1.5), dtype=np.float32)


def _masked_blur(values: FloatArray, weight: FloatArray, sigma: float, step: int) -> FloatArray:
    """Gaussian average of `values` over the pixels where `weight` is set (background left out)."""
    height, width = values.shape
    if step > 1:
        size = (max(1, width // step), max(1, height // step))
        values = np.asarray(cv2.resize(values, size, interpolation=cv2.INTER_AREA), dtype=np.float32)
        weight = np.asarray(cv2.resize(weight, size, interpolation=cv2.INTER_AREA), dtype=np.float32)
    blurred = cv2.GaussianBlur(values * weight, (0, 0), sigma / step) / (
        cv2.GaussianBlur(weight, (0, 0), sigma / step) + 1e-3
    )
    if step > 1:
        blurred = cv2.resize(blurred, (width, height), interpolation=cv2.INTER_LINEAR)
    result: FloatArray = blurred
    return result


def shading(person: ImageArray, body: Body, strength: float) -> FloatArray:
    """Multiplicative light of the photo: fold-scale lightness over its local average.

    The ratio of a small blur to a large one keeps folds and soft shadows and drops the overall
    colour of what the person wears; clipping stops dark prints and logos from printing through.
    """
    sw = body.shoulder_width
    lightness = cv2.cvtColor(person, cv2.COLOR_RGB2GRAY).astype(np.float32) + 8.0
    weight = (body.mask > 0.5).astype(np.float32)
    fine_sigma, broad_sigma = max(2.0, 0.04 * sw), max(4.0, 0.25 * sw)
    fine = _masked_blur(lightness, weight, fine_sigma, 1)
    # The broad average is smooth by nature: blur a quarter-size image, which costs a sixteenth.
    broad = _masked_blur(lightness, weight, broad_sigma, 4)
    ratio = np.log(np.maximum(fine, 1.0) / np.maximum(broad, 1.0))
    # Folds and soft shadows change lightness by a few tens of percent; a larger step is the old
    # clothes changing colour (a dark jacket open over a white shirt). Those steps are faded out
    # rather than clipped, or the old outfit would print through the new garment.
    fold_like = np.clip(1.0 - (np.abs(ratio) - 0.15) / 0.15, 0.0, 1.0)
    ratio = ratio * cv2.GaussianBlur(fold_like.astype(np.float32), (0, 0), fine_sigma)
    result: FloatArray = np.exp(np.clip(ratio, -0.3, 0.15) * strength).astype(np.float32)
    return result


def between_legs(body: Body) -> FloatArray:
    """0..1 the person's outline with the gap between the legs filled, below the hips: a skirt
    hangs across it instead of wrapping each leg."""
    height, width = body.mask.shape
    sw = body.shoulder_width
    hips = (body.point(lm.LEFT_HIP) + body.point(lm.RIGHT_HIP)) / 2
    top = int(np.clip(hips[1], 0, height))
    x0, x1 = int(max(0, hips[0] - 0.8 * sw)), int(min(width, hips[0] + 0.8 * sw))
    result = body.mask.copy()
    if top >= height or x1 <= x0:
        return result
    legs = body.mask[top:, x0:x1] > 0.5
    filled = np.maximum.accumulate(legs, axis=1) & np.maximum.accumulate(legs[:, ::-1], axis=1)[:, ::-1]
    result[top:, x0:x1] = np.maximum(result[top:, x0:x1], filled.astype(np.float32))
    return result


def composite(
    person: ImageArray,
    body: Body,
    garment: Layer,
    strength: float,
    bare_old_sleeves: bool = False,
    skirt: bool = False,
) -> tuple[ImageArray, FloatArray]:
    """The result image and the garment's final coverage (0..1) in it. With `bare_old_sleeves`
    (a top was put on), old sleeves left showing are turned into bare arms; with `skirt` (a
    dress), the garment also hangs across the gap between the legs."""
    outline = between_legs(body) if skirt else body.mask
    inside = cv2.GaussianBlur(np.clip((outline - 0.5) * 4 + 0.5, 0, 1).astype(np.float32), (0, 0), 0.8)
    front = keep_in_front(body, person)
    alpha = garment.alpha * inside * (1.0 - front)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 0.7)
    light = shading(person, body, strength)
    shaded = garment.rgb * light[..., np.newaxis]
    out = person.astype(np.float32) * (1 - alpha[..., np.newaxis]) + shaded * alpha[..., np.newaxis]
    image = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    if not bare_old_sleeves:
        return image, alpha
    tone = skin_tone(person, body)
    lit_tone = skin_tone(person, body, lit=True)
    the_head = head(body)
    skin_of: Callable[[tuple[slice, slice]], FloatArray] | None = None
    tone_rgb: FloatArray | None = None
    if tone is not None:
        skin_tone_lab: FloatArray = tone

        def skin_of(window: tuple[slice, slice]) -> FloatArray:
            patch = np.ascontiguousarray(person[window])
            return skin_like(cv2.cvtColor(patch, cv2.COLOR_RGB2LAB).astype(np.float32), skin_tone_lab)

        assert lit_tone is not None
        rgb = cv2.cvtColor(np.round(lit_tone).astype(np.uint8)[np.newaxis, np.newaxis], cv2.COLOR_LAB2RGB)
        tone_rgb = rgb.reshape(3).astype(np.float32)
        image = bare_arms(image, body, alpha, the_head, skin_of, tone_rgb)
    image = clear_collar(image, person, body, alpha, the_head, skin_of, tone_rgb)
    return image, alpha
