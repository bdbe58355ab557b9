"""Reading and changing the runtime configuration.

Reads are served from a copy kept for a few seconds (the hot paths read it on every request);
a change made here is visible at once in this process and within the cache time elsewhere.
"""

from __future__ import annotations

import time
from typing import Any

from trailroom.core.clock import utcnow
from trailroom.core.errors import InvalidInput
from trailroom.core.vocabulary import Quality, TryOnMode, values
from trailroom.domain.runtime_config.models import RuntimeConfig
from trailroom.engines.registry import registered_engines

CACHE_S = 5.0


class RuntimeConfigService:
    def __init__(self) -> None:
        self._cached: RuntimeConfig | None = None
        self._cached_at = 0.0

    async def current(self) -> RuntimeConfig:
        if self._cached is not None and time.monotonic() - self._cached_at < CACHE_S:
            return self._cached
        config = await RuntimeConfig.find_one(RuntimeConfig.key == "current")
        self._cached = config or RuntimeConfig()
        self._cached_at = time.monotonic()
        return self._cached

    def invalidate(self) -> None:
        self._cached = None

    async def update(self, changes: dict[str, Any], *, by: str) -> RuntimeConfig:
        _validate(changes)
        changes = {**changes, "updated_at": utcnow(), "updated_by": by}
        collection = RuntimeConfig.get_pymongo_collection()
        await collection.update_one({"key": "current"}, {"$set": changes}, upsert=True)
        self._cached = None
        return await self.current()


def _validate(changes: dict[str, Any]) -> None:
    def bad(field: str, detail: str) -> InvalidInput:
        return InvalidInput(detail, code="invalid_setting", field=field)

    engines = ("auto", *registered_engines())
    if "engine" in changes and changes["engine"] not in engines:
        raise bad("engine", f"engine must be one of {', '.join(engines)}")
    if "quality" in changes and changes["quality"] not in values(Quality):
        raise bad("quality", f"quality must be one of {', '.join(Quality)}")
    if "timeout_s" in changes and not 5 <= int(changes["timeout_s"]) <= 600:
        raise bad("timeout_s", "timeout_s must be between 5 and 600 seconds")
    if "credit_costs" in changes:
        costs = changes["credit_costs"]
        if set(costs) != set(values(TryOnMode)) or not all(
            isinstance(v, int) and 1 <= v <= 100 for v in costs.values()
        ):
            raise bad("credit_costs", f"credit_costs needs each of {', '.join(TryOnMode)} with a cost of 1 to 100")
    for field, low, high in (
        ("low_balance_threshold", 0, 100_000),
        ("max_jobs_in_flight", 1, 10_000),
        ("max_attempts", 1, 10),
    ):
        if field in changes and not low <= int(changes[field]) <= high:
            raise bad(field, f"{field} must be between {low} and {high}")
