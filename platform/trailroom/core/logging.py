"""Structured logging: every line is a structlog event carrying the bound context (request id, job id).

No secret reaches a line: `redact_secrets` runs on every event, ours and the standard library's
(uvicorn, saq, pymongo), after exceptions are turned into plain text and before rendering, in both
formats. It blanks the values of sensitive fields (passwords, tokens, keys, cookies, ...) and
anything shaped like a credential wherever it appears (in a message, a value or a traceback).
Tracebacks are plain text without local variables: a frame's locals hold requests and their headers.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

import structlog

REDACTED = "[redacted]"

# Field names whose values are secrets, whatever they look like (compared lower-case, `-` as `_`).
_SENSITIVE_NAME = re.compile(
    r"pass(word|wd|phrase)?|secret|token|authorization|cookie|credential|api_?key|signature|private_?key"
)
# Credentials recognised by their shape anywhere in a string; the first group, when there is one, is kept.
_SECRET_SHAPES = re.compile(
    "|".join(
        [
            r"(tr_[sp]k_)[A-Za-z0-9_\-]{8,}",  # API keys
            r"(tr_(?:pr|ev)_)[A-Za-z0-9_\-]{8,}",  # password-reset and email-verification tokens
            r"(whsec_)[A-Za-z0-9+/=_\-]{8,}",  # webhook signing secrets
            r"\b(sk-)[A-Za-z0-9_\-]{16,}",  # OpenAI API keys
            r"eyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*",  # JWTs (header and payload)
            r"\b((?i:bearer)\s+)[^\s'\",;]+",  # Authorization header values
            r"\b((?i:basic)\s+)[A-Za-z0-9+/]{6,}={0,2}",
            r"((?i:tr_access|tr_refresh|tr_csrf|tr_device)=)[^\s'\",;]+",  # our cookies
            r"((?i:signature|client_secret|password|token|api_key)=)[^\s&'\",;]+",  # query strings and forms
            r"([a-z][a-z0-9+.\-]*://[^\s:/@'\"]+:)[^\s@'\"]+(?=@)",  # user:password@ in URLs
            r"((?i:[\"']?(?:pass(?:word)?|secret|token|client_secret|refresh_token|access_token)[\"']?)\s*[:=]\s*[\"']?)"
            r"[^\s\"',;}]+",  # "password": "…" in JSON, repr or text
        ]
    )
)


# A cheap first look: every shape above contains one of these.
_MAYBE_SECRET = re.compile(r"tr_|whsec_|sk-|eyJ|://|=|(?i:bearer|basic|pass|secret|token)")


def _redact_text(text: str) -> str:
    if _MAYBE_SECRET.search(text) is None:
        return text
    return _SECRET_SHAPES.sub(lambda m: next((g for g in m.groups() if g), "") + REDACTED, text)


@functools.lru_cache(maxsize=1024)  # field names are few: each is judged once
def _sensitive(name: Any) -> bool:
    if isinstance(name, bytes):
        name = name.decode("latin-1")
    return isinstance(name, str) and _SENSITIVE_NAME.search(name.lower().replace("-", "_")) is not None


def _redact_value(value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, bytes | bytearray):
        return _redact_text(bytes(value).decode("latin-1"))
    if depth < 8 and isinstance(value, Mapping):
        return {k: REDACTED if _sensitive(k) else _redact_value(v, depth + 1) for k, v in value.items()}
    if depth < 8 and isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        # A (name, value) pair, as ASGI and HTTP clients keep headers.
        if len(items) == 2 and isinstance(items[0], str | bytes) and _sensitive(items[0]):
            return (items[0], REDACTED)
        return [_redact_value(item, depth + 1) for item in items]
    # Anything else is rendered with repr() by both renderers: redact that text now.
    return _redact_text(repr(value))


# Keys structlog's formatter adds for its own use: passed through untouched.
_FORMATTER_META = frozenset({"_record", "_from_structlog"})


def redact_secrets(_: Any, __: str, event_dict: Any) -> Any:
    """structlog processor: blank sensitive fields and credential-shaped text in every value."""
    return {
        key: value if key in _FORMATTER_META else REDACTED if _sensitive(key) else _redact_value(value)
        for key, value in event_dict.items()
    }


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        # Exceptions become plain text (no locals) here, so the redaction below sees them too.
        structlog.processors.format_exc_info,
        redact_secrets,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def log_formatter(fmt: str = "console", *, colors: bool | None = None) -> structlog.stdlib.ProcessorFormatter:
    """The formatter of every log line, for events of structlog and of the standard library alike."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty() if colors is None else colors,
            exception_formatter=structlog.dev.plain_traceback,
        )
    )
    return structlog.stdlib.ProcessorFormatter(
        # structlog's own events went through the same chain when they were logged (see below).
        foreign_pre_chain=_shared_processors(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )


class TrailRoomLogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `configure_logging` installs (and replaces when called again)."""


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    # Redacted as they are logged: every handler (ours, pytest's, anyone's) receives clean events.
    structlog.configure(
        processors=[*_shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    # Standard-library loggers (uvicorn, saq, pymongo) go through the same renderer and context.
    handler = TrailRoomLogHandler(sys.stderr)
    handler.setFormatter(log_formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, TrailRoomLogHandler)] + [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "saq"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Requests are logged once by our middleware, with the request id; uvicorn's line would repeat it.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    for noisy in ("pymongo", "httpx", "httpcore", "saq"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
