"""Where the files the platform renders and serves are: inside the `trailroom` package, so they
ship in its wheel and an installed platform needs no checkout.

- `templates/`: the Jinja2 templates (in the repository, a link to the top-level `templates/`).
- `guides/`: the Markdown guides served at `/docs` (a link to `docs/guides/`).
- `static/`: CSS, scripts and images served at `/static/`, with two build outputs of `make assets`
  that git ignores and the wheel includes: `static/vendor/` (Swagger UI) and `static/widget/`.

The links keep one copy of each file in the repository; the wheel build follows them (see
`[tool.hatch.build]` in pyproject.toml).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _package_dir() -> Path:
    package = files("trailroom")
    # Jinja's loader and Litestar's static files read real folders: an unzipped install.
    if not isinstance(package, Path):
        raise RuntimeError(f"the trailroom package must be installed as files, not {type(package).__name__}")
    return package


PACKAGE_DIR = _package_dir()
TEMPLATES_DIR = PACKAGE_DIR / "templates"
GUIDES_DIR = PACKAGE_DIR / "guides"
STATIC_DIR = PACKAGE_DIR / "static"
WIDGET_FILE = STATIC_DIR / "widget" / "v1" / "trailroom.js"
