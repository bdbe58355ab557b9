"""Admin endpoints for the AI settings and the other runtime settings (costs, limits)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody

from trailroom.domain.accounts.guards import principal_of, requires_role
from trailroom.domain.accounts.models import Role
from trailroom.domain.runtime_config.models import RuntimeConfig
from trailroom.domain.runtime_config.services import RuntimeConfigService
from trailroom.engines.registry import registered_engines
from trailroom.server.contract import PROBLEMS


class RuntimeConfigOut(msgspec.Struct):
    engine: str
    available_engines: list[str]
    model: str
    timeout_s: int
    quality: str
    size: str
    moderation: str
    credit_costs: dict[str, int]
    low_balance_threshold: int
    max_jobs_in_flight: int
    max_attempts: int
    updated_at: datetime
    updated_by: str | None

    @classmethod
    def of(cls, config: RuntimeConfig) -> RuntimeConfigOut:
        return cls(
            engine=config.engine,
            available_engines=["auto", *registered_engines()],
            model=config.model,
            timeout_s=config.timeout_s,
            quality=config.quality,
            size=config.size,
            moderation=config.moderation,
            credit_costs=config.credit_costs,
            low_balance_threshold=config.low_balance_threshold,
            max_jobs_in_flight=config.max_jobs_in_flight,
            max_attempts=config.max_attempts,
            updated_at=config.updated_at,
            updated_by=config.updated_by,
        )


class RuntimeConfigUpdate(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Only the fields given are changed."""

    engine: str | msgspec.UnsetType = msgspec.UNSET
    model: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | msgspec.UnsetType = msgspec.UNSET
    timeout_s: int | msgspec.UnsetType = msgspec.UNSET
    quality: str | msgspec.UnsetType = msgspec.UNSET
    size: Annotated[str, msgspec.Meta(max_length=20)] | msgspec.UnsetType = msgspec.UNSET
    moderation: Annotated[str, msgspec.Meta(pattern="^(auto|low)$")] | msgspec.UnsetType = msgspec.UNSET
    credit_costs: dict[str, int] | msgspec.UnsetType = msgspec.UNSET
    low_balance_threshold: int | msgspec.UnsetType = msgspec.UNSET
    max_jobs_in_flight: int | msgspec.UnsetType = msgspec.UNSET
    max_attempts: int | msgspec.UnsetType = msgspec.UNSET


def provide_runtime_config(state: State) -> RuntimeConfigService:
    service: RuntimeConfigService = state.services.runtime_config
    return service


class AISettingsController(Controller):
    path = "/api/v1/admin/ai-settings"
    tags = ["Admin"]
    guards = [requires_role(Role.SUPER_ADMIN)]
    dependencies = {"runtime_config": Provide(provide_runtime_config, sync_to_thread=False)}

    @get("/", summary="Engine, model, timeout, quality, safety, costs and limits in force")
    async def show(self, runtime_config: NamedDependency[RuntimeConfigService]) -> RuntimeConfigOut:
        return RuntimeConfigOut.of(await runtime_config.current())

    @put(
        "/",
        summary="Change some of them (read at run time by the API and the workers)",
        opt={PROBLEMS: {422: ("invalid_setting",)}},
    )
    async def change(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[RuntimeConfigUpdate],
        runtime_config: NamedDependency[RuntimeConfigService],
    ) -> RuntimeConfigOut:
        changes = msgspec.structs.asdict(data)
        changes = {k: v for k, v in changes.items() if v is not msgspec.UNSET}
        return RuntimeConfigOut.of(await runtime_config.update(changes, by=principal_of(request).user.email))
