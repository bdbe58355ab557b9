"""Prompt versions. A version's text never changes; editing makes a new version."""

from __future__ import annotations

from datetime import datetime

import pymongo
from beanie import Document
from pydantic import Field
from pymongo import IndexModel

from trailroom.core.clock import utcnow


class PromptTemplate(Document):
    mode: str
    version: int
    text: str
    note: str = ""
    active: bool = False
    created_by: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    activated_at: datetime | None = None

    class Settings:
        name = "prompts"
        indexes = [
            IndexModel(
                [("mode", pymongo.ASCENDING), ("version", pymongo.DESCENDING)], unique=True, name="mode_version"
            ),
            IndexModel([("mode", pymongo.ASCENDING), ("active", pymongo.ASCENDING)], name="mode_active"),
        ]
