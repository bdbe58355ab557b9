"""Engines by name: each provider registers a factory once; the pipeline asks for one by name."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from trailroom.core.config import ConfigError
from trailroom.engines.base import TryOnEngine

EngineFactory = Callable[..., TryOnEngine]

_factories: dict[str, EngineFactory] = {}


def register_engine(name: str, factory: EngineFactory) -> None:
    """Make `create_engine(name, **options)` call `factory(**options)`; a second registration replaces the first."""
    _factories[name] = factory


def registered_engines() -> list[str]:
    return sorted(_factories)


def load_engine_modules(modules: str) -> None:
    """Import extra engine modules (comma-separated import paths): adding a provider is one module
    that calls `register_engine` when imported. A module that is missing fails the start, loudly."""
    for module in (name.strip() for name in modules.split(",")):
        if not module:
            continue
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConfigError(f"TRAILROOM_ENGINE_MODULES names {module!r}, which cannot be imported: {exc}") from exc


def create_engine(name: str, **options: Any) -> TryOnEngine:
    try:
        factory = _factories[name]
    except KeyError:
        raise KeyError(f"unknown try-on engine {name!r}; registered: {', '.join(registered_engines())}") from None
    return factory(**options)


def _create_local(**options: Any) -> TryOnEngine:
    # Imported on demand: the local engine loads numpy, OpenCV and LiteRT, which an API process
    # configured for another engine never needs.
    from trailroom.engines.local import LocalEngine

    return LocalEngine(**options)


register_engine("local", _create_local)


def _create_openai(**options: Any) -> TryOnEngine:
    # Imported on demand, like `local`: only a process configured for OpenAI loads its SDK.
    from trailroom.engines.openai_images import OpenAIEngine

    return OpenAIEngine(**options)


register_engine("openai", _create_openai)
