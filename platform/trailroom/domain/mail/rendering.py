"""Mail templates: `templates/mail/<name>.html` and `<name>.txt`, each extending its mail layout,
the subject taken from the text template's `{% block subject %}`.

The environment follows the pages' conventions (same folder, trim/lstrip blocks, the `number`
filter) but knows nothing of HTTP. Only the HTML templates are autoescaped; a missing context
value is an error, never an empty spot in a mail someone reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from trailroom.core.formatting import number
from trailroom.web.assets import TEMPLATES_DIR

MAIL_DIR = "mail"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

# The templates the platform sends and the context each needs (checked before rendering, so a
# caller's mistake fails where it is made, not in a worker).
MAIL_TEMPLATES: dict[str, frozenset[str]] = {
    "receipt": frozenset(
        {"name", "credits", "amount_display", "invoice_number", "order_id", "payment_id", "billing_url"}
    ),
    "payment_failed": frozenset({"name", "amount_display", "reason", "billing_url"}),
    "credits_low": frozenset({"name", "balance", "threshold", "billing_url"}),
    "password_reset": frozenset({"name", "reset_url", "expires_minutes"}),
    "verify_email": frozenset({"name", "verify_url", "expires_hours"}),
}


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


@cache
def mail_environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["number"] = number
    return environment


def check_context(template: str, context: dict[str, Any]) -> None:
    """Refuse an unknown template or a context without the values the template needs."""
    if not _NAME.match(template):
        raise ValueError(f"not a mail template name: {template!r}")
    required = MAIL_TEMPLATES.get(template)
    if required is None:
        raise ValueError(f"unknown mail template {template!r} (known: {', '.join(sorted(MAIL_TEMPLATES))})")
    missing = required - context.keys()
    if missing:
        raise ValueError(f"mail template {template!r} needs {', '.join(sorted(missing))}")


def render_mail(template: str, context: dict[str, Any]) -> RenderedMail:
    """The subject, text and HTML of a mail. `context` also gets `site_url` from the caller."""
    check_context(template, context)
    environment = mail_environment()
    text_template = environment.get_template(f"{MAIL_DIR}/{template}.txt")
    html_template = environment.get_template(f"{MAIL_DIR}/{template}.html")
    subject_block = text_template.blocks.get("subject")
    if subject_block is None:
        raise ValueError(f"mail template {template}.txt has no subject block")
    subject = "".join(subject_block(text_template.new_context(dict(context))))
    # One line: a header cannot hold line breaks (EmailMessage would refuse them anyway).
    subject = " ".join(subject.split())
    if not subject:
        raise ValueError(f"mail template {template!r} renders an empty subject")
    return RenderedMail(
        subject=subject,
        text=text_template.render(context).strip() + "\n",
        html=html_template.render({**context, "subject": subject}),
    )
