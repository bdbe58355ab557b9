"""Multi-document transactions, retried whole on transient conflicts.

Concurrent transactions on one document (say, many try-ons charging one account) abort with a
TransientTransactionError. PyMongo's `with_transaction` (the drivers' convenient transaction API)
retries the whole callback with jittered exponential backoff, and a commit whose outcome is unknown
as a commit, never as new work, for up to 120 s; so `work` must be safe to run again from the start.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

T = TypeVar("T")


async def in_transaction(client: AsyncMongoClient[Any], work: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
    """Run `work(session)` in a transaction, retrying it whole on transient conflicts."""
    async with client.start_session() as session:
        return await session.with_transaction(work)
