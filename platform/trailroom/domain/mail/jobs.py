"""Background jobs of mail: one send attempt per job (SAQ retries transient failures with backoff),
and the sweep that queues again mails a crash or an outage left waiting."""

from __future__ import annotations

from typing import Any


async def send_mail(ctx: dict[str, Any], *, mail_id: str) -> str | None:
    """Send one stored mail (or keep it in the dev outbox). A transient SMTP failure raises
    `MailDeferred`, so SAQ runs the job again after its backoff; the last attempt marks it failed."""
    status = await ctx["services"].mail.deliver(mail_id)
    return None if status is None else str(status)


async def sweep_queued_mail(ctx: dict[str, Any]) -> int:
    """Cron (every 30 s): queue again mails still waiting to be sent whose job was lost."""
    queued: int = await ctx["services"].mail.sweep()
    return queued


async def mail_domain_events(ctx: dict[str, Any]) -> int:
    """Cron (every 10 s): mail account owners about new `credits.low` events, once per event."""
    written: int = await ctx["services"].event_mails.mail_pending()
    return written
