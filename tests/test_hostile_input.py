"""The HTTP edge under hostile input: bodies that are not UTF-8 or not of the route's media type, the
middleware's refusals in the access log, and the security headers on every answer (HSTS in production
over https only)."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar

from tests.helpers import PASSWORD, Account, login, new_key, signed_up
from tests.tryon.conftest import small_png
from trailroom.core.config import Settings
from trailroom.domain.accounts.models import Role
from trailroom.domain.credits.models import CreditTransaction
from trailroom.domain.services import Services
from trailroom.embedded.process import free_port
from trailroom.server.app import create_app
from trailroom.server.request_body import accepted_media_types

from .conftest import serve

INVALID_UTF8 = b'{"email":"\xff@x.com","password":"\xfe"}'
# Every route that takes a JSON body; the test below also finds them in the app, so new ones are covered.
KNOWN_JSON_ROUTES = {
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/register"),
    ("PATCH", "/api/v1/auth/me"),
    ("POST", "/api/v1/tryon"),
    ("POST", "/api/v1/tryon/batch"),
    ("POST", "/api/v1/webhooks"),
    ("POST", "/api/v1/api-keys/generate"),
}


def body_routes(app: Litestar) -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, path with ids filled in, media types taken) of every route that takes a body."""
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            accepted = accepted_media_types(handler)
            if accepted:
                path = re.sub(r"\{[^}]+\}", "0123456789abcdef01234567", route.path)
                found.extend((method, path, accepted) for method in sorted(handler.http_methods))
    return found


@pytest.fixture
async def admin(client: httpx.AsyncClient, services: Services) -> Account:
    """A super admin's session: it passes every route's guards, so the body is what gets judged."""
    await services.accounts.create_user(email="root@example.com", password=PASSWORD, name="Root", role=Role.SUPER_ADMIN)
    return await login(client, "root@example.com")


async def balance(client: httpx.AsyncClient, account: Account) -> tuple[int, int]:
    credits = await client.get("/api/v1/credits", headers=account.auth)
    assert credits.status_code == 200
    return credits.json()["balance"], await CreditTransaction.find_all().count()


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, (response.request.url, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == code
    assert problem["request_id"] == response.headers["x-request-id"]


async def test_invalid_utf8_in_a_json_string_is_a_400_on_every_json_route(
    client: httpx.AsyncClient, app: Litestar, admin: Account
) -> None:
    routes = [(m, p) for m, p, accepted in body_routes(app) if "application/json" in accepted]
    assert set(routes) >= KNOWN_JSON_ROUTES
    before = await balance(client, admin)
    for method, path in routes:
        response = await client.request(
            method, path, content=INVALID_UTF8, headers={**admin.auth, "Content-Type": "application/json"}
        )
        assert_problem(response, 400, "invalid_json")
    assert await balance(client, admin) == before


async def test_a_secret_key_request_with_invalid_utf8_is_refused_without_a_trace(
    client: httpx.AsyncClient, admin: Account, caplog: pytest.LogCaptureFixture
) -> None:
    key = (await new_key(client, admin))["key"]
    caplog.set_level(logging.DEBUG)
    for path in ("/api/v1/tryon", "/api/v1/tryon/batch"):
        response = await client.post(
            path, content=INVALID_UTF8, headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        )
        assert_problem(response, 400, "invalid_json")
    # A refusal, not a crash: nothing was logged as an error (which is where the key was printed).
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_body_of_another_media_type_is_a_415_on_every_route_that_takes_a_body(
    client: httpx.AsyncClient, app: Litestar, admin: Account
) -> None:
    routes = body_routes(app)
    assert {(m, p) for m, p, _ in routes} >= KNOWN_JSON_ROUTES
    before = await balance(client, admin)
    for method, path, _ in routes:
        for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
            headers = {**admin.auth, **({"Content-Type": content_type} if content_type else {})}
            response = await client.request(method, path, content=b'{"email": "a@example.com"}', headers=headers)
            assert_problem(response, 415, "unsupported_media_type")
    assert await balance(client, admin) == before


async def test_a_json_tryon_sent_as_text_plain_is_refused_and_not_charged(
    client: httpx.AsyncClient, services: Services
) -> None:
    account = await signed_up(client, "plain@example.com")
    key = (await new_key(client, account))["key"]
    image = "data:image/png;base64," + base64.b64encode(small_png()).decode()
    body = json.dumps({"mode": "top", "person_image": image, "garment_image": image})
    auth = {"Authorization": f"Bearer {key}"}
    before = await balance(client, account)
    for content_type in ("text/plain", "text/plain; charset=utf-8", "application/octet-stream"):
        response = await client.post("/api/v1/tryon", content=body, headers={**auth, "Content-Type": content_type})
        assert_problem(response, 415, "unsupported_media_type")
        batch = json.dumps({"mode": "top", "person_image": image, "items": [{"garment_image": image}]})
        response = await client.post(
            "/api/v1/tryon/batch", content=batch, headers={**auth, "Content-Type": content_type}
        )
        assert_problem(response, 415, "unsupported_media_type")
    assert await balance(client, account) == before
    # The same body as JSON is accepted (and charged): the refusal was about the media type alone.
    accepted = await client.post("/api/v1/tryon", content=body, headers={**auth, "Content-Type": "application/json"})
    assert accepted.status_code == 202, accepted.text
    assert (await balance(client, account))[0] == before[0] - accepted.json()["credits_charged"]


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [r.msg for r in caplog.records if r.name == "trailroom.access" and isinstance(r.msg, dict)]


async def test_authentication_refusals_are_logged_with_their_status(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    account = await signed_up(client, "refused@example.com")
    publishable = (await new_key(client, account, "publishable", ["https://shop.example"]))["key"]
    caplog.set_level(logging.INFO, logger="trailroom.access")
    refusals = [
        (await client.get("/api/v1/credits", headers={"Authorization": "Bearer tr_sk_not-a-real-key-at-all"}), 401),
        (await client.get("/api/v1/credits", headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401),
        (await client.get("/api/v1/credits", headers={"Authorization": "Bearer not-a-jwt"}), 401),
        (
            await client.get(
                "/api/v1/tryon/history",
                headers={"Authorization": f"Bearer {publishable}", "Origin": "https://evil.example"},
            ),
            403,
        ),
        (
            await client.options(
                "/api/v1/tryon",
                headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
            ),
            403,
        ),
    ]
    lines = {line["request_id"]: line for line in access_lines(caplog)}
    for response, status in refusals:
        assert response.status_code == status
        line = lines[response.headers["x-request-id"]]
        assert line["status"] == status, line
        assert isinstance(line["ms"], float)


async def test_unrouted_answers_are_in_the_access_log(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="trailroom.access")
    not_found = await client.get("/api/v1/nothing-here")
    wrong_method = await client.delete("/healthz")
    lines = {line["request_id"]: line for line in access_lines(caplog)}
    assert lines[not_found.headers["x-request-id"]]["status"] == 404
    assert lines[wrong_method.headers["x-request-id"]]["status"] == 405


def assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff", response.request.url
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["x-request-id"]


async def test_every_kind_of_answer_has_the_security_headers(client: httpx.AsyncClient) -> None:
    answers = [
        await client.get("/api/v1/nothing-here"),  # 404 (no route)
        await client.get("/nothing-here", headers={"Accept": "text/html"}),  # 404 page
        await client.delete("/healthz"),  # 405
        await client.get("/api/v1/credits"),  # 401 from a guard
        await client.get("/api/v1/credits", headers={"Authorization": "Bearer tr_sk_nope-nope-nope"}),  # middleware
        await client.post("/api/v1/auth/login", content=INVALID_UTF8, headers={"Content-Type": "application/json"}),
        await client.post("/api/v1/auth/login", content=b"{}", headers={"Content-Type": "text/plain"}),
        await client.get("/healthz"),
    ]
    assert [a.status_code for a in answers] == [404, 404, 405, 401, 401, 400, 415, 200]
    for answer in answers:
        assert_security_headers(answer)
        assert "strict-transport-security" not in answer.headers  # not production
    page = answers[1]
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]


async def test_no_hsts_outside_production_even_over_https(client: httpx.AsyncClient) -> None:
    # The test server trusts X-Forwarded-Proto from loopback (uvicorn's default): the scheme is https.
    response = await client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert "strict-transport-security" not in response.headers


@pytest.fixture
async def production_url(settings: Settings) -> AsyncIterator[str]:
    """The app as production configures it, behind a trusted proxy on loopback that reports the
    scheme. Without its lifespan: opening a second set of connections would rebind the documents
    (Beanie is process-wide) to connections closed when it stops; these answers need none."""
    production = settings.model_copy(update={"env": "production", "port": free_port()})
    application = create_app(production, configure_logs=False)
    options = {"proxy_headers": True, "forwarded_allow_ips": "127.0.0.1", "lifespan": "off"}
    async with serve(application, production.host, production.port, **options):
        yield f"http://{production.host}:{production.port}"


async def test_production_sends_hsts_over_https_only(production_url: str) -> None:
    async with httpx.AsyncClient(base_url=production_url, timeout=30) as http:
        https = {"X-Forwarded-Proto": "https"}
        answers = [
            await http.get("/healthz", headers=https),
            await http.get("/api/v1/nothing-here", headers=https),
            await http.delete("/healthz", headers=https),
        ]
        assert [a.status_code for a in answers] == [200, 404, 405]
        for answer in answers:
            assert_security_headers(answer)
            assert answer.headers["strict-transport-security"] == "max-age=31536000"
        plain = await http.get("/healthz")
        assert plain.status_code == 200
        assert_security_headers(plain)
        assert "strict-transport-security" not in plain.headers


async def test_what_the_schema_fuzz_found_answers_4xx(client: httpx.AsyncClient, admin: Account) -> None:
    """Reproducers of the 5xx the fuzz run found: a non-ASCII result signature, analytics dates at the
    edge of the calendar, and an empty Idempotency-Key (taken as a key that replayed other jobs)."""
    signature = await client.get("/api/v1/tryon/0123456789abcdef01234567/result/0?expires=1&signature=%C3%98")
    assert signature.status_code == 403
    assert signature.json()["code"] == "invalid_result_link"
    for path in ("usage", "credits", "endpoints"):
        for bound in ("to=0001-01-01T01:01:01.0Z", "from=9999-12-31T23:00:00Z&to=9999-12-31T23:59:59Z"):
            answer = await client.get(f"/api/v1/analytics/{path}?{bound}", headers=admin.auth)
            assert answer.status_code == 422, (path, bound, answer.text)
            assert answer.json()["code"] == "invalid_range"
    balance = (await client.get("/api/v1/credits", headers=admin.auth)).json()["balance"]
    files = {
        "person_image": ("me.png", small_png((90, 90, 90)), "image/png"),
        "garment_image": ("g.png", small_png((10, 60, 200)), "image/png"),
    }
    empty = await client.post(
        "/api/v1/tryon", headers={**admin.auth, "Idempotency-Key": ""}, files=files, data={"mode": "top"}
    )
    assert empty.status_code == 400, empty.text
    assert (await client.get("/api/v1/credits", headers=admin.auth)).json()["balance"] == balance
