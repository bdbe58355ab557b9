"""Helpers for the Django app's tests: a shopper's browser session, uploads, a signal recorder."""

from __future__ import annotations

import re
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.dispatch import Signal
from django.http import HttpResponse
from django.test import Client

from trailroom_django import signals

PROXY = "/trailroom/tryon/"


def shopper() -> tuple[Client, str]:
    """A browser session that opened a product page: its client and the CSRF token the widget got."""
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/product/")
    assert page.status_code == 200
    match = re.search(r'csrf-token="([^"]+)"', page.content.decode())
    assert match is not None
    return browser, match.group(1)


def upload(browser: Client, token: str | None, person: bytes, garment: bytes | str, mode: str = "top") -> HttpResponse:
    garment_field: Any = garment if isinstance(garment, str) else SimpleUploadedFile("shirt.png", garment, "image/png")
    headers = {"X-CSRFToken": token} if token else {}
    response: HttpResponse = browser.post(
        PROXY,
        {
            "person_image": SimpleUploadedFile("me.png", person, "image/png"),
            "garment_image": garment_field,
            "mode": mode,
        },
        headers=headers,
    )
    return response


class Recorder:
    def __init__(self, *watched: Signal) -> None:
        self.watched = watched
        self.calls: list[tuple[Signal, dict[str, Any]]] = []

    def __enter__(self) -> Recorder:
        for signal in self.watched:
            signal.connect(self._receiver(signal), weak=False, dispatch_uid=f"recorder-{id(self)}-{id(signal)}")
        return self

    def __exit__(self, *_: object) -> None:
        for signal in self.watched:
            signal.disconnect(dispatch_uid=f"recorder-{id(self)}-{id(signal)}")

    def _receiver(self, signal: Signal) -> Any:
        def receive(sender: Any, **kwargs: Any) -> None:
            self.calls.append((signal, kwargs))

        return receive


ALL_SIGNALS = (
    signals.webhook_received,
    signals.tryon_completed,
    signals.tryon_failed,
    signals.credits_low,
    signals.payment_completed,
)
