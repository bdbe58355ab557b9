"""The landing page's live demo: a real try-on by the local engine on bundled sample photos."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoPair:
    slug: str
    title: str
    person: str  # static path of the person photo
    garment: str  # static path of the garment photo


DEMO_PAIRS: tuple[DemoPair, ...] = ()
