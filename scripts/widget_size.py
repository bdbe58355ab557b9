"""The widget's size against its budget: under 15 KB minified and gzipped.

Builds the widget with the pinned esbuild (the same command as `make assets`), then prints the
size of the plain bundle, the minified build and the minified build gzipped (level 9), and whether
the budget holds. Exits 1 when it does not.

Usage: .venv/bin/python scripts/widget_size.py [--no-build] [--json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ESBUILD = REPO / "node_modules" / ".bin" / "esbuild"
ENTRY = REPO / "widget" / "src" / "index.js"
BUILT = REPO / "platform" / "trailroom" / "static" / "widget" / "v1" / "trailroom.js"
BUDGET_BYTES = 15 * 1024


def build() -> None:
    subprocess.run(["npm", "run", "--silent", "build:widget"], cwd=REPO, check=True)


def bundle_unminified() -> bytes:
    """The bundle as esbuild writes it without minifying: what the source weighs before the build shrinks it."""
    result = subprocess.run(
        [str(ESBUILD), str(ENTRY), "--bundle", "--format=iife", "--target=es2020", "--log-level=warning"],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return result.stdout


def measure() -> dict[str, int | bool]:
    minified = BUILT.read_bytes()
    gzipped = len(gzip.compress(minified, compresslevel=9, mtime=0))
    return {
        "raw_bytes": len(bundle_unminified()),
        "minified_bytes": len(minified),
        "gzip_bytes": gzipped,
        "budget_bytes": BUDGET_BYTES,
        "within_budget": gzipped < BUDGET_BYTES,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true", help="measure the existing build")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not args.no_build or not BUILT.exists():
        build()
    sizes = measure()
    if args.json:
        print(json.dumps(sizes))
    else:
        print(f"raw (bundled, not minified)  {sizes['raw_bytes']:>7,} bytes")
        print(f"minified                     {sizes['minified_bytes']:>7,} bytes")
        gzip_kb = int(sizes["gzip_bytes"]) / 1024
        print(f"minified + gzip -9           {sizes['gzip_bytes']:>7,} bytes ({gzip_kb:.1f} KB)")
        verdict = "within" if sizes["within_budget"] else "OVER"
        print(f"budget                       {BUDGET_BYTES:>7,} bytes: {verdict} budget")
    return 0 if sizes["within_budget"] else 1


if __name__ == "__main__":
    sys.exit(main())
