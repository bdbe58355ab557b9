"""Every mail template renders, text and HTML, with exactly the context it documents; values are
escaped in HTML only; a missing value or unknown template is refused."""

from __future__ import annotations

from typing import Any

import pytest

from trailroom.domain.mail.rendering import MAIL_TEMPLATES, render_mail

CONTEXTS: dict[str, dict[str, Any]] = {
    "receipt": {
        "name": "Ada",
        "credits": 2100,
        "amount_display": "₹2,478.00",
        "invoice_number": "TR/2026-27/000123",
        "order_id": "order_1",
        "payment_id": "pay_1",
        "billing_url": "https://tr.example/app/billing",
    },
    "payment_failed": {
        "name": "Ada",
        "amount_display": "₹840.00",
        "reason": "The card was declined.",
        "billing_url": "https://tr.example/app/billing",
    },
    "credits_low": {"name": "Ada", "balance": 1, "threshold": 5, "billing_url": "https://tr.example/app/billing"},
    "password_reset": {"name": "Ada", "reset_url": "https://tr.example/reset-password?token=x", "expires_minutes": 60},
    "verify_email": {"name": "Ada", "verify_url": "https://tr.example/verify-email?token=x", "expires_hours": 48},
}
SUBJECTS = {
    "receipt": "Your TrailRoom receipt TR/2026-27/000123: 2,100 credits",
    "payment_failed": "Your TrailRoom payment of ₹840.00 did not go through",
    "credits_low": "Your TrailRoom credits are running low (1 left)",
    "password_reset": "Reset your TrailRoom password",
    "verify_email": "Confirm your email address for TrailRoom",
}


def test_the_documented_contexts_are_the_ones_tested() -> None:
    assert {name: frozenset(context) for name, context in CONTEXTS.items()} == MAIL_TEMPLATES


@pytest.mark.parametrize("name", sorted(MAIL_TEMPLATES))
def test_each_template_renders(name: str) -> None:
    context = {"site_url": "https://tr.example", **CONTEXTS[name]}
    mail = render_mail(name, context)
    assert mail.subject == SUBJECTS[name]
    assert mail.html.startswith("<!doctype html>")
    assert f"<title>{mail.subject}</title>" in mail.html
    assert "Hello Ada," in mail.text
    assert "Hello Ada," in mail.html
    assert mail.text.rstrip().endswith("https://tr.example")
    for value in CONTEXTS[name].values():
        if isinstance(value, str) and value.startswith("https://"):
            assert value in mail.text
            assert f'href="{value}"' in mail.html


def test_html_is_escaped_and_text_is_not() -> None:
    context = {"site_url": "https://tr.example", **CONTEXTS["payment_failed"], "reason": "<b>declined</b> & more"}
    mail = render_mail("payment_failed", context)
    assert "&lt;b&gt;declined&lt;/b&gt; &amp; more" in mail.html
    assert "<b>declined</b>" not in mail.html
    assert "Reason: <b>declined</b> & more" in mail.text


def test_missing_values_are_refused() -> None:
    with pytest.raises(ValueError, match="needs billing_url"):
        render_mail("credits_low", {"site_url": "x", "name": "A", "balance": 1, "threshold": 2})
    with pytest.raises(ValueError, match="not a mail template"):
        render_mail("../layout", {})
