"""Keypoints of a flat-laid garment, read from its outline.

A top is split into a torso (the columns between the armpits, from collar to hem) and two
sleeves (what lies outside those columns), each sleeve summarised as an axis from its root at the
armhole to its cuff. A bottom is split down its middle into two legs, each with an axis from the
waistband to its hem. The warp then moves each part along the matching part of the body.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from trailroom.engines.base import GARMENT_NOT_FOUND, EngineError
from trailroom.engines.local.types import BoolArray, FloatArray

ANALYSIS_SIDE = 256  # the outline is read at this size; positions are scaled back


@dataclass(frozen=True)
class Limb:
    """A sleeve or trouser leg: an axis from root to end, and its half-width near the root."""

    axis: FloatArray  # (n, 2) polyline, root first, in garment pixels
    half_width: float
    region: BoolArray  # which garment pixels belong to this limb


@dataclass(frozen=True)
class TopShape:
    top_y: float  # collar top
    shoulder_y: float  # shoulder seams
    armpit_y: float
    hem_y: float
    left_x: float  # torso columns (image left/right)
    right_x: float
    torso: BoolArray  # garment pixels of the torso part
    sleeves: tuple[Limb, ...]  # image-left first; empty for sleeveless garments


@dataclass(frozen=True)
class BottomShape:
    waist_y: float
    waist_left_x: float
    waist_right_x: float
    crotch_y: float
    hem_y: float
    legs: tuple[Limb, Limb]  # image-left first


def _run_around(row: BoolArray, x: int) -> tuple[int, int] | None:
    """The run of set pixels in `row` that contains column x (or None)."""
    if not row[x]:
        return None
    unset = np.flatnonzero(~row)
    before, after = unset[unset < x], unset[unset > x]
    left = int(before[-1]) + 1 if len(before) else 0
    right = int(after[0]) - 1 if len(after) else len(row) - 1
    return left, right


def _small(mask: BoolArray) -> tuple[BoolArray, float]:
    scale = ANALYSIS_SIDE / max(mask.shape)
    size = (max(1, round(mask.shape[1] * scale)), max(1, round(mask.shape[0] * scale)))
    small = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_AREA) > 0
    return small, scale


def top_shape(mask: BoolArray, dress: bool = False) -> TopShape:
    small, scale = _small(mask)
    ys, xs = np.nonzero(small)
    if len(xs) == 0:
        raise EngineError(GARMENT_NOT_FOUND, "The product photo shows no garment.")
    top, bottom = int(ys.min()), int(ys.max())
    height = bottom - top + 1
    centre = round((xs.min() + xs.max()) / 2)
    overall_width = int(xs.max() - xs.min() + 1)

    # Torso columns from the lower body of the garment, where only the torso (and perhaps hanging
    # sleeves, separated by a gap) is present; for a dress, from its bodice (a skirt flares).
    lefts, rights = [], []
    first, last = (0.3, 0.45) if dress else (0.6, 0.88)
    for y in range(top + int(first * height), top + int(last * height)):
        run = _run_around(small[y], centre)
        if run:
            lefts.append(run[0])
            rights.append(run[1])
    if lefts:
        left, right = float(np.median(lefts)), float(np.median(rights))
    else:
        left, right = centre - 0.3 * overall_width, centre + 0.3 * overall_width
    if right - left > 0.72 * overall_width:
        # Sleeves lie against the body all the way down (no gap to find them by): the torso of a
        # flat-laid long-sleeved top is about two thirds of its full width.
        left, right = centre - 0.33 * overall_width, centre + 0.33 * overall_width
    torso_width = right - left

    # Armpit: just outside each torso edge, going down from the shoulder, where the sleeve's
    # underside ends (or, for sleeves hanging beside the body, where the gap begins).
    armpits = []
    for x in (int(left - 0.04 * torso_width), int(right + 0.04 * torso_width)):
        if not 0 <= x < small.shape[1]:
            continue
        column = small[top : top + int(0.6 * height), x]
        filled = np.flatnonzero(column)
        if len(filled):
            holes = np.flatnonzero(~column[filled[0] :])
            if len(holes):
                armpits.append(top + filled[0] + int(holes[0]))
    armpit = float(np.mean(armpits)) if armpits else top + 0.3 * height
    armpit = float(np.clip(armpit, top + 0.12 * height, top + 0.45 * height))

    # Shoulder seams: the top of the outline just inside the torso columns.
    inset = max(1, int(0.04 * torso_width))
    column_tops = []
    for x in (int(left) + inset, int(right) - inset):
        filled_rows = np.flatnonzero(small[:, x])
        if len(filled_rows):
            column_tops.append(int(filled_rows[0]))
    shoulder = float(np.mean(column_tops)) if column_tops else top + 0.08 * height
    shoulder = min(shoulder, armpit - 0.05 * height)

    columns = np.arange(mask.shape[1]) * scale  # full-size columns in analysis units
    rows = np.arange(mask.shape[0])[:, np.newaxis] * scale
    inside_columns = (columns >= left) & (columns <= right + 1)
    torso = mask & inside_columns[np.newaxis, :]
    skirt_from = armpit + 0.1 * height  # analysis rows
    sleeves = []
    for side, outside in ((-1, columns < left), (1, columns > right + 1)):
        small_outside = (np.arange(small.shape[1]) < left) if side < 0 else (np.arange(small.shape[1]) > right + 1)
        small_sleeve = _sleeve_region(small & small_outside[np.newaxis, :], max(3, round(0.05 * torso_width)))
        grown = cv2.resize(
            small_sleeve.astype(np.uint8), (mask.shape[1], mask.shape[0]), interpolation=cv2.INTER_LINEAR
        )
        region = (grown > 0) & mask & outside[np.newaxis, :] & ~torso
        if region.sum() < 0.01 * mask.sum():
            continue
        if dress and np.flatnonzero(region.any(axis=1))[0] * scale > skirt_from:
            continue  # it starts below the armpits: a skirt's flare, not a sleeve
        root = np.array([left if side < 0 else right + 1, (shoulder + armpit) / 2], dtype=np.float64) / scale
        ry, rx = np.nonzero(region[::4, ::4])
        points = np.stack([rx, ry], axis=1).astype(np.float64) * 4
        distance = np.linalg.norm(points - root, axis=1)
        # The cuff: the part of the sleeve farthest from its root.
        end = points[distance >= np.percentile(distance, 85)].mean(axis=0)
        half_width = max((armpit - shoulder) / 2, 1.0) / scale
        sleeves.append(Limb(axis=np.stack([root, end]), half_width=half_width, region=region))
    if dress:
        # A skirt flares past the armpit columns: below the armpits, all but the sleeves is body.
        skirt = mask & (rows > skirt_from)
        for sleeve in sleeves:
            skirt &= ~sleeve.region
        torso = torso | skirt
    return TopShape(
        top_y=top / scale,
        shoulder_y=shoulder / scale,
        armpit_y=armpit / scale,
        hem_y=(bottom + 1) / scale,
        left_x=left / scale,
        right_x=(right + 1) / scale,
        torso=torso,
        sleeves=tuple(sleeves),
    )


def _sleeve_region(candidates: BoolArray, thickness: int) -> BoolArray:
    """The main sleeve among the garment pixels outside the torso columns: thin slivers along the
    torso's sides (a flared hem, a cut-out edge) are not a sleeve."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (thickness, thickness))
    opened = cv2.morphologyEx(candidates.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    if count <= 1:
        return np.zeros_like(candidates)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    grown = cv2.dilate((labels == largest).astype(np.uint8), kernel) > 0
    result: BoolArray = grown & candidates
    return result


def bottom_shape(mask: BoolArray) -> BottomShape:
    small, scale = _small(mask)
    ys, xs = np.nonzero(small)
    if len(xs) == 0:
        raise EngineError(GARMENT_NOT_FOUND, "The product photo shows no garment.")
    top, bottom = int(ys.min()), int(ys.max())
    height = bottom - top + 1
    waist_rows = small[top : top + max(2, int(0.04 * height))]
    waist_columns = np.flatnonzero(waist_rows.any(axis=0))
    waist_left, waist_right = int(waist_columns.min()), int(waist_columns.max())
    centre = (waist_left + waist_right) // 2
    # Crotch: the top of the gap between the legs, found up the centre column from the hem.
    column = small[:, centre]
    crotch = float(top + 0.35 * height)
    gap = np.flatnonzero(~column[top : bottom + 1])
    if len(gap):
        # The gap's run that reaches the hem.
        gap_rows = top + gap
        run_start = gap_rows[-1]
        for y in gap_rows[::-1]:
            if y < run_start - 1:
                break
            run_start = y
        crotch = float(np.clip(run_start, top + 0.15 * height, top + 0.7 * height))
    legs = []
    columns = np.arange(small.shape[1])
    full_columns = np.arange(mask.shape[1]) * scale
    for half, full_half in ((columns < centre, full_columns < centre), (columns >= centre, full_columns >= centre)):
        hy, hx = np.nonzero(small & half[np.newaxis, :])
        root = np.array([(hx[hy <= top + 2].mean() if (hy <= top + 2).any() else hx.mean()), top], dtype=np.float64)
        low = hy >= bottom - max(2, int(0.05 * height))
        end = np.array([hx[low].mean() if low.any() else hx.mean(), bottom], dtype=np.float64)
        legs.append(
            Limb(
                axis=np.stack([root, end]) / scale,
                half_width=(waist_right - waist_left) / 4 / scale,
                region=mask & full_half[np.newaxis, :],
            )
        )
    return BottomShape(
        waist_y=top / scale,
        waist_left_x=waist_left / scale,
        waist_right_x=(waist_right + 1) / scale,
        crotch_y=crotch / scale,
        hem_y=(bottom + 1) / scale,
        legs=(legs[0], legs[1]),
    )
