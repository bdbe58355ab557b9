"""Fixtures for mail: a real SMTP server (aiosmtpd) on a loopback port in the test's event loop,
recording what it accepts and refusing when told, and a MailService whose settings point at it."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from trailroom.core.config import Settings
from trailroom.domain.mail.models import OutgoingMail
from trailroom.domain.mail.services import MailService, RetryPolicy
from trailroom.domain.services import Services
from trailroom.embedded.process import free_port
from trailroom.resources import Resources

SMTP_USER = "mailer"
SMTP_PASSWORD = "Smtp-Pass-7731-secret"


@dataclass
class SmtpSink:
    """An SMTP server that keeps every accepted message. `refuse_next` answers that many DATA
    commands with a 451 (try later); `reject` answers every one with a 554 (never)."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    refuse_next: int = 0
    refused: int = 0
    reject: bool = False

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse_next > 0:
            self.refuse_next -= 1
            self.refused += 1
            return "451 4.3.0 Mailbox busy, try again later"
        if self.reject:
            return "554 5.7.1 Message rejected"
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 2.0.0 OK"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == SMTP_USER.encode()
            and auth_data.password == SMTP_PASSWORD.encode()
        )
        if ok:
            self.logins.append(SMTP_USER)
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 or 535

    async def wait_for(self, count: int, timeout_s: float = 20) -> list[EmailMessage]:
        async with asyncio.timeout(timeout_s):
            while len(self.messages) < count:
                await asyncio.sleep(0.05)
        return self.messages


@pytest.fixture
async def smtp_server() -> AsyncIterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="smtp.test", authenticator=sink.authenticate, auth_require_tls=False),
        "127.0.0.1",
        sink.port,
    )
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
def smtp_settings(settings: Settings, smtp_server: SmtpSink) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_server.port,
            "smtp_security": "none",
            "smtp_username": SMTP_USER,
            "smtp_password": SMTP_PASSWORD,
            "smtp_timeout_s": 5.0,
        }
    )


FAST_RETRIES = RetryPolicy(attempts=3, delay_s=0.2, max_delay_s=0.5)


@pytest.fixture
def smtp_mail(smtp_settings: Settings, resources: Resources) -> MailService:
    """A MailService sending through the test's SMTP server (the session's app keeps an outbox)."""
    return MailService(smtp_settings, resources.queues.default, retry=FAST_RETRIES)


@pytest.fixture
def smtp_services(services: Services, smtp_mail: MailService) -> Services:
    """The process's services with mail sent over SMTP, for real workers to run."""
    return dataclasses.replace(services, mail=smtp_mail)


async def mail_of(mail_id: object) -> OutgoingMail:
    found = await OutgoingMail.get(mail_id)
    assert found is not None
    return found
