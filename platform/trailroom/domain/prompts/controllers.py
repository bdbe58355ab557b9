"""Admin endpoints for prompt versions: list, create, edit (a new version), activate, roll back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from trailroom.domain.accounts.guards import principal_of, requires_role
from trailroom.domain.accounts.models import Role
from trailroom.domain.prompts.models import PromptTemplate
from trailroom.domain.prompts.services import MAX_PROMPT_CHARS, PromptService
from trailroom.server.contract import PROBLEMS

PROMPT_INPUT = ("invalid_mode", "invalid_prompt")
NO_SUCH_PROMPT = {404: ("prompt_not_found",)}


class PromptIn(msgspec.Struct, forbid_unknown_fields=True):
    mode: str
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PROMPT_CHARS)]
    note: Annotated[str, msgspec.Meta(max_length=200)] = ""
    activate: bool = False


class PromptEdit(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PROMPT_CHARS)]
    note: Annotated[str, msgspec.Meta(max_length=200)] = ""
    activate: bool = False


class PromptOut(msgspec.Struct):
    id: str
    mode: str
    version: int
    text: str
    note: str
    active: bool
    created_by: str | None
    created_at: datetime
    activated_at: datetime | None

    @classmethod
    def of(cls, prompt: PromptTemplate) -> PromptOut:
        return cls(
            id=str(prompt.id),
            mode=prompt.mode,
            version=prompt.version,
            text=prompt.text,
            note=prompt.note,
            active=prompt.active,
            created_by=prompt.created_by,
            created_at=prompt.created_at,
            activated_at=prompt.activated_at,
        )


class PromptList(msgspec.Struct):
    data: list[PromptOut]


def provide_prompts(state: State) -> PromptService:
    service: PromptService = state.services.prompts
    return service


class PromptAdminController(Controller):
    path = "/api/v1/admin/prompts"
    tags = ["Admin"]
    guards = [requires_role(Role.SUPER_ADMIN)]
    dependencies = {"prompts": Provide(provide_prompts, sync_to_thread=False)}

    @get("/", summary="Prompt versions, by mode, newest first", opt={PROBLEMS: {422: ("invalid_mode",)}})
    async def list_prompts(
        self, prompts: NamedDependency[PromptService], mode: Annotated[str | None, QueryParameter(max_length=10)] = None
    ) -> PromptList:
        return PromptList(data=[PromptOut.of(p) for p in await prompts.list(mode)])

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Add a prompt version for a mode",
        opt={PROBLEMS: {409: ("concurrent_update",), 422: PROMPT_INPUT}},
    )
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[PromptIn], prompts: NamedDependency[PromptService]
    ) -> PromptOut:
        prompt = await prompts.create(
            mode=data.mode, text=data.text, note=data.note, activate=data.activate, by=principal_of(request).user.email
        )
        return PromptOut.of(prompt)

    @put(
        "/{prompt_id:str}",
        summary="Edit: saves the text as the mode's next version",
        opt={PROBLEMS: {**NO_SUCH_PROMPT, 409: ("concurrent_update",), 422: PROMPT_INPUT}},
    )
    async def edit(
        self,
        request: Request[Any, Any, Any],
        prompt_id: FromPath[str],
        data: JSONBody[PromptEdit],
        prompts: NamedDependency[PromptService],
    ) -> PromptOut:
        base = await prompts.get(prompt_id)
        prompt = await prompts.create(
            mode=base.mode, text=data.text, note=data.note, activate=data.activate, by=principal_of(request).user.email
        )
        return PromptOut.of(prompt)

    @post(
        "/{prompt_id:str}/activate",
        status_code=200,
        summary="Make this version the active one",
        opt={PROBLEMS: NO_SUCH_PROMPT},
    )
    async def activate(self, prompt_id: FromPath[str], prompts: NamedDependency[PromptService]) -> PromptOut:
        return PromptOut.of(await prompts.activate(prompt_id))

    @post(
        "/{prompt_id:str}/rollback",
        status_code=200,
        summary="Roll back: make this earlier version active again",
        opt={PROBLEMS: NO_SUCH_PROMPT},
    )
    async def rollback(self, prompt_id: FromPath[str], prompts: NamedDependency[PromptService]) -> PromptOut:
        return PromptOut.of(await prompts.activate(prompt_id))
