"""The try-on job's lifecycle: the transition table is enforced, and of concurrent changes one wins."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId

from tests.helpers import Account
from tests.test_credits import assert_ledger_matches
from tests.tryon.test_pipeline import balance, payload
from trailroom.domain.credits.models import CreditTransaction, TransactionKind
from trailroom.domain.events.models import TRYON_COMPLETED, TRYON_FAILED, DomainEvent
from trailroom.domain.services import Services
from trailroom.domain.tryon.lifecycle import ALLOWED, ForbiddenTransition, JobLifecycle, allowed_sources, sources_of
from trailroom.domain.tryon.models import IN_FLIGHT, TERMINAL, JobError, JobStatus, TryOnJob

LOST = JobError(code="worker_lost", detail="test")


async def queued_job(client: httpx.AsyncClient, account: Account, person: bytes, garment: bytes) -> PydanticObjectId:
    """A job accepted by the API (charged, images stored) that no worker runs."""
    response = await client.post("/api/v1/tryon", headers=account.auth, json=payload(person, garment))
    assert response.status_code == 202, response.text
    return PydanticObjectId(response.json()["id"])


async def raw(job_id: PydanticObjectId) -> dict[str, Any]:
    document = await TryOnJob.get_pymongo_collection().find_one({"_id": job_id})
    assert document is not None
    return dict(document)


def claim(lifecycle: JobLifecycle, job_id: PydanticObjectId) -> Any:
    return lifecycle.transition(job_id, JobStatus.PROCESSING, where={"inputs_stored": True}, increments={"attempts": 1})


def test_the_table_matches_the_statuses() -> None:
    assert set(ALLOWED) == set(JobStatus)
    assert {status for status, targets in ALLOWED.items() if not targets} == TERMINAL
    assert {status for status, targets in ALLOWED.items() if targets} == set(IN_FLIGHT)
    assert sources_of(JobStatus.PROCESSING) == {JobStatus.QUEUED}
    assert sources_of(JobStatus.COMPLETED) == {JobStatus.PROCESSING}
    assert sources_of(JobStatus.QUEUED) == {JobStatus.PROCESSING}  # a retry
    assert sources_of(JobStatus.FAILED) == {JobStatus.QUEUED, JobStatus.PROCESSING}
    assert sources_of(JobStatus.CANCELED) == {JobStatus.QUEUED}
    for forbidden in [
        (JobStatus.COMPLETED, JobStatus.PROCESSING),
        (JobStatus.FAILED, JobStatus.QUEUED),
        (JobStatus.CANCELED, JobStatus.QUEUED),
        (JobStatus.PROCESSING, JobStatus.CANCELED),
        (JobStatus.QUEUED, JobStatus.COMPLETED),
    ]:
        with pytest.raises(ForbiddenTransition):
            allowed_sources(forbidden[1], forbidden[0])


async def test_a_completed_job_cannot_be_claimed_again(
    client: httpx.AsyncClient, services: Services, account: Account, person_png: bytes, garment_png: bytes
) -> None:
    lifecycle = services.tryon.lifecycle
    job_id = await queued_job(client, account, person_png, garment_png)
    assert await claim(lifecycle, job_id) is not None
    completed = await lifecycle.transition(job_id, JobStatus.COMPLETED, where={"attempts": 1})
    assert completed is not None
    assert completed.status == JobStatus.COMPLETED
    assert completed.completed_at is not None
    before = await raw(job_id)

    # Asked for outright, the table refuses it before anything is written...
    with pytest.raises(ForbiddenTransition):
        await lifecycle.transition(job_id, JobStatus.PROCESSING, expected=JobStatus.COMPLETED)
    # ...and the update, filtered on the statuses the table allows, matches nothing.
    assert await claim(lifecycle, job_id) is None
    assert await lifecycle.transition(job_id, JobStatus.FAILED, error=LOST) is None
    assert await lifecycle.transition(job_id, JobStatus.QUEUED) is None
    assert await raw(job_id) == before
    assert await DomainEvent.find({"type": TRYON_COMPLETED}).count() == 1
    assert await DomainEvent.find({"type": TRYON_FAILED}).count() == 0
    assert await balance(client, account) == 2  # charged once, never refunded


async def test_of_two_concurrent_claims_exactly_one_wins(
    client: httpx.AsyncClient, services: Services, account: Account, person_png: bytes, garment_png: bytes
) -> None:
    lifecycle = services.tryon.lifecycle
    job_id = await queued_job(client, account, person_png, garment_png)
    outcomes = await asyncio.gather(*(claim(lifecycle, job_id) for _ in range(2)))
    winners = [job for job in outcomes if job is not None]
    assert len(winners) == 1
    assert winners[0].status == JobStatus.PROCESSING
    stored = await TryOnJob.get(job_id)
    assert stored is not None
    assert stored.status == JobStatus.PROCESSING
    assert stored.attempts == 1


async def test_of_a_concurrent_cancel_and_fail_exactly_one_wins_and_refunds_once(
    client: httpx.AsyncClient, services: Services, account: Account, person_png: bytes, garment_png: bytes
) -> None:
    lifecycle = services.tryon.lifecycle
    job_id = await queued_job(client, account, person_png, garment_png)
    assert await balance(client, account) == 2
    outcomes = await asyncio.gather(
        lifecycle.transition(
            job_id, JobStatus.CANCELED, expected=JobStatus.QUEUED, error=JobError(code="canceled", detail="test")
        ),
        lifecycle.transition(job_id, JobStatus.FAILED, expected=JobStatus.QUEUED, error=LOST),
    )
    winners = [job for job in outcomes if job is not None]
    assert len(winners) == 1
    stored = await TryOnJob.get(job_id)
    assert stored is not None
    assert stored.status == winners[0].status
    assert stored.refunded
    refunds = await CreditTransaction.find({"kind": TransactionKind.REFUND, "job_ids": job_id}).count()
    assert refunds == 1
    failed_events = await DomainEvent.find({"type": TRYON_FAILED}).count()
    assert failed_events == (1 if stored.status == JobStatus.FAILED else 0)
    assert await balance(client, account) == 3
    assert not await services.tryon.blobs.exists(stored.inputs["person"])
    await assert_ledger_matches(stored.account_id)


async def test_a_late_failure_of_a_replaced_attempt_leaves_the_newer_attempt_running(
    client: httpx.AsyncClient, services: Services, account: Account, person_png: bytes, garment_png: bytes
) -> None:
    tryon = services.tryon
    job_id = await queued_job(client, account, person_png, garment_png)
    first = await claim(tryon.lifecycle, job_id)
    assert first is not None
    # The sweeper gave the first attempt up for lost and a second one started.
    assert await tryon.lifecycle.transition(job_id, JobStatus.QUEUED, where={"attempts": 1}) is not None
    assert await claim(tryon.lifecycle, job_id) is not None
    # The first attempt's engine error arrives late: it must not end the second attempt.
    assert not await tryon.lifecycle.fail(job_id, LOST, from_status=JobStatus.PROCESSING, attempt=first.attempts)
    current = await raw(job_id)
    assert (current["status"], current["attempts"]) == (JobStatus.PROCESSING, 2)
    assert await tryon.lifecycle.fail(job_id, LOST, from_status=JobStatus.PROCESSING, attempt=2)
