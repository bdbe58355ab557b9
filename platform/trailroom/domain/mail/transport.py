"""SMTP delivery through aiosmtplib: one connection per message, the configured security mode and
timeout. Errors are sorted into transient (try again later) and permanent (never will work)."""

from __future__ import annotations

from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

import aiosmtplib

from trailroom.core.config import Settings
from trailroom.domain.mail.models import StoredAttachment

ERROR_LIMIT = 300  # characters of an SMTP reply kept on the mail


class SendFailure(Exception):
    """A send that did not go through. `transient`: the same message may succeed later.
    `reason` is safe to store and log: the server's reply or the kind of error, no credentials."""

    def __init__(self, transient: bool, reason: str) -> None:
        super().__init__(reason)
        self.transient = transient
        self.reason = reason


def build_message(
    *, sender: str, to: str, subject: str, text: str, html: str, attachments: Sequence[StoredAttachment]
) -> EmailMessage:
    """text/plain with a text/html alternative, inside multipart/mixed when there are attachments."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return message


def check_address(address: str) -> str:
    """One plain address (`a@b.example`): refused otherwise, so no header can be smuggled in."""
    cleaned = address.strip()
    if not cleaned or any(c in cleaned for c in '\r\n,;<>"') or " " in cleaned:
        raise ValueError("not a single email address")
    try:
        Address(addr_spec=cleaned)
    except (ValueError, IndexError) as exc:
        raise ValueError("not a single email address") from exc
    return cleaned


class SmtpTransport:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: EmailMessage) -> None:
        settings = self.settings
        try:
            await aiosmtplib.send(
                message,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username or None,
                password=settings.smtp_password or None,
                use_tls=settings.smtp_security == "tls",
                # "none" must not upgrade on its own either: the mode is what the operator chose.
                start_tls=settings.smtp_security == "starttls",
                timeout=settings.smtp_timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            replies = exc.recipients
            transient = bool(replies) and all(400 <= reply.code < 500 for reply in replies)
            first = replies[0] if replies else None
            raise SendFailure(
                transient, self._reply(first.code, first.message) if first else "recipients refused"
            ) from None
        except aiosmtplib.SMTPAuthenticationError as exc:
            # The server's reply only: some echo what was sent, so nothing of it is kept.
            raise SendFailure(400 <= exc.code < 500, f"SMTP authentication failed ({exc.code})") from None
        except aiosmtplib.SMTPResponseException as exc:
            raise SendFailure(400 <= exc.code < 500, self._reply(exc.code, exc.message)) from None
        except aiosmtplib.SMTPNotSupported as exc:
            raise SendFailure(False, f"SMTP server does not support: {self._safe(str(exc))}") from None
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPServerDisconnected) as exc:
            raise SendFailure(True, f"{type(exc).__name__}: {self._safe(str(exc))}") from None
        except aiosmtplib.SMTPException as exc:
            # The bare class: the server lacks what the settings demand (STARTTLS, AUTH). Retrying
            # cannot help, and falling back to less would send in the clear.
            raise SendFailure(False, self._safe(str(exc))) from None
        except (OSError, TimeoutError) as exc:
            # Connection refused, reset, timed out, TLS handshake: the server may be back later.
            raise SendFailure(True, f"{type(exc).__name__}: {self._safe(str(exc))}") from None

    def _reply(self, code: int, message: str) -> str:
        return f"{code} {self._safe(message)}"

    def _safe(self, text: str) -> str:
        """Shortened, on one line, and without the configured credentials should a server echo them."""
        if self.settings.smtp_password:
            text = text.replace(self.settings.smtp_password, "[redacted]")
        return " ".join(text.split())[:ERROR_LIMIT]
