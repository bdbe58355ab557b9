"""The blueprint: the shopper-facing try-on proxy and the webhook receiver.

CSRF: the proxy routes only answer requests that carry an `X-Requested-With` header (any non-empty
value; the widget sends `X-Requested-With: TrailRoom`). Browsers cannot add a custom header to a
cross-site request without a CORS preflight, which this blueprint never grants, so a forged form
post from another site is refused. When the browser sends `Origin`, it must also equal this app's
own origin. The webhook route has no CSRF check: its Standard Webhooks signature is the proof.
"""

from __future__ import annotations

import contextlib
import secrets
import time
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, session, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from trailroom_client import (
    DEFAULT_MODE,
    MODES,
    APIConnectionError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TrailRoomError,
    TryOnJob,
    WebhookVerificationError,
    is_mode,
    verify_webhook,
)
from trailroom_flask._config import EXTENSION_KEY, TrailRoomState
from trailroom_flask.signals import SIGNALS_BY_EVENT, webhook_received

blueprint = Blueprint("trailroom", __name__)

SESSION_KEY = "trailroom"
MAX_REMEMBERED_JOBS = 50
FORM_OVERHEAD_BYTES = 64 * 1024


def problem(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    """An RFC 9457 problem+json answer with a stable `code`, like the platform's."""
    titles = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 413: "Content Too Large"}
    body = {"type": "about:blank", "title": titles.get(status, "Error"), "status": status, "code": code}
    body["detail"] = detail
    response = jsonify(body)
    response.status_code = status
    response.content_type = "application/problem+json"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _state() -> TrailRoomState:
    state = current_app.extensions.get(EXTENSION_KEY)
    if not isinstance(state, TrailRoomState):
        raise RuntimeError("TrailRoom is not initialised on this app: call TrailRoom(app) or init_app(app)")
    return state


def _csrf_failure() -> Response | None:
    if not request.headers.get("X-Requested-With"):
        return problem(403, "csrf_failed", "the X-Requested-With header is required")
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/") != request.host_url.rstrip("/"):
        return problem(403, "csrf_failed", "cross-origin requests are not allowed")
    return None


def _session_state() -> dict[str, Any]:
    """`{"window_start", "count", "jobs", "shopper"}` of this browser session, window rolled over if due."""
    config = _state().config
    data = dict(session.get(SESSION_KEY) or {})
    now = int(time.time())
    if now - int(data.get("window_start", 0)) >= config.session_window_s:
        data["window_start"] = now
        data["count"] = 0
    data.setdefault("jobs", [])
    data.setdefault("shopper", secrets.token_urlsafe(12))
    return data


def job_json(job: TryOnJob) -> dict[str, Any]:
    """The job as the browser sees it: links point at this proxy, result images at the public URL."""
    return job.for_shopper(url_for("trailroom.tryon_status", job_id=job.id), _state().config.public_url)


def _api_error(exc: TrailRoomError) -> Response:
    """What the shopper may learn from an API error: never the merchant's key problems in detail."""
    if isinstance(exc, AuthenticationError | PermissionDeniedError):
        current_app.logger.error("TrailRoom refused the configured API key: %s", exc)
        return problem(502, "upstream_error", "the try-on service is not configured correctly")
    if isinstance(exc, APIConnectionError | ServerError):
        current_app.logger.warning("TrailRoom is unavailable: %s", exc)
        return problem(502, "upstream_error", "the try-on service is unavailable, try again later")
    if isinstance(exc, NotFoundError):
        return problem(404, "not_found", "no such try-on")
    headers = {}
    if isinstance(exc, RateLimitError) and exc.retry_after is not None:
        headers["Retry-After"] = str(int(exc.retry_after))
    status = exc.status if 400 <= exc.status < 500 else 502
    return problem(status, exc.code or "invalid_request", exc.detail or "the try-on was refused", headers)


def _read_upload(storage: FileStorage, limit: int) -> bytes | None:
    """The file's bytes, or None when it is larger than `limit`."""
    data = storage.stream.read(limit + 1)
    return None if len(data) > limit else data


@blueprint.post("/tryon")
def create_tryon() -> Response:
    """Forward the shopper's upload to TrailRoom with the secret key; answer the job (201)."""
    if (failure := _csrf_failure()) is not None:
        return failure
    config = _state().config
    too_large = problem(413, "file_too_large", f"each image may be at most {config.max_upload_bytes} bytes")
    body_limit = 2 * config.max_upload_bytes + FORM_OVERHEAD_BYTES
    if request.content_length is not None and request.content_length > body_limit:
        return too_large
    with contextlib.suppress(AttributeError):  # Flask >= 3.1: also bounds bodies sent without Content-Length
        request.max_content_length = body_limit
    try:
        files, form = request.files, request.form
    except RequestEntityTooLarge:
        return too_large

    mode = form.get("mode", DEFAULT_MODE)
    if not is_mode(mode):
        return problem(422, "invalid_mode", f"mode must be one of {', '.join(MODES)}")
    person_file = files.get("person_image")
    if person_file is None:
        return problem(422, "person_image_missing", "person_image (a file) is required")
    person = _read_upload(person_file, config.max_upload_bytes)
    garment: bytes | str | None
    if (garment_file := files.get("garment_image")) is not None:
        garment = _read_upload(garment_file, config.max_upload_bytes)
    else:
        garment = form.get("garment_image") or None
        if garment is None:
            return problem(422, "garment_image_missing", "garment_image (a file or an image URL) is required")
    if person is None or garment is None:
        return too_large

    state = _session_state()
    if state["count"] >= config.session_limit:
        retry_after = max(1, state["window_start"] + config.session_window_s - int(time.time()))
        return problem(
            429,
            "session_limit",
            f"at most {config.session_limit} try-ons per session per hour",
            {"Retry-After": str(retry_after)},
        )
    idempotency_key = (form.get("idempotency_key") or request.headers.get("Idempotency-Key") or "")[:200]
    try:
        job = _state().client.create_tryon(
            person,
            garment,
            mode=mode,
            idempotency_key=idempotency_key or str(uuid.uuid4()),
            shopper_id=state["shopper"],
            shopper_ip=request.remote_addr,
        )
    except TrailRoomError as exc:
        return _api_error(exc)
    if not job.replayed:
        state["count"] += 1
    if job.id not in state["jobs"]:
        state["jobs"] = [*state["jobs"], job.id][-MAX_REMEMBERED_JOBS:]
    session[SESSION_KEY] = state
    response = jsonify(job_json(job))
    response.status_code = 200 if job.replayed else 201
    return response


@blueprint.get("/tryon/<job_id>")
def tryon_status(job_id: str) -> Response:
    """The status of a try-on this browser session started; any other id is 404."""
    if (failure := _csrf_failure()) is not None:
        return failure
    jobs = (session.get(SESSION_KEY) or {}).get("jobs", [])
    if job_id not in jobs:
        return problem(404, "not_found", "no such try-on")
    try:
        job = _state().client.get_tryon(job_id)
    except TrailRoomError as exc:
        return _api_error(exc)
    return jsonify(job_json(job))


@blueprint.post("/webhooks")
def webhooks() -> Response:
    """Verify a delivery's Standard Webhooks signature, then send the signals; 400 when it does not verify."""
    secret = _state().config.webhook_secret
    if not secret:
        current_app.logger.error("a TrailRoom webhook arrived but TRAILROOM_WEBHOOK_SECRET is not set")
        return problem(404, "not_found", "webhooks are not configured")
    body = request.get_data(cache=False)
    try:
        event = verify_webhook(body, dict(request.headers.items()), secret)
    except WebhookVerificationError as exc:
        return problem(400, "invalid_signature", str(exc))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    webhook_received.send(app, event=event, data=data)
    signal = SIGNALS_BY_EVENT.get(str(event.get("type")))
    if signal is not None:
        signal.send(app, event=event, data=data)
    return Response(status=204)


def csrf_exempt_views() -> list[Any]:
    """The view functions Flask-WTF's CSRFProtect must skip (they check CSRF or a signature themselves)."""
    return [create_tryon, tryon_status, webhooks]
