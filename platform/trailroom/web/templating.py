"""Jinja2 templates: where they are, the environment, and the helpers every template may call."""

from __future__ import annotations

import hashlib
from functools import cache

from jinja2 import ChainableUndefined, Environment, FileSystemLoader, select_autoescape
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from trailroom.core.formatting import money, number, percent
from trailroom.web.assets import STATIC_DIR, TEMPLATES_DIR


@cache
def _fingerprint(path: str) -> str:
    try:
        return hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:10]
    except OSError:
        return "missing"


def static_url(path: str) -> str:
    """`/static/<path>?v=<content hash>`: browsers may cache assets for long, a change busts it."""
    return f"/static/{path}?v={_fingerprint(path)}"


def build_environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=ChainableUndefined,  # `errors.field` of a dict without it renders nothing
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["static_url"] = static_url
    environment.filters["money"] = money
    environment.filters["number"] = number
    environment.filters["percent"] = percent
    return environment


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(build_environment()))
