"""The app config: reads `settings.TRAILROOM` once and holds the one API client of the process."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps
from django.core.signals import setting_changed

from trailroom_client import TrailRoom
from trailroom_django.conf import TrailRoomSettings, load_settings


class TrailRoomConfig(AppConfig):
    name = "trailroom_django"
    label = "trailroom"
    verbose_name = "TrailRoom virtual try-on"

    settings: TrailRoomSettings
    _client: TrailRoom | None = None

    def ready(self) -> None:
        self.configure()
        setting_changed.connect(self._on_setting_changed, dispatch_uid="trailroom_django.settings")

    def configure(self) -> None:
        """(Re)read `settings.TRAILROOM`; the client is made again on next use."""
        self.settings = load_settings()
        if self._client is not None:
            self._client.close()
        self._client = None

    @property
    def client(self) -> TrailRoom:
        """The sync client with the secret key (httpx's client is safe to share between threads)."""
        if self._client is None:
            self._client = TrailRoom(api_key=self.settings.api_key, base_url=self.settings.base_url, max_retries=2)
        return self._client

    def _on_setting_changed(self, *, setting: str, **_: Any) -> None:
        if setting == "TRAILROOM":
            self.configure()


def trailroom_app() -> TrailRoomConfig:
    config = apps.get_app_config(TrailRoomConfig.label)
    assert isinstance(config, TrailRoomConfig)
    return config
