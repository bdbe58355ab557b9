"""Every Beanie document of the platform, so one call binds them all and creates their indexes."""

from __future__ import annotations

from beanie import Document

from trailroom.domain.accounts.models import ApiKey, RefreshToken, User


def document_models() -> list[type[Document]]:
    return [User, RefreshToken, ApiKey]
