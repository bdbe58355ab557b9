"""Mails about outbox events: the account owner hears of `credits.low` once per event.

Invariant: an event is mailed at most once. Marking it (`mailed_at`, one conditional update on
`mailed_at: null`) and storing its mail are one transaction, so of two mailers only one writes a
mail, and a crash between them leaves neither. This marker is the mailer's own: webhooks fan the
same events out by `dispatched_at`, independently.
"""

from __future__ import annotations

from datetime import timedelta

from beanie import SortDirection
from pymongo.asynchronous.client_session import AsyncClientSession

from trailroom.core.clock import utcnow
from trailroom.core.transactions import in_transaction
from trailroom.domain.accounts.models import User
from trailroom.domain.events.models import CREDITS_LOW, DomainEvent
from trailroom.domain.mail.models import OutgoingMail
from trailroom.domain.mail.services import MailService
from trailroom.resources import Resources

# Events older than this are not mailed any more (news that late helps nobody; it also keeps a
# first start from mailing every event ever recorded).
MAIL_WITHIN = timedelta(days=1)
BATCH = 200


class EventMails:
    def __init__(self, resources: Resources, mail: MailService) -> None:
        self.resources = resources
        self.mail = mail

    async def mail_pending(self, *, limit: int = 1000) -> int:
        """Mail the owners of recent `credits.low` events not mailed yet, oldest first. Returns
        how many mails were written."""
        written = 0
        seen = 0
        while seen < limit:
            events = (
                await DomainEvent.find(
                    {"type": CREDITS_LOW, "mailed_at": None, "created_at": {"$gte": utcnow() - MAIL_WITHIN}}
                )
                .sort([("created_at", SortDirection.ASCENDING)])
                .limit(min(BATCH, limit - seen))
                .to_list()
            )
            if not events:
                break
            for event in events:
                seen += 1
                written += await self._mail_one(event)
        return written

    async def _mail_one(self, event: DomainEvent) -> bool:
        owner = await User.get(event.account_id)
        settings = self.resources.settings

        async def work(session: AsyncClientSession) -> OutgoingMail | None:
            claimed = await DomainEvent.get_pymongo_collection().update_one(
                {"_id": event.id, "mailed_at": None}, {"$set": {"mailed_at": utcnow()}}, session=session
            )
            if claimed.modified_count != 1 or owner is None or not owner.is_active:
                return None  # another mailer has it, or nobody to tell (the event is marked all the same)
            return await self.mail.queue(
                to=owner.email,
                template="credits_low",
                context={
                    "name": owner.name,
                    "balance": int(event.data.get("balance", 0)),
                    "threshold": int(event.data.get("threshold", 0)),
                    "billing_url": f"{settings.base_url}/app/billing",
                },
                account_id=owner.id,
                session=session,
            )

        mail = await in_transaction(self.resources.mongo, work)
        if mail is None:
            return False
        await self.mail.enqueue(mail)
        return True
