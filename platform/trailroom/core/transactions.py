"""Multi-document transactions with retries.

Concurrent transactions on one document (say, many try-ons charging one account) abort with a
TransientTransactionError; the whole transaction is then retried with jittered exponential
backoff. A commit whose outcome is unknown is retried as a commit, never re-run as new work.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import PyMongoError

T = TypeVar("T")

MAX_ATTEMPTS = 60
COMMIT_ATTEMPTS = 5


async def _commit(session: AsyncClientSession) -> None:
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        try:
            await session.commit_transaction()
            return
        except PyMongoError as exc:
            if not exc.has_error_label("UnknownTransactionCommitResult") or attempt == COMMIT_ATTEMPTS:
                raise
            await asyncio.sleep(0.01 * attempt)


async def in_transaction(client: AsyncMongoClient[Any], work: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
    """Run `work(session)` in a transaction, retrying it whole on transient conflicts."""
    delay = 0.002
    for attempt in range(1, MAX_ATTEMPTS + 1):
        async with client.start_session() as session:
            await session.start_transaction()
            try:
                result = await work(session)
            except PyMongoError as exc:
                await session.abort_transaction()
                if not exc.has_error_label("TransientTransactionError") or attempt == MAX_ATTEMPTS:
                    raise
            except BaseException:
                await session.abort_transaction()
                raise
            else:
                try:
                    await _commit(session)
                    return result
                except PyMongoError as exc:
                    if not exc.has_error_label("TransientTransactionError") or attempt == MAX_ATTEMPTS:
                        raise
        await asyncio.sleep(random.uniform(0, delay))
        delay = min(delay * 2, 0.25)
    raise AssertionError("unreachable")
