"""Quality report of the local try-on engine: metrics per pair and a contact sheet to look at.

    .venv/bin/python scripts/engine_quality.py                       # the photos in tests/data
    .venv/bin/python scripts/engine_quality.py --person me.jpg --garment shirt.jpg --garment jeans.jpg:bottom

Prints, per person/garment pair: garment inside the person, target region covered, pose drift (in
shoulder widths) and colour ΔE, or the error the engine gave. Writes a contact sheet (person,
garment, result per row) to test-artifacts/engine_quality.png unless --sheet says otherwise.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from trailroom.core.vocabulary import TryOnMode
from trailroom.engines.base import EngineError, TryOnInput
from trailroom.engines.local import LocalEngine
from trailroom.engines.local.metrics import measure

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
THUMB = 320
LIMITS = {"inside": 0.95, "covered": 0.95, "pose_drift": 0.06}


@dataclass(frozen=True)
class Pair:
    person: Path
    garment: Path
    mode: TryOnMode
    bottom: Path | None = None


def default_pairs() -> list[Pair]:
    people = sorted((DATA / "people").iterdir())
    garments = DATA / "garments"
    tops = [garments / name for name in ("top_1.jpg", "top_2.jpg", "top_3.jpg", "jacket_1.jpg")]
    bottoms = [garments / name for name in ("bottom_1.jpg", "bottom_2.jpg")]
    pairs = [Pair(person, top, TryOnMode.TOP) for person in people for top in tops]
    full_body = [person for person in people if not person.name.startswith("selfie")]
    pairs += [Pair(person, bottom, TryOnMode.BOTTOM) for person in full_body for bottom in bottoms]
    pairs += [Pair(person, tops[1], TryOnMode.FULL, bottoms[0]) for person in full_body]
    pairs += [Pair(full_body[-1], tops[0], TryOnMode.DRESS)]
    return pairs


def thumbnail(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    scale = THUMB / height
    return cv2.resize(image, (max(1, round(width * scale)), THUMB), interpolation=cv2.INTER_AREA)


def load(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def caption(image: np.ndarray, lines: list[str]) -> np.ndarray:
    band = np.full((18 * len(lines) + 6, image.shape[1], 3), 255, np.uint8)
    for row, text in enumerate(lines):
        cv2.putText(band, text, (4, 16 + 18 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([image, band])


def run(pairs: list[Pair], sheet: Path) -> int:
    engine = LocalEngine()
    rows: list[np.ndarray] = []
    failures = 0
    header = f"{'person':<14}{'garment':<26}{'mode':<8}{'inside':>8}{'covered':>9}{'drift':>8}{'ΔE':>7}{'cpu s':>8}"
    print(header)
    for pair in pairs:
        request = TryOnInput(
            mode=pair.mode,
            person=pair.person.read_bytes(),
            garment=pair.garment.read_bytes(),
            bottom=pair.bottom.read_bytes() if pair.bottom else None,
        )
        garment_name = pair.garment.name + (f"+{pair.bottom.name}" if pair.bottom else "")
        started = time.process_time()
        try:
            rendering = engine.render(request)
        except EngineError as error:
            print(f"{pair.person.name:<14}{garment_name:<26}{pair.mode:<8}  refused: {error.code}")
            continue
        cpu = time.process_time() - started
        metrics = measure(rendering, pair.mode, engine._estimator)
        ok = (
            metrics.inside >= LIMITS["inside"]
            and metrics.covered >= LIMITS["covered"]
            and metrics.pose_drift <= LIMITS["pose_drift"]
        )
        failures += not ok
        print(
            f"{pair.person.name:<14}{garment_name:<26}{pair.mode:<8}{metrics.inside:>8.3f}{metrics.covered:>9.3f}"
            f"{metrics.pose_drift:>8.3f}{metrics.colour_delta_e:>7.1f}{cpu:>8.2f}{'' if ok else '  BELOW LIMITS'}"
        )
        garment_thumbs = [thumbnail(load(pair.garment))]
        if pair.bottom:
            garment_thumbs.append(thumbnail(load(pair.bottom)))
        garment_strip = np.hstack([cv2.resize(g, (THUMB * 3 // 4, THUMB * 3 // 4)) for g in garment_thumbs])
        garment_strip = np.vstack(
            [garment_strip, np.full((THUMB - garment_strip.shape[0], garment_strip.shape[1], 3), 255, np.uint8)]
        )
        row = np.hstack([thumbnail(rendering.person), garment_strip, thumbnail(rendering.image)])
        row = caption(
            row,
            [
                f"{pair.person.name} + {garment_name} ({pair.mode})",
                f"inside {metrics.inside:.3f}  covered {metrics.covered:.3f}  "
                f"drift {metrics.pose_drift:.3f}  dE {metrics.colour_delta_e:.1f}",
            ],
        )
        rows.append(row)
    if rows:
        width = max(row.shape[1] for row in rows)
        padded = [np.hstack([row, np.full((row.shape[0], width - row.shape[1], 3), 255, np.uint8)]) for row in rows]
        columns = 2
        per_column = math.ceil(len(padded) / columns)
        stacks = []
        for start in range(0, len(padded), per_column):
            chunk = padded[start : start + per_column]
            height = sum(item.shape[0] for item in padded[:per_column])
            stack = np.vstack(chunk)
            stacks.append(np.vstack([stack, np.full((height - stack.shape[0], width, 3), 255, np.uint8)]))
        sheet.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.hstack(stacks)).save(sheet)
        print(f"contact sheet: {sheet}")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--person", action="append", type=Path, default=[], help="extra person photo (repeatable)")
    parser.add_argument(
        "--garment", action="append", default=[], help="extra garment photo, optionally PATH:mode (top, bottom, dress)"
    )
    parser.add_argument("--only-given", action="store_true", help="skip the photos in tests/data")
    parser.add_argument("--sheet", type=Path, default=REPO / "test-artifacts" / "engine_quality.png")
    args = parser.parse_args()
    pairs = [] if args.only_given else default_pairs()
    people = args.person or sorted((DATA / "people").iterdir())
    for spec in args.garment:
        path, _, mode = spec.partition(":")
        pairs += [Pair(person, Path(path), TryOnMode(mode or "top")) for person in people]
    if args.person and not args.garment:
        tops = [DATA / "garments" / "top_2.jpg", DATA / "garments" / "top_1.jpg"]
        pairs += [Pair(person, top, TryOnMode.TOP) for person in args.person for top in tops]
    return run(pairs, args.sheet)


if __name__ == "__main__":
    sys.exit(main())
