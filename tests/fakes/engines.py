"""Engines for pipeline tests only: they make failures happen on demand.

The product's default engine in tests is the real local engine; these exist to show what the
pipeline does when an engine refuses, fails for a while, or hangs.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field

from PIL import Image

from trailroom.core.vocabulary import MEDIA_TYPES
from trailroom.engines.base import EngineError, TryOnInput, TryOnOutput
from trailroom.engines.registry import register_engine


def _render(request: TryOnInput) -> TryOnOutput:
    """The person photo with the garment pasted in its middle: a real image in the asked format."""
    person = Image.open(io.BytesIO(request.person)).convert("RGB")
    garment = Image.open(io.BytesIO(request.garment)).convert("RGB")
    garment.thumbnail((person.width // 2, person.height // 2))
    person.paste(garment, ((person.width - garment.width) // 2, (person.height - garment.height) // 2))
    out = io.BytesIO()
    person.save(out, format={"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[request.output_format.value])
    return TryOnOutput(out.getvalue(), MEDIA_TYPES[request.output_format], person.width, person.height)


@dataclass
class ScriptedEngine:
    """Fails with `failures` (in order) on its first calls, then renders."""

    name: str = "scripted"
    failures: list[EngineError] = field(default_factory=list)
    delay_s: float = 0.0
    calls: int = 0

    async def generate(self, request: TryOnInput) -> TryOnOutput:
        self.calls += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.failures:
            raise self.failures.pop(0)
        return _render(request)


SCRIPTED = ScriptedEngine()
register_engine("scripted", lambda **_: SCRIPTED)
