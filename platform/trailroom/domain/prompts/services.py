"""Prompt rules.

Invariants: versions of a mode are numbered 1, 2, 3… by a unique index (two concurrent edits
cannot both take a number); at most one version per mode is active, switched in one transaction;
rollback activates an earlier version again, it never rewrites one.
"""

from __future__ import annotations

from typing import Any

from beanie import PydanticObjectId
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from trailroom.core.clock import utcnow
from trailroom.core.errors import Conflict, InvalidInput, NotFound
from trailroom.core.ids import parse_object_id
from trailroom.core.transactions import in_transaction
from trailroom.core.vocabulary import TryOnMode, values
from trailroom.domain.prompts.models import PromptTemplate

MAX_PROMPT_CHARS = 4000


class PromptService:
    def __init__(self, mongo: AsyncMongoClient[Any]) -> None:
        self.mongo = mongo

    async def list(self, mode: str | None = None) -> list[PromptTemplate]:
        query = {"mode": mode} if mode else {}
        return await PromptTemplate.find(query).sort([("mode", 1), ("version", -1)]).to_list()  # type: ignore[list-item]

    async def active(self, mode: str) -> PromptTemplate | None:
        return await PromptTemplate.find_one({"mode": mode, "active": True})

    async def create(self, *, mode: str, text: str, note: str, activate: bool, by: str) -> PromptTemplate:
        if mode not in values(TryOnMode):
            raise InvalidInput(f"mode must be one of {', '.join(TryOnMode)}", code="invalid_mode", field="mode")
        text = text.strip()
        if not text or len(text) > MAX_PROMPT_CHARS:
            raise InvalidInput(
                f"The prompt needs 1 to {MAX_PROMPT_CHARS} characters.", code="invalid_prompt", field="text"
            )
        latest = await PromptTemplate.find({"mode": mode}).sort([("version", -1)]).first_or_none()  # type: ignore[list-item]
        prompt = PromptTemplate(
            mode=mode, version=(latest.version + 1) if latest else 1, text=text, note=note.strip()[:200], created_by=by
        )
        try:
            await prompt.insert()
        except DuplicateKeyError as exc:
            raise Conflict("Another version was saved at the same time; try again.", code="concurrent_update") from exc
        if activate:
            return await self.activate(prompt.id)  # type: ignore[arg-type]
        return prompt

    async def get(self, prompt_id: str) -> PromptTemplate:
        object_id = parse_object_id(prompt_id)
        prompt = await PromptTemplate.get(object_id) if object_id else None
        if prompt is None:
            raise NotFound("No such prompt version.", code="prompt_not_found")
        return prompt

    async def activate(self, prompt_id: PydanticObjectId | str) -> PromptTemplate:
        """Make this version the mode's active one (used by both activation and rollback)."""
        prompt = await self.get(str(prompt_id))

        async def switch(session: AsyncClientSession) -> None:
            collection = PromptTemplate.get_pymongo_collection()
            await collection.update_many(
                {"mode": prompt.mode, "active": True, "_id": {"$ne": prompt.id}},
                {"$set": {"active": False}},
                session=session,
            )
            await collection.update_one(
                {"_id": prompt.id}, {"$set": {"active": True, "activated_at": utcnow()}}, session=session
            )

        await in_transaction(self.mongo, switch)
        return await self.get(str(prompt.id))
