"""Old clothing left showing above the new garment's neckline: a hood lying on the shoulders, a
jacket's collar. It is found by the old top's own colours (sampled from the chest, which the new
garment hides) in the band between the chin and the new garment, and replaced by the background
estimated from the photo around it, so the neck and shoulders stand free as they would.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from trailroom.engines.local import pose as lm
from trailroom.engines.local.body import Body
from trailroom.engines.local.types import BoolArray, FloatArray, ImageArray

BINS = 16  # per colour channel (a, b), for the old top's colour histogram
LIGHTNESS_BINS = 8
NECK_HALF_WIDTH = 0.18  # in shoulder widths
MIN_SHARE = 0.002  # a colour bin holding less of the chest than this is not the old top's
HAIR_SHARE = 0.01  # a colour bin holding more of the crown than this is the hair's
NEAR_SIGMA = 0.25  # the background estimate's near reach, as a share of its wide one
FAR_WEIGHT = 0.02  # weight of the wide average against the near one


def _lab_bins(image: ImageArray) -> np.ndarray:
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.int32)
    # Lightness coarser than colour: the light on a hood differs from the chest's more than its hue.
    lightness = lab[..., 0] // (256 // LIGHTNESS_BINS)
    result: np.ndarray = (lightness * BINS + lab[..., 1] // (256 // BINS)) * BINS + lab[..., 2] // (256 // BINS)
    return result


def _histogram(bins: np.ndarray) -> FloatArray:
    """Share of each Lab bin among `bins`, spread a little to neighbouring bins."""
    histogram = np.bincount(bins.reshape(-1), minlength=LIGHTNESS_BINS * BINS**2).astype(np.float32)
    histogram /= max(float(histogram.sum()), 1.0)
    cube = histogram.reshape(LIGHTNESS_BINS, BINS * BINS)
    result: FloatArray = np.asarray(cv2.GaussianBlur(cube, (3, 3), 0), np.float32).reshape(-1)
    return result


def _patch(person: ImageArray, body: Body, centre: FloatArray, radius: int) -> ImageArray | None:
    """The person's pixels in a square around `centre` (n, 3), or None if too few."""
    height, width = body.mask.shape
    x, y = int(centre[0]), int(centre[1])
    x0, x1, y0, y1 = max(0, x - radius), min(width, x + radius + 1), max(0, y - radius), min(height, y + radius + 1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    inside = body.mask[y0:y1, x0:x1] > 0.5
    if inside.sum() < 20:
        return None
    pixels: ImageArray = person[y0:y1, x0:x1][inside]
    return pixels


def _crown(person: ImageArray, body: Body) -> np.ndarray | None:
    """Lab bins of the hair at the top of the head, or None for a bald head (the crown's colour
    is the forehead's)."""
    eyes = (body.point(lm.LEFT_EYE) + body.point(lm.RIGHT_EYE)) / 2
    mouth = (body.point(lm.MOUTH_LEFT) + body.point(lm.MOUTH_RIGHT)) / 2
    face = float(np.linalg.norm(mouth - eyes))
    crown = _patch(person, body, eyes - body.down * 1.6 * face, max(2, int(0.6 * face)))
    if crown is None:
        return None
    forehead = _patch(person, body, eyes - body.down * 0.6 * face, max(2, int(0.3 * face)))
    crown_lab = cv2.cvtColor(crown[np.newaxis], cv2.COLOR_RGB2LAB)[0].astype(np.float32)
    if forehead is not None:
        forehead_lab = cv2.cvtColor(forehead[np.newaxis], cv2.COLOR_RGB2LAB)[0].astype(np.float32)
        difference = np.median(crown_lab, axis=0) - np.median(forehead_lab, axis=0)
        if np.linalg.norm(difference * np.array([0.3, 1.0, 1.0])) < 8.0:
            return None
    bins: np.ndarray = _lab_bins(crown[np.newaxis])[0]
    return bins


def background(image: ImageArray, person: FloatArray, sigma: float) -> FloatArray:
    """A smooth estimate of what lies behind the person: the photo's colours outside the person,
    averaged over `sigma` pixels (on a quarter-size image: it is smooth by construction)."""
    height, width = person.shape
    step = 4
    size = (max(2, width // step), max(2, height // step))
    # Only what is clearly background: the person's soft outline (their old clothes' edge) is
    # kept out, and the colours are weighted before shrinking, or the shrunk image mixes the
    # person into the background along their outline (a dark ghost of the old outline).
    outline = cv2.dilate((person >= 0.3).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    outside = (outline == 0).astype(np.float32)
    weight = np.asarray(cv2.resize(outside, size, interpolation=cv2.INTER_AREA), np.float32)
    premultiplied = image.astype(np.float32) * outside[..., np.newaxis]
    small = np.asarray(cv2.resize(premultiplied, size, interpolation=cv2.INTER_AREA), np.float32)
    # The nearest background counts most (a backdrop's light changes across the photo, and is
    # often brighter right around the person); the wide average only where none is near.
    near = sigma * NEAR_SIGMA / step
    blurred = cv2.GaussianBlur(small, (0, 0), near) + FAR_WEIGHT * cv2.GaussianBlur(small, (0, 0), sigma / step)
    total = cv2.GaussianBlur(weight, (0, 0), near) + FAR_WEIGHT * cv2.GaussianBlur(weight, (0, 0), sigma / step)
    estimate = blurred / (total[..., np.newaxis] + 1e-4)
    result: FloatArray = np.asarray(cv2.resize(estimate, (width, height), interpolation=cv2.INTER_LINEAR), np.float32)
    return result


def clear_collar(
    image: ImageArray,
    person: ImageArray,
    body: Body,
    coverage: FloatArray,
    head: FloatArray,
    skin_of: Callable[[tuple[slice, slice]], FloatArray] | None,
    tone_rgb: FloatArray | None,
) -> ImageArray:
    """`image` with old clothing above the new garment's neckline replaced by the background, and
    the neck it hid drawn in the person's skin tone (`tone_rgb`; without it the neck is left as
    it is)."""
    height, width = body.mask.shape
    sw = body.shoulder_width
    corners = body.to_image(np.array([[u, v] for u in (-1.0 * sw, 1.0 * sw) for v in (-0.9 * sw, 0.5 * sw)]))
    x0, y0 = np.clip(np.floor(corners.min(axis=0)).astype(int), 0, [width, height])
    x1, y1 = np.clip(np.ceil(corners.max(axis=0)).astype(int) + 1, 0, [width, height])
    chest = body.to_image(np.array([[u, v] for u in (-0.5 * sw, 0.5 * sw) for v in (0.3 * sw, 0.8 * sw)]))
    cx0, cy0 = np.clip(np.floor(chest.min(axis=0)).astype(int), 0, [width, height])
    cx1, cy1 = np.clip(np.ceil(chest.max(axis=0)).astype(int) + 1, 0, [width, height])
    if x1 - x0 < 8 or y1 - y0 < 8 or cx1 - cx0 < 4 or cy1 - cy0 < 4:
        return image
    window = (slice(int(y0), int(y1)), slice(int(x0), int(x1)))
    chest_window = (slice(int(cy0), int(cy1)), slice(int(cx0), int(cx1)))

    # The old top's colours: what the chest is made of.
    chest_bins = _lab_bins(np.ascontiguousarray(person[chest_window]))
    chest_use = body.mask[chest_window] > 0.5
    if chest_use.sum() < 50:
        return image
    # Neighbouring bins count too (the light on a hood differs a little from the chest's).
    old_top = _histogram(chest_bins[chest_use])
    window_bins = _lab_bins(np.ascontiguousarray(person[window]))
    old_colour = old_top[window_bins] > MIN_SHARE
    # Hair falling on the shoulders is not a hood: colours of the crown are left alone.
    hair = _crown(person, body)
    if hair is not None:
        old_colour &= _histogram(hair)[window_bins] <= HAIR_SHARE

    ys, xs = np.mgrid[window[0], window[1]]
    uv = body.to_body(np.stack([xs, ys], axis=-1).astype(np.float64))
    band = (uv[..., 1] < 0.35 * sw) & (np.abs(uv[..., 0]) < 0.95 * sw)
    candidate: BoolArray = (
        old_colour & band & (body.mask[window] > 0.5) & (coverage[window] < 0.5) & (head[window] < 0.3)
    )
    if skin_of is not None:
        candidate &= skin_of(window) < 0.5
    candidate = candidate > 0
    # Only what rests on the new garment: old clothing continues under it.
    count, labels = cv2.connectedComponents(candidate.astype(np.uint8))
    if count <= 1:
        return image
    touching = cv2.dilate((coverage[window] >= 0.5).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    keep = np.unique(labels[touching & candidate])
    keep = keep[keep > 0]
    if len(keep) == 0:
        return image
    region = np.isin(labels, keep)
    region = cv2.dilate(region.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))) > 0
    region &= (coverage[window] < 0.5) & (head[window] < 0.3)
    fill = np.asarray(cv2.GaussianBlur(region.astype(np.float32), (0, 0), 1.5), np.float32)
    fill *= head[window] < 0.3
    # Past the person's outline the photo already shows what is behind: left as it is.
    fill *= np.clip((body.mask[window] - 0.1) / 0.2, 0.0, 1.0)
    behind = background(np.ascontiguousarray(person[window]), body.mask[window], 0.3 * sw)
    # The neck: a column under the chin, rounded, in the shade of the head.
    mouth = body.to_body((body.point(lm.MOUTH_LEFT) + body.point(lm.MOUTH_RIGHT)) / 2)
    across = np.abs(uv[..., 0] - mouth[0]) / (NECK_HALF_WIDTH * sw)
    neck = (across < 1.0) & (uv[..., 1] > mouth[1])
    if tone_rgb is None:
        fill *= ~neck
    else:
        shade = (0.9 - 0.25 * np.clip(across, 0.0, 1.0) ** 2)[..., np.newaxis]
        # Soft sides: the neck's outline fades into what is behind it over a few pixels.
        weight = (np.clip((1.0 - across) / 0.25, 0.0, 1.0) * (uv[..., 1] > mouth[1]))[..., np.newaxis]
        behind = weight * tone_rgb[np.newaxis, np.newaxis, :] * shade + (1 - weight) * behind
    result = image.copy()
    blended = result[window].astype(np.float32) * (1 - fill[..., np.newaxis]) + behind * fill[..., np.newaxis]
    result[window] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    return result
