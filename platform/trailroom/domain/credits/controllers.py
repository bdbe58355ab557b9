"""HTTP endpoints of credits: balance and ledger."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from trailroom.domain.accounts.guards import principal_of, requires_account
from trailroom.domain.credits.schemas import CreditsResponse, TransactionList, TransactionResponse
from trailroom.domain.credits.services import CreditService
from trailroom.server.contract import PROBLEMS


def provide_credits(state: State) -> CreditService:
    service: CreditService = state.services.credits
    return service


class CreditsController(Controller):
    path = "/api/v1/credits"
    tags = ["Credits"]
    guards = [requires_account]
    dependencies = {"credits": Provide(provide_credits, sync_to_thread=False)}

    @get("/", summary="Balance: what can be spent now, free and purchased")
    async def balance(
        self, request: Request[Any, Any, Any], credits: NamedDependency[CreditService]
    ) -> CreditsResponse:
        user = principal_of(request).user
        costs = (await credits.config.current()).credit_costs
        return CreditsResponse.of(credits.balance_of(user), costs)

    @get(
        "/transactions",
        summary="The ledger: every credit movement, newest first",
        opt={PROBLEMS: {422: ("invalid_cursor",)}},
    )
    async def transactions(
        self,
        request: Request[Any, Any, Any],
        credits: NamedDependency[CreditService],
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> TransactionList:
        page = await credits.history(principal_of(request).user_id, cursor=cursor, limit=limit)
        return TransactionList(data=[TransactionResponse.of(e) for e in page.items], next_cursor=page.next_cursor)
