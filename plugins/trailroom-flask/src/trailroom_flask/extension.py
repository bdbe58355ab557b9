"""The `TrailRoom` extension object: created with or without an app, state in `app.extensions["trailroom"]`."""

from __future__ import annotations

from flask import Flask, current_app

from trailroom_client import TrailRoom as TrailRoomClient
from trailroom_flask._config import EXTENSION_KEY, TrailRoomConfig, TrailRoomState
from trailroom_flask.views import blueprint, csrf_exempt_views
from trailroom_flask.widget import trailroom_widget

__all__ = ["EXTENSION_KEY", "TrailRoom", "TrailRoomState"]


class TrailRoom:
    """Flask extension for TrailRoom: `TrailRoom(app)` or `trailroom = TrailRoom()` then `init_app(app)`.

    Registers the blueprint (`<prefix>/tryon`, `<prefix>/tryon/<id>`, `<prefix>/webhooks`) and the
    Jinja global `trailroom_widget`. The secret key stays in `app.extensions["trailroom"]`.
    """

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        config = TrailRoomConfig.from_mapping(app.config)
        client = TrailRoomClient(
            api_key=config.api_key,
            base_url=config.base_url,
            timeout=config.timeout_s,
            max_retries=config.max_retries,
        )
        app.extensions[EXTENSION_KEY] = TrailRoomState(config=config, client=client)
        app.register_blueprint(blueprint, url_prefix=config.url_prefix or None)
        app.add_template_global(trailroom_widget, "trailroom_widget")
        # The proxy has its own CSRF check and the webhook a signature: exempt both from Flask-WTF.
        csrf = app.extensions.get("csrf")
        if csrf is not None and hasattr(csrf, "exempt"):
            for view in csrf_exempt_views():
                csrf.exempt(view)

    @staticmethod
    def state(app: Flask | None = None) -> TrailRoomState:
        """The state of `app` (default: the current app); raises if `init_app` was not called."""
        target = app if app is not None else current_app
        state = target.extensions.get(EXTENSION_KEY)
        if not isinstance(state, TrailRoomState):
            raise RuntimeError("TrailRoom is not initialised on this app: call TrailRoom(app) or init_app(app)")
        return state

    @property
    def client(self) -> TrailRoomClient:
        """The server-side API client of the current app (secret key), for the host's own calls."""
        return self.state().client
