"""The one runtime configuration document."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pydantic import Field

from trailroom.core.clock import utcnow

DEFAULT_COSTS = {"top": 1, "bottom": 1, "dress": 1, "full": 2}


class RuntimeConfig(Document):
    key: str = "current"
    engine: str = "auto"  # auto: openai when an OpenAI key is configured, else local
    model: str = "gpt-image-1"
    timeout_s: int = 120
    quality: str = "balanced"
    size: str = "auto"
    moderation: str = "auto"
    credit_costs: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_COSTS))
    low_balance_threshold: int = 5
    max_jobs_in_flight: int = 10
    max_attempts: int = 3
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: str | None = None

    class Settings:
        name = "runtime_config"
