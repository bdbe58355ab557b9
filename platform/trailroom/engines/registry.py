"""Engines by name: each provider registers a factory once; the pipeline asks for one by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trailroom.engines.base import TryOnEngine

EngineFactory = Callable[..., TryOnEngine]

_factories: dict[str, EngineFactory] = {}


def register_engine(name: str, factory: EngineFactory) -> None:
    """Make `create_engine(name, **options)` call `factory(**options)`; a second registration replaces the first."""
    _factories[name] = factory


def registered_engines() -> list[str]:
    return sorted(_factories)


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
