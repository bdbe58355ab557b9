"""The try-on fixtures the widget tests use: the scripted engine routed in for a test."""

from __future__ import annotations

from tests.tryon.conftest import scripted, use_scripted  # noqa: F401 - fixtures
