"""Reading the links the account mails carry, as their recipient would."""

from __future__ import annotations

import asyncio
import re

from trailroom.domain.mail.models import OutgoingMail

TOKEN_IN_LINK = {
    "password_reset": re.compile(r"/reset-password\?token=(tr_pr_[A-Za-z0-9_\-]+)"),
    "verify_email": re.compile(r"/verify-email\?token=(tr_ev_[A-Za-z0-9_\-]+)"),
}


async def mails_to(address: str, template: str) -> list[OutgoingMail]:
    return (
        await OutgoingMail.find(OutgoingMail.to == address, OutgoingMail.template == template)
        .sort("created_at")
        .to_list()
    )


async def wait_for_mails(address: str, template: str, count: int = 1, timeout_s: float = 10) -> list[OutgoingMail]:
    """The mails once there are `count` (reset mails are written after the answer is sent)."""
    async with asyncio.timeout(timeout_s):
        while len(found := await mails_to(address, template)) < count:
            await asyncio.sleep(0.05)
    return found


def token_in(mail: OutgoingMail) -> str:
    """The token of the mail's link; the text and the HTML carry the same one."""
    pattern = TOKEN_IN_LINK[mail.template]
    in_text = pattern.findall(mail.text)
    in_html = pattern.findall(mail.html)
    assert in_text, mail.text
    assert set(in_html) == set(in_text)
    return str(in_text[0])
