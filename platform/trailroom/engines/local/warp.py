"""Moving garment parts onto the body: backward maps from person pixels to garment pixels.

The torso of a top (or a dress) is mapped row by row in the body frame: rows follow the garment's
own proportions scaled to the shoulders, and each row's torso columns are stretched to the
person's torso outline at that height, so the new garment covers the old one. Sleeves and trouser
legs are mapped along the limb's bones (shoulder-elbow-wrist, waist-knee-ankle), which bends them
at the joint.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from trailroom.engines.local import pose as lm
from trailroom.engines.local.body import Body
from trailroom.engines.local.garment import GarmentCutout
from trailroom.engines.local.garment_shape import BottomShape, Limb, TopShape
from trailroom.engines.local.types import BoolArray, FloatArray

SHOULDER_OUTER = 0.62  # outer shoulder half-width, in shoulder-joint widths
CHEST_TO_SHOULDER = 1.22  # a flat top's armpit-to-armpit width over the wearer's shoulder-joint width


@dataclass(frozen=True)
class Fit:
    """Small variations a seed picks, so samples of one try-on differ plausibly."""

    length: float = 1.0
    width: float = 1.0


@dataclass
class Layer:
    rgb: FloatArray  # (h, w, 3) 0..255
    alpha: FloatArray  # (h, w) 0..1
    box: tuple[int, int, int, int] | None = None  # y0, y1, x0, x1 outside which alpha is 0 (None: anywhere)

    def over(self, other: Layer) -> Layer:
        """This layer in front of `other` (which is modified and returned)."""
        y0, y1, x0, x1 = self.box or (0, self.alpha.shape[0], 0, self.alpha.shape[1])
        front_alpha = self.alpha[y0:y1, x0:x1]
        back_alpha = other.alpha[y0:y1, x0:x1]
        alpha = front_alpha + back_alpha * (1 - front_alpha)
        safe = np.maximum(alpha, 1e-6)[..., np.newaxis]
        other.rgb[y0:y1, x0:x1] = (
            self.rgb[y0:y1, x0:x1] * front_alpha[..., np.newaxis]
            + other.rgb[y0:y1, x0:x1] * (back_alpha * (1 - front_alpha))[..., np.newaxis]
        ) / safe
        other.alpha[y0:y1, x0:x1] = alpha
        other.box = None if other.box is None or self.box is None else _union(other.box, self.box)
        return other


def _union(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    return min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])


def _empty(shape: tuple[int, int]) -> Layer:
    return Layer(rgb=np.zeros((*shape, 3), np.float32), alpha=np.zeros(shape, np.float32), box=(0, 0, 0, 0))


def _sample(
    cutout: GarmentCutout, region: BoolArray, map_x: FloatArray, map_y: FloatArray
) -> tuple[FloatArray, FloatArray]:
    rgb = cv2.remap(
        cutout.image,
        map_x.astype(np.float32),
        map_y.astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    ).astype(np.float32)
    weight = (cutout.alpha * region).astype(np.float32)
    alpha = cv2.remap(weight, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR, borderValue=0.0)
    return np.asarray(rgb, dtype=np.float32), np.asarray(alpha, dtype=np.float32)


def _torso_edges(
    body: Body, v_samples: FloatArray, centre_u: FloatArray, with_arms: bool = False
) -> tuple[FloatArray, FloatArray]:
    """The person's torso outline (u of its left and right edges) at each height, arms left out
    unless `with_arms`."""
    sw = body.shoulder_width
    us = np.linspace(-1.6 * sw, 1.6 * sw, 161)
    grid_u, grid_v = np.meshgrid(us, v_samples)
    points = body.to_image(np.stack([grid_u, grid_v], axis=-1))
    height, width = body.mask.shape
    xs = np.clip(np.round(points[..., 0]).astype(int), 0, width - 1)
    ys = np.clip(np.round(points[..., 1]).astype(int), 0, height - 1)
    inside = (body.mask[ys, xs] > 0.5) & (points[..., 0] >= 0) & (points[..., 0] < width)
    inside &= (points[..., 1] >= 0) & (points[..., 1] < height) | (points[..., 1] >= height)
    # Out of frame below (a selfie): the torso continues; keep the last rows' outline.
    below = points[..., 1] >= height
    inside |= below & (np.abs(grid_u - centre_u[:, np.newaxis]) < 0.7 * sw)
    arms = np.zeros_like(inside)
    for joints in (
        (lm.LEFT_SHOULDER, lm.LEFT_ELBOW, lm.LEFT_WRIST),
        (lm.RIGHT_SHOULDER, lm.RIGHT_ELBOW, lm.RIGHT_WRIST),
    ):
        polyline = np.stack([body.point(index) for index in joints])
        distance, _, _ = _project(points.reshape(-1, 2), polyline, extend=False)
        arms |= distance.reshape(inside.shape) < 0.12 * sw
    far_from_centre = np.abs(grid_u - centre_u[:, np.newaxis]) > 0.4 * sw
    if not with_arms:
        inside &= ~(arms & far_from_centre)
    lefts = np.empty(len(v_samples))
    rights = np.empty(len(v_samples))
    for row, centre in enumerate(centre_u):
        column = int(np.argmin(np.abs(us - centre)))
        line = inside[row]
        if not line[column]:
            lefts[row], rights[row] = centre - 0.5 * sw, centre + 0.5 * sw
            continue
        outside = np.flatnonzero(~line)
        before, after = outside[outside < column], outside[outside > column]
        lefts[row] = us[before[-1] + 1] if len(before) else us[0]
        rights[row] = us[after[0] - 1] if len(after) else us[-1]
    return lefts, rights


def _project(points: FloatArray, polyline: FloatArray, extend: bool) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Distance to a polyline, arc length of the nearest point and signed side offset.

    With `extend`, the first and last segments continue past their ends, so pixels above a
    shoulder or past a wrist still get a position along the limb.
    """
    best = np.full(len(points), np.inf)
    arc = np.zeros(len(points))
    side = np.zeros(len(points))
    start_length = 0.0
    last = len(polyline) - 2
    for index in range(len(polyline) - 1):
        a, b = polyline[index], polyline[index + 1]
        direction = b - a
        length = max(float(np.linalg.norm(direction)), 1e-6)
        direction = direction / length
        offset = points - a
        t = offset @ direction
        low = -np.inf if (extend and index == 0) else 0.0
        high = np.inf if (extend and index == last) else length
        t = np.clip(t, low, high)
        nearest = a + t[:, np.newaxis] * direction
        distance = np.linalg.norm(points - nearest, axis=1)
        normal = np.array([-direction[1], direction[0]])
        closer = distance < best
        best = np.where(closer, distance, best)
        arc = np.where(closer, start_length + t, arc)
        side = np.where(closer, (points - nearest) @ normal, side)
        start_length += length
    return best, arc, side


def _limb_layer(
    body: Body,
    cutout: GarmentCutout,
    limb: Limb,
    bones: FloatArray,
    along: float,
    across: float,
    reach: float,
    cap_length: float,
) -> Layer:
    """One sleeve or leg, laid along the body's bones. `along`/`across` are garment pixels per
    body pixel along and across the limb; `reach` bounds the work to pixels near the bones."""
    height, width = body.mask.shape
    layer = _empty((height, width))
    x0 = int(max(0, bones[:, 0].min() - reach))
    x1 = int(min(width, bones[:, 0].max() + reach))
    y0 = int(max(0, bones[:, 1].min() - reach))
    y1 = int(min(height, bones[:, 1].max() + reach))
    if x1 <= x0 or y1 <= y0:
        return layer
    # The map is smooth, so it is computed on every other pixel and interpolated: a quarter of
    # the projection work.
    ys, xs = np.mgrid[y0:y1:2, x0:x1:2]
    points = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
    distance, arc, side = _project(points, bones, extend=True)
    # Above the root the limb is capped by its own first cross-section (the shoulder ball, the
    # top of a thigh), a little way up, instead of stopping in a straight cut.
    keep = ((distance < reach) & (arc > -cap_length)).astype(np.float32)
    arc = np.maximum(arc, 0.0)
    root, end = limb.axis[0], limb.axis[-1]
    direction = (end - root) / max(float(np.linalg.norm(end - root)), 1e-6)
    normal = np.array([-direction[1], direction[0]])
    garment = root + (arc * along)[:, np.newaxis] * direction + (side * across)[:, np.newaxis] * normal
    size = (x1 - x0, y1 - y0)
    map_x = cv2.resize(garment[:, 0].reshape(ys.shape).astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    map_y = cv2.resize(garment[:, 1].reshape(ys.shape).astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    rgb, alpha = _sample(cutout, limb.region, map_x, map_y)
    alpha *= cv2.resize(keep.reshape(ys.shape), size, interpolation=cv2.INTER_LINEAR)
    layer.rgb[y0:y1, x0:x1] = rgb
    layer.alpha[y0:y1, x0:x1] = alpha
    layer.box = (y0, y1, x0, x1)
    return layer


def _piecewise(values: FloatArray, knots_from: list[float], knots_to: list[float]) -> FloatArray:
    """Piecewise-linear map through the knots, continued linearly past both ends."""
    result = np.interp(values, knots_from, knots_to)
    low_slope = (knots_to[1] - knots_to[0]) / max(knots_from[1] - knots_from[0], 1e-6)
    high_slope = (knots_to[-1] - knots_to[-2]) / max(knots_from[-1] - knots_from[-2], 1e-6)
    result = np.where(values < knots_from[0], knots_to[0] + (values - knots_from[0]) * low_slope, result)
    result = np.where(values > knots_from[-1], knots_to[-1] + (values - knots_from[-1]) * high_slope, result)
    return result


def place_top(body: Body, cutout: GarmentCutout, shape: TopShape, fit: Fit, dress: bool = False) -> Layer:
    """A top (or dress) on the body: the torso part, then the sleeves over it."""
    sw, torso_length = body.shoulder_width, body.torso_length
    height, width = body.mask.shape
    garment_width = shape.right_x - shape.left_x
    scale = CHEST_TO_SHOULDER * sw * fit.width / garment_width  # body pixels per garment pixel

    # Heights along the body (v) of the garment's landmarks.
    v_shoulder = -0.1 * sw
    v_top = v_shoulder - (shape.shoulder_y - shape.top_y) * scale
    v_armpit = v_shoulder + (shape.armpit_y - shape.shoulder_y) * scale
    v_hem = v_shoulder + (shape.hem_y - shape.shoulder_y) * scale * fit.length
    # A top reaches at least past the hips; a dress at least to mid-thigh.
    v_hem = max(v_hem, torso_length * (1.45 if dress else 1.08))
    v_armpit = min(v_armpit, v_shoulder + 0.6 * (v_hem - v_shoulder))

    hips_u = float(body.to_body((body.point(lm.LEFT_HIP) + body.point(lm.RIGHT_HIP)) / 2)[0])
    v_samples = np.linspace(v_top, v_hem, 96)
    centre_u = np.interp(v_samples, [0.0, torso_length], [0.0, hips_u])
    # With the elbows out of the frame (a selfie) the arms are only guessed and lie against the
    # torso's outline: the torso reaches the whole outline and the sleeves are drawn over it.
    elbows_seen = all(
        0 <= body.point(index)[0] < width and 0 <= body.point(index)[1] < height
        for index in (lm.LEFT_ELBOW, lm.RIGHT_ELBOW)
    )
    lefts, rights = _torso_edges(body, v_samples, centre_u, with_arms=not elbows_seen)
    # Above the armpits the outline includes the arms: run from the outer shoulders instead.
    half_shoulder = SHOULDER_OUTER * sw * fit.width
    at_armpit = int(np.searchsorted(v_samples, v_armpit))
    at_armpit = min(max(at_armpit, 1), len(v_samples) - 1)
    below = slice(at_armpit, None)
    lefts[below] = np.clip(lefts[below], centre_u[below] - 1.0 * sw, centre_u[below] - 0.45 * sw)
    rights[below] = np.clip(rights[below], centre_u[below] + 0.45 * sw, centre_u[below] + 1.0 * sw)
    if dress:
        # Below the hips a dress hangs from the hips' width, not between the legs.
        hip_row = int(np.searchsorted(v_samples, torso_length))
        if hip_row < len(v_samples):
            lefts[hip_row:] = np.minimum.accumulate(lefts[hip_row:])
            rights[hip_row:] = np.maximum.accumulate(rights[hip_row:])
    anchor_left, anchor_right = lefts[at_armpit], rights[at_armpit]
    above = v_samples < v_armpit
    t = np.clip((v_samples[above] - v_shoulder) / max(v_armpit - v_shoulder, 1e-6), 0, 1)
    lefts[above] = -half_shoulder + t * (anchor_left + half_shoulder)
    rights[above] = half_shoulder + t * (anchor_right - half_shoulder)
    # Between the shoulders and the armpits the old garment also covers the top of the arms:
    # reach out to the outline there (the sleeves are drawn over it), up to a limit, so no strip
    # of the old garment shows between the new torso and its sleeves.
    outer_lefts, outer_rights = _torso_edges(body, v_samples[above], centre_u[above], with_arms=True)
    shoulder_rows = v_samples[above] >= v_shoulder
    lefts[above] = np.where(shoulder_rows, np.minimum(lefts[above], np.maximum(outer_lefts, -0.85 * sw)), lefts[above])
    rights[above] = np.where(
        shoulder_rows, np.maximum(rights[above], np.minimum(outer_rights, 0.85 * sw)), rights[above]
    )
    kernel = np.ones(7) / 7
    lefts = np.convolve(np.pad(lefts, 3, mode="edge"), kernel, mode="valid")
    rights = np.convolve(np.pad(rights, 3, mode="edge"), kernel, mode="valid")

    # Work only in the band the torso can reach, on every other pixel (the map is smooth).
    corners = body.to_image(np.array([[u, v] for u in (-1.7 * sw, 1.7 * sw) for v in (v_top, v_hem)]))
    x0, y0 = np.clip(np.floor(corners.min(axis=0)).astype(int), 0, [width, height])
    x1, y1 = np.clip(np.ceil(corners.max(axis=0)).astype(int) + 1, 0, [width, height])
    layer = _empty((height, width))
    if x1 > x0 and y1 > y0:
        ys, xs = np.mgrid[y0:y1:2, x0:x1:2]
        uv = body.to_body(np.stack([xs, ys], axis=-1).astype(np.float64))
        u, v = uv[..., 0], uv[..., 1]
        garment_y = _piecewise(
            v, [v_top, v_shoulder, v_armpit, v_hem], [shape.top_y, shape.shoulder_y, shape.armpit_y, shape.hem_y]
        )
        left_at = np.interp(v, v_samples, lefts)
        right_at = np.interp(v, v_samples, rights)
        garment_x = shape.left_x + (u - left_at) / np.maximum(right_at - left_at, 1.0) * garment_width
        size = (int(x1 - x0), int(y1 - y0))
        map_x = np.asarray(cv2.resize(garment_x.astype(np.float32), size, interpolation=cv2.INTER_LINEAR), np.float32)
        map_y = np.asarray(cv2.resize(garment_y.astype(np.float32), size, interpolation=cv2.INTER_LINEAR), np.float32)
        rgb, alpha = _sample(cutout, shape.torso, map_x, map_y)
        layer.rgb[y0:y1, x0:x1] = rgb
        layer.alpha[y0:y1, x0:x1] = alpha
        layer.box = (int(y0), int(y1), int(x0), int(x1))

    for sleeve in shape.sleeves:
        on_left = (sleeve.axis[0][0] + sleeve.axis[-1][0]) / 2 > (shape.left_x + shape.right_x) / 2
        # Image-left sleeve goes on the person's right arm when they face the camera.
        joints = (
            (lm.LEFT_SHOULDER, lm.LEFT_ELBOW, lm.LEFT_WRIST)
            if on_left
            else (lm.RIGHT_SHOULDER, lm.RIGHT_ELBOW, lm.RIGHT_WRIST)
        )
        bones = np.stack([body.point(index) for index in joints])
        bones[0] = bones[0] + body.down * 0.08 * sw
        arm_length = float(np.linalg.norm(bones[1] - bones[0]) + np.linalg.norm(bones[2] - bones[1]))
        hand = bones[-1] + (bones[-1] - bones[-2]) * 0.25
        bones = np.vstack([bones, hand])
        sleeve_length = float(np.linalg.norm(sleeve.axis[-1] - sleeve.axis[0]))
        along = 1.0 / scale
        if sleeve_length * scale > 0.7 * arm_length:
            # A long sleeve: flat-lays foreshorten sleeves, so its cuff goes just past the wrist joint
            # (over an old cuff there).
            along = sleeve_length / (arm_length * 1.06)
        arm_half_width = max(sleeve.half_width * scale, 0.26 * sw * fit.width)
        sleeve_layer = _limb_layer(
            body,
            cutout,
            sleeve,
            bones,
            along=along,
            across=sleeve.half_width / arm_half_width,
            reach=0.6 * sw,
            cap_length=0.2 * sw,
        )
        layer = sleeve_layer.over(layer)
    return layer


def place_bottom(body: Body, cutout: GarmentCutout, shape: BottomShape, fit: Fit) -> Layer:
    """Trousers (or a skirt split in two): each half along one leg, from the waist down."""
    sw = body.shoulder_width
    height, width = body.mask.shape
    hip_width = float(np.linalg.norm(body.point(lm.LEFT_HIP) - body.point(lm.RIGHT_HIP)))
    body_waist = max(1.9 * hip_width, 0.9 * sw) * fit.width
    scale = body_waist / (shape.waist_right_x - shape.waist_left_x)
    layer = _empty((height, width))
    for leg in shape.legs:
        on_left = (leg.axis[0][0] + leg.axis[-1][0]) / 2 > (shape.waist_left_x + shape.waist_right_x) / 2
        joints = (
            (lm.LEFT_HIP, lm.LEFT_KNEE, lm.LEFT_ANKLE) if on_left else (lm.RIGHT_HIP, lm.RIGHT_KNEE, lm.RIGHT_ANKLE)
        )
        bones = np.stack([body.point(index) for index in joints])
        waist_rise = 0.18 * body.torso_length
        bones = np.vstack([bones[0] - body.down * waist_rise, bones])
        leg_layer = _limb_layer(
            body,
            cutout,
            leg,
            bones,
            along=1.0 / (scale * fit.length),
            across=1.0 / scale,
            reach=0.7 * sw,
            cap_length=0.0,
        )
        layer = leg_layer.over(layer)
    return layer


def close_gaps(layer: Layer, width: float) -> Layer:
    """Fills the narrow gaps the garment's parts leave between them (a wedge of the old top between
    a sleeve and the torso, the crotch of trousers, a strip along the inner leg) with the garment's
    own nearby colour. `width` is the widest gap filled, in pixels. Works at a quarter of the size:
    the gaps are smooth and the fill is an average colour; shading adds the folds afterwards."""
    height, full_width = layer.alpha.shape
    y0, y1, x0, x1 = layer.box or (0, height, 0, full_width)
    pad = int(width)
    y0, y1, x0, x1 = max(0, y0 - pad), min(height, y1 + pad), max(0, x0 - pad), min(full_width, x1 + pad)
    if y1 - y0 < 8 or x1 - x0 < 8:
        return layer
    step = 4
    alpha = layer.alpha[y0:y1, x0:x1]
    rgb = layer.rgb[y0:y1, x0:x1]
    small_size = (max(2, (x1 - x0) // step), max(2, (y1 - y0) // step))
    small_alpha = np.asarray(cv2.resize(alpha, small_size, interpolation=cv2.INTER_AREA), np.float32)
    small_rgb = np.asarray(
        cv2.resize(rgb * alpha[..., np.newaxis], small_size, interpolation=cv2.INTER_AREA), np.float32
    )
    radius = max(1, round(width / step / 2))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    closed = cv2.morphologyEx(small_alpha, cv2.MORPH_CLOSE, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    sigma = max(1.0, radius / 2)
    colour = (
        cv2.GaussianBlur(small_rgb, (0, 0), sigma)
        / (cv2.GaussianBlur(small_alpha, (0, 0), sigma) + 1e-3)[..., np.newaxis]
    )
    size = (x1 - x0, y1 - y0)
    closed_full = np.asarray(cv2.resize(closed, size, interpolation=cv2.INTER_LINEAR), np.float32)
    colour_full = np.asarray(cv2.resize(colour, size, interpolation=cv2.INTER_LINEAR), np.float32)
    added = np.clip(closed_full - alpha, 0.0, 1.0)
    where = added > 1e-3  # only the filled pixels change: a small share of the box
    new_alpha = alpha[where] + added[where]
    layer.rgb[y0:y1, x0:x1][where] = (
        rgb[where] * alpha[where][:, np.newaxis] + colour_full[where] * added[where][:, np.newaxis]
    ) / np.maximum(new_alpha, 1e-6)[:, np.newaxis]
    layer.alpha[y0:y1, x0:x1][where] = new_alpha
    if layer.box is not None:
        layer.box = (y0, y1, x0, x1)
    return layer
