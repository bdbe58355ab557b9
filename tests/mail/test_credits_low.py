"""`credits.low` events (written by CreditService.spend) mail the account owner once per event,
however many mailers run at once; the webhook fan-out of the same event is independent."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from beanie import PydanticObjectId

from tests.conftest import running_workers
from tests.helpers import signed_up
from trailroom.core.clock import utcnow
from trailroom.core.transactions import in_transaction
from trailroom.domain.accounts.models import User
from trailroom.domain.credits.models import TransactionKind
from trailroom.domain.events.models import CREDITS_LOW, DomainEvent
from trailroom.domain.mail.jobs import mail_domain_events
from trailroom.domain.mail.models import MailStatus, OutgoingMail
from trailroom.domain.services import Services


async def spend(services: Services, user_id: PydanticObjectId, cost: int) -> None:
    await in_transaction(
        services.resources.mongo,
        lambda session: services.credits.spend(session, user_id, cost, job_ids=[], description="test spend"),
    )


async def low_mails() -> list[OutgoingMail]:
    return await OutgoingMail.find(OutgoingMail.template == "credits_low").sort("created_at").to_list()


async def test_credits_low_is_mailed_once_per_event(client: httpx.AsyncClient, services: Services) -> None:
    await signed_up(client, "low@example.com")
    user = await User.find_one(User.email == "low@example.com")
    assert user is not None
    assert user.id is not None
    await services.credits.add(user.id, 4, kind=TransactionKind.PURCHASE, description="test purchase")
    await spend(services, user.id, 3)  # 7 -> 4: below the threshold of 5
    [event] = await DomainEvent.find(DomainEvent.type == CREDITS_LOW).to_list()

    written = await asyncio.gather(*(mail_domain_events({"services": services}) for _ in range(4)))
    assert sum(written) == 1
    [mail] = await low_mails()
    assert mail.to == "low@example.com"
    assert mail.account_id == user.id
    assert mail.subject == "Your TrailRoom credits are running low (4 left)"
    assert "4 credits left, below your alert level of 5" in mail.text
    assert f"{services.resources.settings.base_url}/app/billing" in mail.text
    marked = await DomainEvent.get(event.id)
    assert marked is not None
    assert marked.mailed_at is not None
    assert marked.dispatched_at is None  # the webhooks' marker is theirs
    assert await mail_domain_events({"services": services}) == 0

    # Crossing again later is a new event: a new mail.
    await services.credits.add(user.id, 10, kind=TransactionKind.PURCHASE, description="top up")
    await spend(services, user.id, 12)  # 14 -> 2
    assert await mail_domain_events({"services": services}) == 1
    assert [m.subject for m in await low_mails()][-1] == "Your TrailRoom credits are running low (2 left)"
    assert len(await low_mails()) == 2


async def test_old_events_and_missing_owners_are_not_mailed(services: Services) -> None:
    await DomainEvent(
        account_id=PydanticObjectId(),
        type=CREDITS_LOW,
        data={"balance": 1, "threshold": 5},
        created_at=utcnow() - timedelta(days=2),
    ).insert()
    gone = await DomainEvent(
        account_id=PydanticObjectId(), type=CREDITS_LOW, data={"balance": 1, "threshold": 5}
    ).insert()
    assert await mail_domain_events({"services": services}) == 0
    assert await low_mails() == []
    marked = await DomainEvent.get(gone.id)
    assert marked is not None
    assert marked.mailed_at is not None  # looked at once, not again


async def test_the_worker_mails_a_low_balance_into_the_outbox(client: httpx.AsyncClient, services: Services) -> None:
    await signed_up(client, "worker-low@example.com")
    user = await User.find_one(User.email == "worker-low@example.com")
    assert user is not None
    assert user.id is not None
    await services.credits.add(user.id, 2, kind=TransactionKind.PURCHASE, description="test purchase")
    async with running_workers(services):
        await spend(services, user.id, 3)  # 5 -> 2
        async with asyncio.timeout(20):
            while not (mails := await low_mails()) or mails[0].status != MailStatus.OUTBOX:
                await asyncio.sleep(0.1)
    assert mails[0].to == "worker-low@example.com"
