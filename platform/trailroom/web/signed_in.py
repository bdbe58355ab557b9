"""The signed-in user of a dashboard page (its guard has made sure there is one)."""

from __future__ import annotations

from beanie import PydanticObjectId

from trailroom.domain.accounts.models import User
from trailroom.domain.accounts.principal import Principal, Via
from trailroom.web.context import PageContext


def signed_in(ctx: PageContext) -> User:
    assert ctx.user is not None, "dashboard pages are guarded by requires_page_user"
    return ctx.user


def account_id(ctx: PageContext) -> PydanticObjectId:
    user = signed_in(ctx)
    assert user.id is not None
    return user.id


def session_principal(ctx: PageContext) -> Principal:
    """The page's user as the services' caller: the same authority as the API with a session."""
    return Principal(user=signed_in(ctx), via=Via.SESSION)
