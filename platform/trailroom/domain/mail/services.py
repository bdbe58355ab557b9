"""The one mail path: render a template, store the mail, queue its send.

Invariants:
- A mail is in the database (status `queued`) before anything touches Redis; the queue only
  carries its id. Queueing is best effort: `sweep` queues again whatever waits too long, so a mail
  accepted while Redis was away (or whose job Redis lost) still goes out.
- The SAQ key names the mail (`mail:<id>`): queueing one mail twice while its job lives queues it once.
- A send holds a lease on the mail (one conditional update), so two jobs for one mail never both
  send it; the lease outlives the SMTP timeout, so a crashed worker's mail is sent again later.
- Without an SMTP host (dev), the job keeps the mail in the outbox (`/dev/outbox`) instead.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from beanie import PydanticObjectId, SortDirection
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from saq import Queue

from trailroom.core.clock import utcnow
from trailroom.core.config import Settings
from trailroom.core.ids import parse_object_id
from trailroom.core.logging import get_logger
from trailroom.core.mongo import MONGO_UNAVAILABLE
from trailroom.core.redis import REDIS_UNAVAILABLE
from trailroom.domain.mail.models import MailStatus, OutgoingMail, StoredAttachment
from trailroom.domain.mail.rendering import render_mail
from trailroom.domain.mail.transport import SendFailure, SmtpTransport, build_message, check_address

log = get_logger("trailroom.mail")

SEND_JOB = "send_mail"
MAX_ATTACHMENTS_BYTES = 10 * 1024 * 1024  # well inside a document's 16 MB and most servers' limits
SWEEP_BATCH = 500


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "application/pdf"
    content: bytes


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts in all (SAQ's `retries`), and the backoff between them: `delay_s`, doubling (with
    jitter), at most `max_delay_s`. The defaults spread 8 attempts over about two hours."""

    attempts: int = 8
    delay_s: float = 60
    max_delay_s: float = 1800


class MailDeferred(Exception):
    """A transient send failure: raised out of the job so SAQ retries it after its backoff."""


class MailService:
    def __init__(
        self,
        settings: Settings,
        queue: Queue,
        *,
        retry: RetryPolicy = RetryPolicy(),
        transport: SmtpTransport | None = None,
    ) -> None:
        self.settings = settings
        self.jobs = queue
        self.retry = retry
        self.transport = transport or SmtpTransport(settings)
        # A send takes at most connect + each reply under the timeout; the lease outlasts that.
        self.lease = timedelta(seconds=settings.smtp_timeout_s * 4 + 30)

    @property
    def outbox_mode(self) -> bool:
        return self.settings.mail_outbox

    # -- queueing -----------------------------------------------------------------------------------

    async def queue(
        self,
        *,
        to: str,
        template: str,
        context: dict[str, Any],
        attachments: Sequence[Attachment] = (),
        account_id: PydanticObjectId | None = None,
        session: AsyncClientSession | None = None,
    ) -> OutgoingMail:
        """Render `template` with `context` (plus `site_url`), store the mail and queue its send.
        With `session` the mail is written in the caller's transaction and not queued yet (the job
        could run before the commit): call `enqueue(mail)` after the commit, or leave it to the
        sweep (within a minute or two)."""
        address = check_address(to)
        if sum(len(a.content) for a in attachments) > MAX_ATTACHMENTS_BYTES:
            raise ValueError(f"attachments above {MAX_ATTACHMENTS_BYTES} bytes")
        rendered = render_mail(template, {"site_url": self.settings.base_url, **context})
        mail = OutgoingMail(
            to=address,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            attachments=[
                StoredAttachment(filename=a.filename, content_type=a.content_type, content=a.content)
                for a in attachments
            ],
            template=template,
            account_id=account_id,
        )
        await mail.insert(session=session)
        if session is None:
            await self.enqueue(mail)
        return mail

    async def enqueue(self, mail: OutgoingMail) -> bool:
        """Queue the send job of a stored mail. False when its job is queued already, or when Redis
        is away (best effort: the sweep queues it later)."""
        try:
            job = await self.jobs.enqueue(
                SEND_JOB,
                key=f"mail:{mail.id}",
                mail_id=str(mail.id),
                timeout=int(self.lease.total_seconds()),
                retries=self.retry.attempts,
                retry_delay=self.retry.delay_s,
                retry_backoff=self.retry.max_delay_s,
            )
        except (*REDIS_UNAVAILABLE, *MONGO_UNAVAILABLE) as exc:
            log.warning(
                "queue unavailable; the mail waits for the sweep", mail_id=str(mail.id), error=type(exc).__name__
            )
            return False
        return job is not None

    async def sweep(self, *, older_than_s: float = 60) -> int:
        """Queue again the mails still `queued` after `older_than_s` whose send is not in progress
        (their job was lost, or never queued). Jobs still alive in the queue are not doubled (the
        SAQ key). Returns how many were queued."""
        now = utcnow()
        stale = (
            await OutgoingMail.find(
                {
                    "status": MailStatus.QUEUED.value,
                    "created_at": {"$lte": now - timedelta(seconds=older_than_s)},
                    "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}],
                }
            )
            .sort([("created_at", SortDirection.ASCENDING)])
            .limit(SWEEP_BATCH)
            .to_list()
        )
        queued = 0
        for mail in stale:
            queued += await self.enqueue(mail)
        return queued

    # -- sending (the job's side) ---------------------------------------------------------------------

    async def deliver(self, mail_id: str) -> MailStatus | None:
        """One attempt at a mail: sent, kept in the outbox (no SMTP host), failed for good, or (a
        transient failure with attempts left) `MailDeferred` raised for the job to be retried.
        None when the mail is not waiting for a send (done, unknown, or held by another job)."""
        object_id = parse_object_id(mail_id)
        if object_id is None:
            return None
        now = utcnow()
        claimed = await OutgoingMail.get_pymongo_collection().find_one_and_update(
            {
                "_id": object_id,
                "status": MailStatus.QUEUED.value,
                "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}],
            },
            {"$set": {"lease_until": now + self.lease}, "$inc": {"attempts": 1}},
            return_document=ReturnDocument.AFTER,
        )
        if claimed is None:
            return None
        mail = OutgoingMail.model_validate(claimed)
        if self.outbox_mode:
            await self._finish(mail, MailStatus.OUTBOX)
            log.info("mail kept in the dev outbox", mail_id=mail_id, template=mail.template)
            return MailStatus.OUTBOX
        message = build_message(
            sender=self.settings.mail_from,
            to=mail.to,
            subject=mail.subject,
            text=mail.text,
            html=mail.html,
            attachments=mail.attachments,
        )
        started = time.monotonic()
        try:
            await self.transport.send(message)
        except SendFailure as failure:
            if failure.transient and mail.attempts < self.retry.attempts:
                await self._release(mail, failure.reason)
                log.warning(
                    "mail deferred",
                    mail_id=mail_id,
                    attempt=mail.attempts,
                    template=mail.template,
                    reason=failure.reason,
                )
                raise MailDeferred(f"mail {mail_id} deferred: {failure.reason}") from None
            await self._finish(mail, MailStatus.FAILED, error=failure.reason)
            log.error(
                "mail failed", mail_id=mail_id, attempts=mail.attempts, template=mail.template, reason=failure.reason
            )
            return MailStatus.FAILED
        await self._finish(mail, MailStatus.SENT)
        log.info(
            "mail sent",
            mail_id=mail_id,
            template=mail.template,
            attempt=mail.attempts,
            ms=int((time.monotonic() - started) * 1000),
        )
        return MailStatus.SENT

    async def _finish(self, mail: OutgoingMail, status: MailStatus, *, error: str | None = None) -> None:
        changes: dict[str, Any] = {"status": status.value, "lease_until": None, "last_error": error}
        if status == MailStatus.SENT:
            changes["sent_at"] = utcnow()
        await OutgoingMail.get_pymongo_collection().update_one(
            {"_id": mail.id, "status": MailStatus.QUEUED.value}, {"$set": changes}
        )

    async def _release(self, mail: OutgoingMail, error: str) -> None:
        await OutgoingMail.get_pymongo_collection().update_one(
            {"_id": mail.id, "status": MailStatus.QUEUED.value}, {"$set": {"lease_until": None, "last_error": error}}
        )

    # -- reading (the dev outbox) ---------------------------------------------------------------------

    async def recent(self, *, limit: int = 100) -> list[OutgoingMail]:
        """The newest mails first."""
        return (
            await OutgoingMail.find({})
            .sort([("created_at", SortDirection.DESCENDING), ("_id", SortDirection.DESCENDING)])
            .limit(limit)
            .to_list()
        )

    async def get(self, mail_id: str) -> OutgoingMail | None:
        object_id = parse_object_id(mail_id)
        return await OutgoingMail.get(object_id) if object_id is not None else None
