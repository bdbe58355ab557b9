"""Recording calls without slowing them: the request path appends to a list in memory; a background
task writes the batch every second: $inc upserts of the hourly roll-up for every call, and a raw
event for the calls worth looking at one by one (errors, and calls that spent credits). A raw event
per successful read would cost the database a write per API call for a log nobody reads; the
roll-up already counts them."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from beanie import PydanticObjectId
from pymongo import UpdateOne

from trailroom.core.logging import get_logger
from trailroom.domain.analytics.models import UsageEvent, UsageHourly

log = get_logger("trailroom.analytics")

MAX_BUFFER = 20_000  # beyond this (database down for long), the oldest calls are dropped, not the API


@dataclass(frozen=True)
class Call:
    account_id: PydanticObjectId
    api_key_id: PydanticObjectId | None
    method: str
    route: str
    status: int
    latency_ms: float
    credits: int
    at: datetime


class UsageRecorder:
    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s
        self._buffer: list[Call] = []
        self._task: asyncio.Task[None] | None = None
        # One flush at a time: a caller's flush returns once the background one in progress has
        # written its batch too (else a report read right after could miss those calls).
        self._flushing = asyncio.Lock()

    def record(self, call: Call) -> None:
        """Called on the request path: no I/O."""
        self._buffer.append(call)
        if len(self._buffer) > MAX_BUFFER:
            del self._buffer[: len(self._buffer) - MAX_BUFFER]

    async def flush(self) -> int:
        async with self._flushing:
            return await self._write_batch()

    async def _write_batch(self) -> int:
        batch, self._buffer = self._buffer, []
        if not batch:
            return 0
        try:
            # Plain documents of UsageEvent's shape: validating thousands of models a second is not free.
            notable = [
                {
                    "account_id": c.account_id,
                    "api_key_id": c.api_key_id,
                    "method": c.method,
                    "route": c.route,
                    "status": c.status,
                    "latency_ms": c.latency_ms,
                    "credits": c.credits,
                    "created_at": c.at,
                }
                for c in batch
                if c.status >= 400 or c.credits
            ]
            if notable:
                await UsageEvent.get_pymongo_collection().insert_many(notable, ordered=False)
            await UsageHourly.get_pymongo_collection().bulk_write(_hourly_updates(batch), ordered=False)
        except Exception:
            log.exception("writing usage events failed; they will be retried", calls=len(batch))
            self._buffer[:0] = batch
            return 0
        return len(batch)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.flush()


def _hourly_updates(batch: list[Call]) -> list[UpdateOne]:
    totals: dict[tuple[PydanticObjectId, datetime, str, str], dict[str, float]] = defaultdict(
        lambda: {"calls": 0, "errors": 0, "server_errors": 0, "latency_ms_total": 0.0, "credits": 0}
    )
    for call in batch:
        hour = call.at.replace(minute=0, second=0, microsecond=0)
        bucket = totals[(call.account_id, hour, call.method, call.route)]
        bucket["calls"] += 1
        bucket["errors"] += call.status >= 400
        bucket["server_errors"] += call.status >= 500
        bucket["latency_ms_total"] += call.latency_ms
        bucket["credits"] += call.credits
    return [
        UpdateOne({"account_id": account, "hour": hour, "method": method, "route": route}, {"$inc": inc}, upsert=True)
        for (account, hour, method, route), inc in totals.items()
    ]
