"""Engine tests are pure computation: they need neither the database nor Redis."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trailroom.engines.local import LocalEngine

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(autouse=True)
def clean_state() -> None:
    """Replaces the suite-wide fixture that empties the database: nothing to clean here."""


@pytest.fixture(scope="session")
def engine() -> LocalEngine:
    return LocalEngine()


def photo(name: str) -> bytes:
    return (DATA / name).read_bytes()


def pixels(name: str) -> np.ndarray:
    with Image.open(DATA / name) as image:
        return np.asarray(image.convert("RGB"))


def png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG")
    return buffer.getvalue()
