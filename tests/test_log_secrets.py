"""No secret reaches a log line: the redaction of every event in both formats, a crash whose request
carries credentials, and the checker that searches the whole run's log lines (tests/log_secrets.py)."""

from __future__ import annotations

import io
import logging
import secrets
from collections.abc import AsyncIterator, Iterator

import httpx
import jwt
import pytest
from litestar import Litestar, Request, post

from tests.helpers import PASSWORD
from trailroom.core.logging import get_logger, log_formatter
from trailroom.embedded.process import free_port
from trailroom.server.problems import EXCEPTION_HANDLERS

from .conftest import serve
from .log_secrets import find_secrets, literal_secrets, sink_of

API_KEY = "tr_sk_" + secrets.token_urlsafe(32)
PUBLISHABLE_KEY = "tr_pk_" + secrets.token_urlsafe(32)
WEBHOOK_SECRET = "whsec_" + secrets.token_urlsafe(24)
ACCESS_TOKEN = jwt.encode({"sub": "6b10616fa3eda3e729840f23", "typ": "access"}, "k" * 32, algorithm="HS256")
REFRESH_TOKEN = secrets.token_urlsafe(32)
RAZORPAY_SECRET = secrets.token_urlsafe(18)
ALL = [API_KEY, PUBLISHABLE_KEY, WEBHOOK_SECRET, ACCESS_TOKEN, REFRESH_TOKEN, RAZORPAY_SECRET, PASSWORD]


def test_the_checker_finds_every_kind_of_secret() -> None:
    literals = literal_secrets()
    assert PASSWORD in literals  # the tests' passwords are collected from their source
    assert "New-Fitting-77" in literals
    lines = [f"x={API_KEY}", PUBLISHABLE_KEY, f"secret {WEBHOOK_SECRET}", f"cookie tr_access={ACCESS_TOKEN}", PASSWORD]
    finds = find_secrets(lines, literals)
    assert [f.split(":")[0] for f in finds] == ["line 1", "line 2", "line 3", "line 4", "line 5"]
    assert not any(PASSWORD in f or API_KEY in f for f in finds)  # the report does not repeat them
    assert find_secrets(["tr_sk_[redacted] whsec_[redacted] eyJhbGciOi…", "request status=401"], literals) == []


@pytest.fixture(params=["console", "json"])
def rendered(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """What the app's loggers write, rendered by production's formatter in one format."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(log_formatter(request.param, colors=False))
    logger = logging.getLogger("trailroom.test_secrets")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        logger.removeHandler(handler)


def test_events_are_redacted_in_both_formats(rendered: io.StringIO) -> None:
    log = get_logger("trailroom.test_secrets")
    headers = [(b"authorization", f"Bearer {API_KEY}".encode()), (b"cookie", f"tr_refresh={REFRESH_TOKEN}".encode())]
    log.debug("debug line", headers=headers, body={"email": "a@example.com", "password": PASSWORD})
    log.info(f"made key {API_KEY} for a shop", webhook={"secret": WEBHOOK_SECRET, "url": "https://shop.example/h"})
    log.warning("payment", razorpay_key_secret=RAZORPAY_SECRET, refresh_token=REFRESH_TOKEN, token=ACCESS_TOKEN)
    scope = {"headers": headers, "body": f'{{"password": "{PASSWORD}"}}'.encode()}
    try:
        raise RuntimeError(f"rejected {scope!r} with {PUBLISHABLE_KEY} for Bearer {ACCESS_TOKEN}")
    except RuntimeError:
        log.exception("structlog failure")
        logging.getLogger("trailroom.test_secrets").exception("stdlib failure %s", f"Authorization: Bearer {API_KEY}")
    output = rendered.getvalue()
    assert find_secrets(output.splitlines(), ALL) == []
    # The lines are still there and still say what happened.
    for text in ("debug line", "made key tr_sk_[redacted] for a shop", "structlog failure", "stdlib failure"):
        assert text in output
    assert output.count("Traceback (most recent call last)") == 2
    assert "https://shop.example/h" in output


@post("/crash")
async def crash(request: Request[object, object, object]) -> None:
    body = await request.body()
    # A bug whose message carries what the caller sent, as a careless error message would.
    raise RuntimeError(f"could not handle {body!r} from {request.headers.get('authorization')}")


@pytest.fixture
async def crashing_app(app: Litestar) -> AsyncIterator[str]:
    """An app with the platform's error handlers and logging (configured by the session's app) and a
    route that fails."""
    port = free_port()
    stand_in = Litestar(route_handlers=[crash], exception_handlers=EXCEPTION_HANDLERS, logging_config=None, debug=False)
    async with serve(stand_in, "127.0.0.1", port):
        yield f"http://127.0.0.1:{port}"


async def test_a_crash_logs_its_traceback_without_the_credentials_of_the_request(
    crashing_app: str, pytestconfig: pytest.Config
) -> None:
    sink = sink_of(pytestconfig)
    sink.file.flush()
    start = sink.path.stat().st_size
    headers = {"Authorization": f"Bearer {API_KEY}", "Cookie": f"tr_access={ACCESS_TOKEN}; tr_refresh={REFRESH_TOKEN}"}
    async with httpx.AsyncClient(base_url=crashing_app) as http:
        response = await http.post("/crash", json={"password": PASSWORD, "secret": WEBHOOK_SECRET}, headers=headers)
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    sink.file.flush()
    with sink.path.open(encoding="utf-8") as file:
        file.seek(start)
        written = file.read()
    assert "unhandled error" in written
    assert "RuntimeError: could not handle" in written
    assert find_secrets(written.splitlines(), ALL) == []


def test_litestar_logs_no_exception_and_shows_no_debug_page(app: Litestar) -> None:
    # Litestar's own exception logging prints the request; our handler logs the error once, redacted.
    assert app.logging_config is None
    assert app.debug is False
