"""The Jinja global `trailroom_widget`: the widget script (once per page) and a `<trailroom-try-on>` element."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, g, url_for
from markupsafe import Markup, escape

from trailroom_client import DEFAULT_MODE

_ATTRIBUTE_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.:-]*$")
_RENDERED_FLAG = "_trailroom_widget_script_rendered"
WIDGET_PATH = "/widget/v1/trailroom.js"


def _attribute(name: str, value: Any) -> str:
    html_name = name.replace("_", "-").lower()
    if not _ATTRIBUTE_NAME.match(html_name) or html_name.startswith("on"):
        raise ValueError(f"not an allowed widget attribute name: {name!r}")
    if value is True:
        return f" {html_name}"
    text = str(value)
    if text.startswith(("tr_sk_", "whsec_")):
        raise ValueError(f"refusing to render a secret in the widget attribute {html_name!r}")
    return f' {html_name}="{escape(text)}"'


def trailroom_widget(garment_image: str, mode: str = DEFAULT_MODE, **attrs: Any) -> Markup:
    """HTML for one try-on button: `<script src="{PUBLIC_URL}/widget/v1/trailroom.js" defer>` the first
    time on a page (per request), then `<trailroom-try-on garment-image=… mode=… endpoint="<prefix>/tryon">`.

    Extra keyword arguments become attributes (`button_label="Try it"` → `button-label="Try it"`);
    values are HTML-escaped, `None`/`False` are left out, `True` renders a bare attribute. No key is
    ever rendered: the element talks to this app's proxy, which adds the secret key server side.
    """
    from trailroom_flask.extension import TrailRoom

    state = TrailRoom.state(current_app)
    parts: list[str] = []
    if not g.get(_RENDERED_FLAG, False):
        setattr(g, _RENDERED_FLAG, True)
        src = escape(state.config.public_url + WIDGET_PATH)
        parts.append(f'<script src="{src}" defer></script>')
    attributes = {
        "garment_image": garment_image,
        "mode": mode,
        "endpoint": url_for("trailroom.create_tryon"),
        **attrs,
    }
    rendered = "".join(_attribute(k, v) for k, v in attributes.items() if v is not None and v is not False)
    parts.append(f"<trailroom-try-on{rendered}></trailroom-try-on>")
    return Markup("\n".join(parts))  # noqa: S704 - every value above is escaped
