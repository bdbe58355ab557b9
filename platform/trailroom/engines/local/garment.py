"""Garment cut-out from a product photo, by classical means (no cloth model ships in any wheel).

A product photo is a garment on a plain, light background. The background is modelled from the
image border as a smooth colour field (so gradients and vignetting do not count as garment), every
pixel is scored by its colour distance to that field, drop shadows (darker, same hue) are taken
out, and the largest region with its holes filled is the garment. (GrabCut was tried: it tripled
the cost and pulled shadows back in on white garments.) A border that is not plain (a street, a room, noise) is
refused: the garment cannot be told from its surroundings.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from trailroom.engines.base import GARMENT_NOT_FOUND, EngineError
from trailroom.engines.local.types import AnyArray, BoolArray, FloatArray, ImageArray

WORK_SIDE = 384  # cut-out resolution; the soft edge is rebuilt at full size
BORDER_NOISE_LIMIT = 9.0  # ΔE-like spread of the border beyond which the background is not plain
MIN_AREA, MAX_AREA = 0.04, 0.9  # share of the photo a product shot's garment covers
RIM = 3.0  # width of the garment's edge mixed with the backdrop (colours replaced), in cut-out pixels


@dataclass(frozen=True)
class GarmentCutout:
    image: ImageArray  # (h, w, 3) RGB, the product photo cropped to the garment with a margin
    alpha: FloatArray  # (h, w) 0..1 garment opacity

    @property
    def mask(self) -> BoolArray:
        result: BoolArray = self.alpha > 0.5
        return result


def _background_distance(lab: FloatArray, border: BoolArray) -> tuple[FloatArray, FloatArray, float]:
    """Distance of each pixel to a smooth background fitted to the border, the fitted background,
    and the border's spread.

    The background is a quadratic colour surface (gradients and vignetting are background). The
    fit is repeated without the border pixels that disagree with it, so a garment that touches the
    edge of the photo (a trouser hem) does not pull the background towards its colour.
    """
    height, width = lab.shape[:2]
    weights = np.array([0.6, 1.0, 1.0], dtype=np.float32)  # lightness varies with the light, colour less
    border_ys, border_xs = np.nonzero(border)
    bx, by = border_xs.astype(np.float32) / width, border_ys.astype(np.float32) / height
    border_design = np.stack([np.ones_like(bx), bx, by, bx * bx, by * by, bx * by], axis=-1)
    border_values = lab[border]
    use = np.ones(len(border_values), dtype=bool)
    coefficients = np.zeros((6, 3), dtype=np.float32)
    for _ in range(3):
        # Normal equations (6x6): lstsq on the tall matrix costs ~40x more CPU (threaded LAPACK).
        chosen = border_design[use].astype(np.float64)
        gram = chosen.T @ chosen + 1e-6 * np.eye(6)
        coefficients = np.linalg.solve(gram, chosen.T @ border_values[use].astype(np.float64)).astype(np.float32)
        border_distance = np.linalg.norm((border_values - border_design @ coefficients) * weights, axis=1)
        use = border_distance <= max(float(np.percentile(border_distance, 75)) * 2.5, 3.0)
    spread = float(np.percentile(border_distance[use], 90))
    # The surface, evaluated separably: rows and columns terms, plus the cross term.
    x = (np.arange(width, dtype=np.float32) / width)[np.newaxis, :, np.newaxis]
    y = (np.arange(height, dtype=np.float32) / height)[:, np.newaxis, np.newaxis]
    c = coefficients
    field = (c[0] + c[2] * y + c[4] * y * y) + (c[1] * x + c[3] * x * x) + (y * x) * c[5]
    difference = (lab - field) * weights
    distance = np.sqrt(np.einsum("ijk,ijk->ij", difference, difference))
    return distance, field, spread


def cut_out(photo: ImageArray) -> GarmentCutout:
    """The garment in a product photo, or `garment_not_found`."""
    height, width = photo.shape[:2]
    scale = WORK_SIDE / max(height, width)
    small = cv2.resize(photo, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
    band = max(4, round(0.03 * min(sh, sw)))
    border = np.zeros((sh, sw), dtype=bool)
    border[:band] = border[-band:] = True
    border[:, :band] = border[:, -band:] = True

    distance, field, spread = _background_distance(lab, border)
    busy_border = (distance[border] > 4 * max(spread, 2.0)).mean()
    if spread > BORDER_NOISE_LIMIT or busy_border > 0.5:
        raise EngineError(
            GARMENT_NOT_FOUND,
            "The product photo has no plain background, so the garment cannot be cut out. "
            "Use a product photo of the garment alone on a plain light background.",
        )
    seed = distance > max(2.2, 3.0 * spread)

    # Drop shadows are darker than the background but keep its hue, and fall below the garment's
    # lower edges (hem, sleeve undersides). A white garment's own shading looks the same, so only
    # a short run climbing up from each lower edge is taken off, not every shadow-like pixel. Not
    # done when the garment itself is shadow-like (grey), where it would eat the garment.
    lightness_drop = field[:, :, 0] - lab[:, :, 0]
    hue_distance = np.linalg.norm(lab[:, :, 1:] - field[:, :, 1:], axis=2)
    shadow_like = (lightness_drop > 0) & (lightness_drop < 40) & (hue_distance < 5.0)
    if seed.any() and shadow_like[seed].mean() < 0.5:
        seed &= ~_shadow_under_edges(seed, shadow_like, max(2, round(0.03 * sh)))

    mask: AnyArray = seed.astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    mask = _main_component(mask)
    area = float(mask.mean())
    ys, xs = np.nonzero(mask)
    touches = 0
    if len(xs):
        touches = int(xs.min() <= 1) + int(xs.max() >= sw - 2) + int(ys.min() <= 1) + int(ys.max() >= sh - 2)
    if not MIN_AREA <= area <= MAX_AREA or touches >= 3:
        raise EngineError(
            GARMENT_NOT_FOUND,
            "No single garment was found in the product photo. Use a photo of the garment alone, whole, "
            "on a plain light background.",
        )
    return _crop(photo, mask, scale)


def _shadow_under_edges(seed: BoolArray, shadow_like: BoolArray, reach: int) -> BoolArray:
    """Shadow-like pixels of `seed` within `reach` rows above one of its lower edges."""
    below_is_outside = np.ones_like(seed)
    below_is_outside[:-1] = ~seed[1:]
    shadow = seed & shadow_like & below_is_outside
    for _ in range(reach):
        grown = shadow.copy()
        grown[:-1] |= shadow[1:]
        grown &= seed & shadow_like
        if (grown == shadow).all():
            break
        shadow = grown
    return shadow


def _main_component(mask: AnyArray) -> AnyArray:
    """The largest connected region, holes filled (prints and buttons close to the background colour)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return mask
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    main = (labels == largest).astype(np.uint8)
    contours, _ = cv2.findContours(main, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled: AnyArray = np.zeros_like(main)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    return filled


def _crop(photo: ImageArray, mask: AnyArray, scale: float) -> GarmentCutout:
    """Full-resolution garment and soft alpha, cropped to the garment plus a small margin."""
    height, width = photo.shape[:2]
    alpha = cv2.resize(mask.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    alpha = cv2.GaussianBlur(alpha, (0, 0), sigmaX=0.6 / scale)
    alpha = np.clip((alpha - 0.5) * 2.0 + 0.5, 0.0, 1.0)
    ys, xs = np.nonzero(alpha > 0.5)
    margin = round(0.02 * max(height, width))
    y0, y1 = max(0, int(ys.min()) - margin), min(height, int(ys.max()) + margin + 1)
    x0, x1 = max(0, int(xs.min()) - margin), min(width, int(xs.max()) + margin + 1)
    soft: FloatArray = np.ascontiguousarray(alpha[y0:y1, x0:x1], dtype=np.float32)
    image = _decontaminate(np.ascontiguousarray(photo[y0:y1, x0:x1]), soft, max(2, round(RIM / scale)))
    return GarmentCutout(image=image, alpha=soft)


def _decontaminate(image: ImageArray, alpha: FloatArray, rim: int) -> ImageArray:
    """`image` with the colours of the garment's rim (its soft edge and the outermost `rim`
    pixels) replaced by the garment's own colour from just inside.

    The rim mixes the garment with the product photo's light background (and its drop shadow):
    left as it is, every warped garment would carry a pale outline of its flat-lay silhouette,
    showing as a halo on the person's shoulders and beside the sleeves.
    """
    solid = (alpha >= 0.999).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * rim + 1, 2 * rim + 1))
    core = cv2.erode(solid, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    if not core.any():
        return image
    rim_zone = (alpha > 0.0) & (core == 0)
    if not rim_zone.any():
        return image
    # Normalised blur of the core's colours at a quarter size (the fill is a smooth colour),
    # spread far enough to reach across the rim.
    height, width = alpha.shape
    step = 4
    size = (max(2, width // step), max(2, height // step))
    weight = np.asarray(cv2.resize(core.astype(np.float32), size, interpolation=cv2.INTER_AREA), np.float32)
    small = np.asarray(cv2.resize(image.astype(np.float32), size, interpolation=cv2.INTER_AREA), np.float32)
    sigma = max(1.0, 1.5 * rim / step)
    colour = cv2.GaussianBlur(small * weight[..., np.newaxis], (0, 0), sigma)
    total = cv2.GaussianBlur(weight, (0, 0), sigma)
    # Where the blur does not reach (a thin strap), fall back to a wider one.
    wide_colour = cv2.GaussianBlur(small * weight[..., np.newaxis], (0, 0), 4 * sigma)
    wide_total = cv2.GaussianBlur(weight, (0, 0), 4 * sigma)
    reached = (total > 1e-3)[..., np.newaxis]
    fill_small = np.where(
        reached,
        colour / np.maximum(total, 1e-6)[..., np.newaxis],
        wide_colour / np.maximum(wide_total, 1e-6)[..., np.newaxis],
    )
    fill = np.asarray(cv2.resize(fill_small, (width, height), interpolation=cv2.INTER_LINEAR), np.float32)
    result = image.copy()
    result[rim_zone] = np.clip(fill[rim_zone] + 0.5, 0, 255).astype(np.uint8)
    return result
