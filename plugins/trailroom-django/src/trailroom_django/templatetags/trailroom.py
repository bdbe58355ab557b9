"""`{% load trailroom %}` then `{% trailroom_widget product.tryon_image mode="top" %}`.

Renders the widget script (once per page) and a `<trailroom-try-on>` element that calls this
site's proxy with the page's CSRF token. No key of any kind is rendered.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from trailroom_client import DEFAULT_MODE
from trailroom_django.apps import trailroom_app

register = template.Library()

_RENDERED = "_trailroom_script_rendered"


def _script_once(context: template.Context) -> bool:
    """True the first time on a page: remembered on the request, else on the render context."""
    request = context.get("request")
    holder: Any = request if request is not None else None
    if holder is not None:
        if getattr(holder, _RENDERED, False):
            return False
        setattr(holder, _RENDERED, True)
        return True
    if context.render_context.get(_RENDERED):
        return False
    context.render_context[_RENDERED] = True
    return True


@register.simple_tag(takes_context=True)
def trailroom_widget(
    context: template.Context, garment_image: str, mode: str = DEFAULT_MODE, **attrs: Any
) -> SafeString:
    """Extra keyword arguments become attributes (`label="Try it on"` → `label="Try it on"`;
    underscores become dashes). Every value is HTML-escaped."""
    request = context.get("request")
    csrf_token = get_token(request) if request is not None else str(context.get("csrf_token") or "")
    attributes: dict[str, str] = {
        "garment-image": str(garment_image),
        "mode": str(mode),
        "proxy-url": reverse("trailroom:tryon"),
        "csrf-token": csrf_token,
    }
    for name, value in attrs.items():
        attributes.setdefault(name.replace("_", "-"), str(value))
    element = format_html(
        "<trailroom-try-on{}></trailroom-try-on>",
        format_html_join("", ' {}="{}"', attributes.items()),
    )
    if not _script_once(context):
        return element
    script_url = f"{trailroom_app().settings.public_url}/widget/v1/trailroom.js"
    return format_html('<script src="{}" defer></script>{}', script_url, element)
