"""CPU time and memory of the local try-on engine per try-on, at 768x1024.

    .venv/bin/python scripts/bench_engine.py [--runs 5]

For each case the person photo is fitted to exactly 768x1024 (scaled, then padded with its own
edge), one warm-up call is made, then `runs` calls are timed. CPU time is the process's (all
threads), which is what a worker core pays; wall time is shown beside it. Memory is the peak
resident size of the process (models loaded) and the peak of memory allocated during one try-on.
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from PIL import Image

from trailroom.core.vocabulary import TryOnMode
from trailroom.engines.base import TryOnInput
from trailroom.engines.local import LocalEngine

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
WIDTH, HEIGHT = 768, 1024
CASES = [
    ("studio_2.png", TryOnMode.TOP, "top_2.jpg", None),
    ("room_3.jpg", TryOnMode.TOP, "top_1.jpg", None),
    ("selfie_1.jpg", TryOnMode.TOP, "jacket_1.jpg", None),
    ("studio_1.png", TryOnMode.BOTTOM, "bottom_1.jpg", None),
    ("studio_2.png", TryOnMode.DRESS, "top_1.jpg", None),
    ("room_3.jpg", TryOnMode.FULL, "top_2.jpg", "bottom_1.jpg"),
]


def person_768x1024(name: str) -> bytes:
    with Image.open(DATA / "people" / name) as opened:
        image = opened.convert("RGB")
    scale = min(WIDTH / image.width, HEIGHT / image.height)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    pixels = np.asarray(image)
    pad_x, pad_y = WIDTH - image.width, HEIGHT - image.height
    padded = np.pad(pixels, ((pad_y // 2, pad_y - pad_y // 2), (pad_x // 2, pad_x - pad_x // 2), (0, 0)), mode="edge")
    buffer = io.BytesIO()
    Image.fromarray(padded).save(buffer, format="PNG")
    return buffer.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    started = time.process_time()
    engine = LocalEngine()
    print(f"model load: {time.process_time() - started:.2f} s CPU")
    print(f"{'case':<44}{'cpu s (median)':>15}{'cpu max':>9}{'wall s':>8}{'alloc MB':>10}")
    worst = 0.0
    for person, mode, garment, bottom in CASES:
        request = TryOnInput(
            mode=mode,
            person=person_768x1024(person),
            garment=(DATA / "garments" / garment).read_bytes(),
            bottom=(DATA / "garments" / bottom).read_bytes() if bottom else None,
        )
        engine.generate_sync(request)  # warm-up: first-call allocations and caches
        cpu, wall = [], []
        for _ in range(args.runs):
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            output = engine.generate_sync(request)
            cpu.append(time.process_time() - cpu_start)
            wall.append(time.perf_counter() - wall_start)
        assert (output.width, output.height) == (WIDTH, HEIGHT)
        tracemalloc.start()
        engine.generate_sync(request)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        name = f"{person} {mode} {garment}" + (f"+{bottom}" if bottom else "")
        worst = max(worst, max(cpu))
        median_cpu, median_wall = statistics.median(cpu), statistics.median(wall)
        print(f"{name:<44}{median_cpu:>15.3f}{max(cpu):>9.3f}{median_wall:>8.3f}{peak / 2**20:>10.0f}")
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of the process: {peak_rss:.0f} MB")
    print(f"worst CPU per try-on: {worst:.3f} s (limit 1 s)")
    return 0 if worst < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
