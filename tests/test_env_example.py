"""`.env.example` documents every setting, and only settings that exist."""

from __future__ import annotations

import re
from pathlib import Path

from trailroom.core.config import Settings

ENV_EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"


async def test_env_example_names_every_setting() -> None:
    documented = set(re.findall(r"TRAILROOM_([A-Z0-9_]+)=", ENV_EXAMPLE.read_text()))
    fields = {name.upper() for name in Settings.model_fields}
    assert documented - fields == set()
    assert fields - documented == set()
