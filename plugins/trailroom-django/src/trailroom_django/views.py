"""The proxy the widget calls (the secret key stays on this server) and the webhook receiver.

- `POST tryon/`: CSRF-protected multipart upload (`person_image` file, `garment_image` file or
  http(s) URL, `mode`), bounded in size and per session, forwarded with the secret key.
- `GET tryon/<id>/`: the job's status, only for jobs this session created.
- `POST webhooks/`: CSRF-exempt; the Standard Webhooks signature is checked before any signal is sent.

Errors are RFC 9457 problem+json with a stable `code`, like the platform's own.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from trailroom_client import (
    DEFAULT_MODE,
    MODES,
    TrailRoomError,
    TryOnJob,
    WebhookVerificationError,
    is_mode,
    verify_webhook,
)
from trailroom_django.apps import trailroom_app
from trailroom_django.signals import EVENT_SIGNALS, webhook_received

logger = logging.getLogger("trailroom_django")

SESSION_KEY = "trailroom"
MAX_JOBS_PER_SESSION = 50  # remembered job ids (the oldest are forgotten)
FORM_OVERHEAD_BYTES = 64 * 1024  # multipart boundaries and the small text fields


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> JsonResponse:
    body = {"type": "about:blank", "title": title, "status": status, "code": code, "detail": detail, **extra}
    return JsonResponse(body, status=status, content_type="application/problem+json")


class _SizeLimitHandler(FileUploadHandler):
    """Stops reading any uploaded file past `limit` bytes (the rest of the body is drained, not kept)."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.seen = 0
        self.exceeded = False

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.seen = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.seen += len(raw_data)
        if self.seen > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> UploadedFile[bytes] | None:
        return None  # the next handler (memory or temporary file) builds the file


def _state(request: HttpRequest) -> dict[str, Any]:
    state = request.session.get(SESSION_KEY)
    if not isinstance(state, dict):
        state = {"shopper": secrets.token_urlsafe(12), "uploads": [], "jobs": []}
    return state


def _save(request: HttpRequest, state: dict[str, Any]) -> None:
    request.session[SESSION_KEY] = state
    request.session.modified = True


def _job_json(job: TryOnJob) -> dict[str, Any]:
    return job.for_shopper(reverse("trailroom:tryon-status", args=[job.id]), trailroom_app().settings.public_url)


def _upstream_problem(exc: TrailRoomError) -> JsonResponse:
    """The platform's answer for the shopper, without anything about this server's key."""
    if exc.status in (0, 401, 403) or exc.status >= 500:
        logger.error("TrailRoom API call failed: %s (request id %s)", exc, exc.request_id)
        return problem(502, "upstream_unavailable", "Bad Gateway", "The try-on service is unavailable right now.")
    return problem(
        exc.status,
        exc.code or "upstream_error",
        "Try-on request refused",
        exc.detail or "The try-on service refused the request.",
        request_id=exc.request_id,
    )


@csrf_exempt  # CSRF is checked by `_tryon_create`, after the size-limiting upload handler is installed
@require_POST
def tryon_create(request: HttpRequest) -> HttpResponse:
    limit = trailroom_app().settings.max_upload_bytes
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > 2 * limit + FORM_OVERHEAD_BYTES:
        return _too_large(limit)
    handler = _SizeLimitHandler(request, limit)
    request.upload_handlers.insert(0, handler)
    return _tryon_create(request, handler)


def _too_large(limit: int) -> JsonResponse:
    return problem(
        413, "image_too_large", "Payload Too Large", f"Each image must be at most {limit} bytes.", max_bytes=limit
    )


@csrf_protect
def _tryon_create(request: HttpRequest, handler: _SizeLimitHandler) -> HttpResponse:
    config = trailroom_app().settings
    files, form = request.FILES, request.POST  # parses the body (bounded by the handler)
    if handler.exceeded:
        return _too_large(config.max_upload_bytes)
    person = files.get("person_image")
    if person is None:
        return problem(422, "validation_error", "Unprocessable Content", "person_image (a photo file) is required.")
    garment: bytes | str
    garment_file = files.get("garment_image")
    if garment_file is not None:
        garment = garment_file.read()
    else:
        url = (form.get("garment_image") or "").strip()
        if not url.startswith(("https://", "http://")):
            return problem(
                422, "validation_error", "Unprocessable Content", "garment_image must be a file or an http(s) URL."
            )
        garment = url
    mode = form.get("mode") or DEFAULT_MODE
    if not is_mode(mode):
        return problem(
            422, "validation_error", "Unprocessable Content", f"mode must be one of {', '.join(sorted(MODES))}."
        )

    state = _state(request)
    now = time.time()
    recent = [t for t in state["uploads"] if now - t < config.session_window_s]
    if len(recent) >= config.session_limit:
        retry_after = max(1, math.ceil(config.session_window_s - (now - min(recent))))
        response = problem(
            429,
            "rate_limited",
            "Too Many Requests",
            f"At most {config.session_limit} try-ons per {config.session_window_s} s; try again later.",
            retry_after=retry_after,
        )
        response["Retry-After"] = str(retry_after)
        return response
    state["uploads"] = [*recent, now]
    _save(request, state)  # counted even when the platform refuses: a refused try-on is still an attempt

    try:
        job = trailroom_app().client.create_tryon(
            person.read(),
            garment,
            mode=mode,
            shopper_id=state["shopper"],
            shopper_ip=request.META.get("REMOTE_ADDR"),
        )
    except TrailRoomError as exc:
        return _upstream_problem(exc)
    state["jobs"] = [*state["jobs"], job.id][-MAX_JOBS_PER_SESSION:]
    _save(request, state)
    return JsonResponse(_job_json(job), status=202)


@require_GET
def tryon_status(request: HttpRequest, job_id: str) -> HttpResponse:
    if job_id not in _state(request)["jobs"]:
        return problem(404, "not_found", "Not Found", "No such try-on for this session.")
    try:
        job = trailroom_app().client.get_tryon(job_id)
    except TrailRoomError as exc:
        return _upstream_problem(exc)
    return JsonResponse(_job_json(job))


@csrf_exempt  # deliveries come from the platform, authenticated by their signature instead
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    secret = trailroom_app().settings.webhook_secret
    try:
        event = verify_webhook(request.body, request.headers, secret)
    except WebhookVerificationError as exc:
        return problem(400, "invalid_signature", "Bad Request", str(exc))
    event_type = str(event.get("type", ""))
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    kwargs = {"event_type": event_type, "data": data, "event": event, "webhook_id": request.headers["webhook-id"]}
    webhook_received.send(sender="trailroom", **kwargs)
    signal = EVENT_SIGNALS.get(event_type)
    if signal is not None:
        signal.send(sender="trailroom", **kwargs)
    return HttpResponse(status=204)
