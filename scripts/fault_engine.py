"""Misbehaving try-on engines for `scripts/faults.py`, loaded with TRAILROOM_ENGINE_MODULES=fault_engine.

Not part of the product: this module is imported only when a process is told to (the setting), the
way any extra provider is; admins (here, the fault script) then pick an engine in the AI settings.

- `fault-ok` renders a real image (the garment pasted on the person) after a short pause, so that a
  batch is still in flight when a process is killed;
- `fault-hang` never answers: the pipeline's engine timeout must cut it short (retried, then failed
  and refunded);
- `fault-fail` refuses every try-on, for good (failed and refunded at once).
"""

from __future__ import annotations

import asyncio
import io

from PIL import Image

from trailroom.core.vocabulary import MEDIA_TYPES
from trailroom.engines.base import EngineError, TryOnInput, TryOnOutput
from trailroom.engines.registry import register_engine

OK_DELAY_S = 0.4


def _render(request: TryOnInput) -> TryOnOutput:
    person = Image.open(io.BytesIO(request.person)).convert("RGB")
    garment = Image.open(io.BytesIO(request.garment)).convert("RGB")
    garment.thumbnail((person.width // 2, person.height // 2))
    person.paste(garment, ((person.width - garment.width) // 2, (person.height - garment.height) // 2))
    out = io.BytesIO()
    person.save(out, format={"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[request.output_format.value])
    return TryOnOutput(out.getvalue(), MEDIA_TYPES[request.output_format], person.width, person.height)


class WorkingEngine:
    name = "fault-ok"

    async def generate(self, request: TryOnInput) -> TryOnOutput:
        await asyncio.sleep(OK_DELAY_S)
        return await asyncio.to_thread(_render, request)


class HangingEngine:
    name = "fault-hang"

    async def generate(self, request: TryOnInput) -> TryOnOutput:
        await asyncio.Event().wait()  # forever: only the pipeline's timeout ends it
        raise AssertionError("unreachable")


class FailingEngine:
    name = "fault-fail"

    async def generate(self, request: TryOnInput) -> TryOnOutput:
        raise EngineError("engine_failed", "The fault-injection engine refuses every try-on.")


register_engine("fault-ok", lambda **_: WorkingEngine())
register_engine("fault-hang", lambda **_: HangingEngine())
register_engine("fault-fail", lambda **_: FailingEngine())
