"""The one runtime configuration document."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pydantic import Field

from trailroom.core.clock import utcnow
from trailroom.core.vocabulary import DEFAULT_CREDIT_COSTS, DEFAULT_QUALITY, MAX_SAMPLES


class RuntimeConfig(Document):
    key: str = "current"
    engine: str = "auto"  # auto: openai when an OpenAI key is configured, else local
    model: str = "gpt-image-1"
    timeout_s: int = 120
    quality: str = DEFAULT_QUALITY.value
    size: str = "auto"
    moderation: str = "auto"
    credit_costs: dict[str, int] = Field(
        default_factory=lambda: {mode.value: cost for mode, cost in DEFAULT_CREDIT_COSTS.items()}
    )
    low_balance_threshold: int = 5
    max_jobs_in_flight: int = 10
    max_attempts: int = 3
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: str | None = None

    class Settings:
        name = "runtime_config"

    def cost_of(self, mode: str, samples: int = 1) -> int:
        """What a try-on request costs in credits: the one pricing rule (each result image is charged
        its mode's cost). Charging and every quote shown to people use it."""
        return self.credit_costs[mode] * samples

    def quotes(self) -> dict[str, dict[int, int]]:
        """The cost of every request a form can make, by mode and number of images, for pages that
        show the cost as the options change without repeating the rule."""
        return {mode: {n: self.cost_of(mode, n) for n in range(1, MAX_SAMPLES + 1)} for mode in self.credit_costs}
