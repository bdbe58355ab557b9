"""The Flask extension's try-on proxy against the real TrailRoom app over loopback HTTP.

Flask's test client is synchronous: every call runs in a thread (`asyncio.to_thread`) so the test's
event loop, which serves the TrailRoom app, keeps answering the proxy's requests."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import running_workers
from tests.fakes.engines import ScriptedEngine
from tests.plugin_flask.conftest import PUBLIC_URL, FlaskFactory, Shop
from trailroom.domain.services import Services
from trailroom.domain.tryon.models import TryOnJob

HEADERS = {"X-Requested-With": "TrailRoom"}


async def post_tryon(
    client: FlaskClient, person: bytes, garment: bytes | str, headers: dict[str, str] | None = None, **form: str
) -> TestResponse:
    data: dict[str, Any] = {"person_image": (_stream(person), "me.png"), "mode": "top", **form}
    data["garment_image"] = (_stream(garment), "shirt.png") if isinstance(garment, bytes) else garment
    return await asyncio.to_thread(
        client.post, "/trailroom/tryon", data=data, headers=HEADERS if headers is None else headers
    )


def _stream(data: bytes) -> Any:
    return io.BytesIO(data)


async def test_an_upload_creates_a_job_in_trailroom_and_never_answers_the_key(
    flask_app: Flask, shop: Shop, use_scripted: ScriptedEngine, person_png: bytes, garment_png: bytes
) -> None:
    client = flask_app.test_client()
    response = await post_tryon(client, person_png, garment_png, idempotency_key="shop-upload-1")
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "queued"
    assert body["mode"] == "top"
    assert body["links"]["status"] == f"/trailroom/tryon/{body['id']}"
    raw = response.get_data(as_text=True)
    assert shop.secret_key not in raw
    assert "tr_sk_" not in raw
    assert all(shop.secret_key not in value for _, value in response.headers.items())

    [job] = await TryOnJob.find_all().to_list()
    assert str(job.id) == body["id"]
    assert job.mode == "top"
    assert job.client.get("shopper_id")  # the session's anonymous shopper id reached the platform

    # The same idempotency key replays the job instead of starting (and charging) a second one.
    again = await post_tryon(client, person_png, garment_png, idempotency_key="shop-upload-1")
    assert again.status_code == 200
    assert again.get_json()["id"] == body["id"]
    assert again.get_json()["replayed"] is True
    assert await TryOnJob.count() == 1

    status = await asyncio.to_thread(client.get, body["links"]["status"], headers=HEADERS)
    assert status.status_code == 200
    assert status.get_json()["id"] == body["id"]
    assert status.get_json()["status"] in {"queued", "processing", "completed"}


@contextmanager
def image_server(data: bytes) -> Iterator[str]:
    """A loopback HTTP server answering `data` as a PNG, like a shop's CDN."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/garment.png"
    finally:
        server.shutdown()
        server.server_close()


async def test_garment_image_may_be_a_url_field(
    flask_app: Flask, use_scripted: ScriptedEngine, person_png: bytes, garment_png: bytes
) -> None:
    with image_server(garment_png) as url:
        response = await post_tryon(flask_app.test_client(), person_png, url)
    assert response.status_code == 201, response.get_data(as_text=True)
    [job] = await TryOnJob.find_all().to_list()
    assert str(job.id) == response.get_json()["id"]

    # A garment URL the platform refuses comes back to the widget as its problem; nothing is created.
    refused = await post_tryon(flask_app.test_client(), person_png, "not-an-image-url")
    assert refused.status_code in {400, 422}, refused.get_data(as_text=True)
    assert refused.content_type == "application/problem+json"
    assert refused.get_json()["code"]
    assert await TryOnJob.count() == 1


async def test_an_oversize_upload_is_refused_and_nothing_is_created(
    make_flask_app: FlaskFactory, use_scripted: ScriptedEngine, person_png: bytes, garment_png: bytes
) -> None:
    assert len(person_png) > 1000
    app = make_flask_app(max_upload_bytes=1000)
    response = await post_tryon(app.test_client(), person_png, garment_png)
    assert response.status_code == 413
    assert response.content_type == "application/problem+json"
    assert response.get_json()["code"] == "file_too_large"
    assert await TryOnJob.count() == 0

    # A body far beyond the limit is refused from its Content-Length, before being parsed.
    huge = await post_tryon(app.test_client(), person_png * 5, garment_png * 5)
    assert huge.status_code == 413
    assert await TryOnJob.count() == 0


async def test_the_session_limit_answers_429_and_other_sessions_still_work(
    make_flask_app: FlaskFactory, use_scripted: ScriptedEngine, person_png: bytes, garment_png: bytes
) -> None:
    app = make_flask_app(session_limit=2)
    client = app.test_client()
    for _ in range(2):
        assert (await post_tryon(client, person_png, garment_png)).status_code == 201
    refused = await post_tryon(client, person_png, garment_png)
    assert refused.status_code == 429
    assert refused.content_type == "application/problem+json"
    assert refused.get_json()["code"] == "session_limit"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert await TryOnJob.count() == 2

    other = await post_tryon(app.test_client(), person_png, garment_png)
    assert other.status_code == 201
    assert await TryOnJob.count() == 3


async def test_status_of_another_sessions_job_is_404(
    flask_app: Flask, use_scripted: ScriptedEngine, person_png: bytes, garment_png: bytes
) -> None:
    owner = flask_app.test_client()
    created = (await post_tryon(owner, person_png, garment_png)).get_json()
    stranger = flask_app.test_client()
    response = await asyncio.to_thread(stranger.get, f"/trailroom/tryon/{created['id']}", headers=HEADERS)
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    mine = await asyncio.to_thread(owner.get, f"/trailroom/tryon/{created['id']}", headers=HEADERS)
    assert mine.status_code == 200


async def test_requests_without_the_csrf_header_or_from_another_origin_are_refused(
    flask_app: Flask, use_scripted: ScriptedEngine, person_png: bytes, garment_png: bytes
) -> None:
    client = flask_app.test_client()
    bare = await post_tryon(client, person_png, garment_png, headers={})
    assert bare.status_code == 403
    assert bare.get_json()["code"] == "csrf_failed"
    foreign = await post_tryon(
        client, person_png, garment_png, headers={**HEADERS, "Origin": "https://evil.example.net"}
    )
    assert foreign.status_code == 403
    assert await TryOnJob.count() == 0
    same = await post_tryon(client, person_png, garment_png, headers={**HEADERS, "Origin": "http://localhost"})
    assert same.status_code == 201


async def test_a_completed_job_links_results_at_the_public_url(
    flask_app: Flask, services: Services, use_scripted: ScriptedEngine, person_png: bytes, garment_png: bytes
) -> None:
    client = flask_app.test_client()
    created = (await post_tryon(client, person_png, garment_png)).get_json()
    async with running_workers(services):
        for _ in range(200):
            status = await asyncio.to_thread(client.get, created["links"]["status"], headers=HEADERS)
            if status.get_json()["status"] == "completed":
                break
            await asyncio.sleep(0.05)
    body = status.get_json()
    assert body["status"] == "completed"
    assert len(body["links"]["results"]) == 1
    assert body["links"]["results"][0].startswith(PUBLIC_URL + "/")


async def test_the_platform_caps_a_shopper_network_across_sessions(
    make_flask_app: FlaskFactory, shop: Shop, use_scripted: ScriptedEngine, person_png: bytes, garment_png: bytes
) -> None:
    """Starting new sessions does not get round the key's daily per-IP cap: the proxy names the
    shopper's address, and the platform counts it."""
    from trailroom.domain.accounts.models import ApiKey

    await ApiKey.get_pymongo_collection().update_many({}, {"$set": {"ip_daily_limit": 2}})
    app = make_flask_app()
    for _ in range(2):
        assert (await post_tryon(app.test_client(), person_png, garment_png)).status_code == 201
    capped = await post_tryon(app.test_client(), person_png, garment_png)
    assert capped.status_code == 429
    assert capped.get_json()["code"] == "shopper_limit_reached"
    assert int(capped.headers["Retry-After"]) > 0
    [job, _] = await TryOnJob.find_all().to_list()
    assert job.client["shopper_ip"] == "127.0.0.1"
