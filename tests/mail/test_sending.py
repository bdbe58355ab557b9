"""Mail over real SMTP (aiosmtpd on a loopback port): what arrives (multipart text + HTML, the
attachment's bytes, the headers), authentication, retries with backoff through real SAQ workers,
permanent refusals, the outbox mode and the sweep that recovers mails whose job was lost."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tests.conftest import running_workers
from trailroom.core.clock import utcnow
from trailroom.core.transactions import in_transaction
from trailroom.domain.mail.jobs import send_mail, sweep_queued_mail
from trailroom.domain.mail.models import MailStatus, OutgoingMail
from trailroom.domain.mail.services import Attachment, MailDeferred, MailService
from trailroom.domain.services import Services
from trailroom.embedded.process import free_port
from trailroom.resources import Resources

from .conftest import FAST_RETRIES, SMTP_PASSWORD, SmtpSink, mail_of

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
RECEIPT = {
    "name": "Ada <Lovelace>",
    "credits": 2100,
    "amount_display": "₹2,478.00",
    "invoice_number": "TR/2026-27/000123",
    "order_id": "order_Q1w2e3",
    "payment_id": "pay_Z9x8c7",
    "billing_url": "http://127.0.0.1:8000/app/billing",
}


async def queue_receipt(mail: MailService) -> OutgoingMail:
    return await mail.queue(
        to="ada@example.com",
        template="receipt",
        context=RECEIPT,
        attachments=[Attachment("TR-2026-27-000123.pdf", "application/pdf", PDF)],
    )


async def test_a_receipt_arrives_as_text_html_and_the_pdf(
    smtp_mail: MailService, smtp_services: Services, smtp_server: SmtpSink
) -> None:
    queued = await queue_receipt(smtp_mail)
    assert queued.status == MailStatus.QUEUED
    assert await send_mail({"services": smtp_services}, mail_id=str(queued.id)) == "sent"

    [message] = smtp_server.messages
    assert smtp_server.envelopes == [("no-reply@trailroom.dev", ["ada@example.com"])]
    assert smtp_server.logins == ["mailer"]
    assert message["To"] == "ada@example.com"
    assert message["From"] == "TrailRoom <no-reply@trailroom.dev>"
    assert message["Subject"] == "Your TrailRoom receipt TR/2026-27/000123: 2,100 credits"
    assert message["Message-ID"].endswith("@trailroom.dev>")
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    text, html = alternative.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert "2,100 credits are in your account" in text.get_content()
    assert "Ada <Lovelace>" in text.get_content()  # text is not escaped
    assert "₹2,478.00" in text.get_content()
    assert html.get_content_type() == "text/html"
    assert "Ada &lt;Lovelace&gt;" in html.get_content()  # HTML is
    assert 'href="http://127.0.0.1:8000/app/billing"' in html.get_content()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "TR-2026-27-000123.pdf"
    assert attachment.get_content() == PDF

    stored = await mail_of(queued.id)
    assert stored.status == MailStatus.SENT
    assert stored.sent_at is not None
    assert stored.attempts == 1
    assert stored.last_error is None
    # A second run of the job (a duplicate, a late retry) sends nothing more.
    assert await send_mail({"services": smtp_services}, mail_id=str(queued.id)) is None
    assert len(smtp_server.messages) == 1


async def test_a_refusing_server_is_retried_with_backoff_by_the_workers(
    smtp_mail: MailService, smtp_services: Services, smtp_server: SmtpSink
) -> None:
    smtp_server.refuse_next = 1
    async with running_workers(smtp_services):
        queued = await queue_receipt(smtp_mail)
        await smtp_server.wait_for(1)
        async with asyncio.timeout(10):
            while (stored := await mail_of(queued.id)).status != MailStatus.SENT:
                await asyncio.sleep(0.05)
    assert smtp_server.refused == 1
    assert stored.attempts == 2
    assert stored.last_error is None
    assert smtp_server.messages[0].get_content_type() == "multipart/mixed"


async def test_transient_failures_run_out_of_attempts_and_fail(smtp_mail: MailService, smtp_server: SmtpSink) -> None:
    smtp_server.refuse_next = 100
    queued = await queue_receipt(smtp_mail)
    for _ in range(FAST_RETRIES.attempts - 1):
        with pytest.raises(MailDeferred):
            await smtp_mail.deliver(str(queued.id))
        deferred = await mail_of(queued.id)
        assert deferred.status == MailStatus.QUEUED
        assert deferred.lease_until is None  # the next attempt may claim it
        assert deferred.last_error == "451 4.3.0 Mailbox busy, try again later"
    assert await smtp_mail.deliver(str(queued.id)) == MailStatus.FAILED
    failed = await mail_of(queued.id)
    assert failed.status == MailStatus.FAILED
    assert failed.attempts == FAST_RETRIES.attempts
    assert smtp_server.messages == []


async def test_a_permanent_refusal_fails_at_once_without_secrets(smtp_mail: MailService, smtp_server: SmtpSink) -> None:
    smtp_server.reject = True
    queued = await queue_receipt(smtp_mail)
    assert await smtp_mail.deliver(str(queued.id)) == MailStatus.FAILED
    failed = await mail_of(queued.id)
    assert failed.attempts == 1
    assert failed.last_error == "554 5.7.1 Message rejected"


async def test_wrong_credentials_fail_without_the_password_in_the_error(
    smtp_mail: MailService, smtp_server: SmtpSink, resources: Resources
) -> None:
    wrong = smtp_mail.settings.model_copy(update={"smtp_password": "Not-The-Smtp-Pass-99"})
    mail = MailService(wrong, resources.queues.default, retry=FAST_RETRIES)
    queued = await queue_receipt(mail)
    assert await mail.deliver(str(queued.id)) == MailStatus.FAILED
    failed = await mail_of(queued.id)
    assert failed.last_error is not None
    assert failed.last_error.startswith("SMTP authentication failed (535)")
    assert "Not-The-Smtp-Pass-99" not in failed.last_error
    assert SMTP_PASSWORD not in failed.last_error
    assert smtp_server.messages == []


async def test_no_server_listening_is_transient(smtp_mail: MailService, resources: Resources) -> None:
    closed = smtp_mail.settings.model_copy(update={"smtp_port": free_port()})
    mail = MailService(closed, resources.queues.default, retry=FAST_RETRIES)
    queued = await queue_receipt(mail)
    with pytest.raises(MailDeferred):
        await mail.deliver(str(queued.id))
    deferred = await mail_of(queued.id)
    assert deferred.status == MailStatus.QUEUED
    assert deferred.last_error is not None
    assert "Connect" in deferred.last_error


async def test_starttls_demanded_of_a_server_without_it_is_refused(
    smtp_mail: MailService, resources: Resources
) -> None:
    starttls = smtp_mail.settings.model_copy(update={"smtp_security": "starttls"})
    mail = MailService(starttls, resources.queues.default, retry=FAST_RETRIES)
    queued = await queue_receipt(mail)
    # Never falls back to plain text: the mail fails (a setting to fix), nothing is sent.
    assert await mail.deliver(str(queued.id)) == MailStatus.FAILED
    assert "STARTTLS" in ((await mail_of(queued.id)).last_error or "").upper()


async def test_outbox_mode_keeps_the_mail_without_smtp(services: Services, smtp_server: SmtpSink) -> None:
    assert services.mail.outbox_mode
    queued = await queue_receipt(services.mail)
    assert await send_mail({"services": services}, mail_id=str(queued.id)) == "outbox"
    kept = await mail_of(queued.id)
    assert kept.status == MailStatus.OUTBOX
    assert kept.attachments[0].content == PDF
    assert smtp_server.messages == []


async def test_a_mail_written_in_a_transaction_is_sent_by_the_sweep(
    smtp_mail: MailService, smtp_services: Services, smtp_server: SmtpSink, resources: Resources
) -> None:
    async def work(session: object) -> OutgoingMail:
        return await smtp_mail.queue(
            to="ada@example.com",
            template="payment_failed",
            context={
                "name": "Ada",
                "amount_display": "₹840.00",
                "reason": "Card declined",
                "billing_url": "http://x/b",
            },
            session=session,  # type: ignore[arg-type]
        )

    queued = await in_transaction(resources.mongo, work)
    assert await resources.queues.default.count("queued") == 0  # not queued before the commit
    assert await smtp_mail.sweep() == 0  # too young: its caller may still queue it
    assert await smtp_mail.sweep(older_than_s=0) == 1
    assert await smtp_mail.sweep(older_than_s=0) == 0  # its job is queued: not twice
    async with running_workers(smtp_services):
        [message] = await smtp_server.wait_for(1)
    assert message["Subject"] == "Your TrailRoom payment of ₹840.00 did not go through"
    assert (await mail_of(queued.id)).status == MailStatus.SENT
    assert await sweep_queued_mail({"services": smtp_services}) == 0


async def test_bad_calls_are_refused_before_anything_is_stored(services: Services) -> None:
    with pytest.raises(ValueError, match="unknown mail template"):
        await services.mail.queue(to="a@example.com", template="nope", context={})
    with pytest.raises(ValueError, match="needs"):
        await services.mail.queue(to="a@example.com", template="credits_low", context={"name": "A"})
    with pytest.raises(ValueError, match="single email address"):
        await services.mail.queue(
            to="a@example.com\r\nBcc: b@example.com",
            template="credits_low",
            context=dict(name="A", balance=1, threshold=5, billing_url="http://x"),
        )
    assert await OutgoingMail.count() == 0


async def test_a_send_cut_short_by_a_crash_is_swept_once_its_lease_ends(
    smtp_mail: MailService, smtp_services: Services, smtp_server: SmtpSink, resources: Resources
) -> None:
    # Stored without its job (as if Redis lost it with the worker).
    queued = await in_transaction(
        resources.mongo,
        lambda session: smtp_mail.queue(to="ada@example.com", template="receipt", context=RECEIPT, session=session),
    )
    # A worker claimed it and died mid-send: the lease holds the mail until it ends.
    held_until = utcnow() + timedelta(minutes=5)
    await OutgoingMail.get_pymongo_collection().update_one(
        {"_id": queued.id}, {"$set": {"lease_until": held_until}, "$inc": {"attempts": 1}}
    )
    assert await smtp_mail.deliver(str(queued.id)) is None  # another job cannot send it meanwhile
    assert await smtp_mail.sweep(older_than_s=0) == 0
    await OutgoingMail.get_pymongo_collection().update_one(
        {"_id": queued.id}, {"$set": {"lease_until": utcnow() - timedelta(seconds=1)}}
    )
    assert await smtp_mail.sweep(older_than_s=0) == 1
    async with running_workers(smtp_services):
        await smtp_server.wait_for(1)
        async with asyncio.timeout(10):
            while (stored := await mail_of(queued.id)).status != MailStatus.SENT:
                await asyncio.sleep(0.05)
    assert stored.attempts == 2
    assert len(smtp_server.messages) == 1
