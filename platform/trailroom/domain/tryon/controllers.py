"""HTTP endpoints of try-on jobs. Thin: parse the request (multipart or JSON), call the service, answer."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import time
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ValidationException
from litestar.params import FromPath, HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from trailroom.core.errors import InvalidInput
from trailroom.core.vocabulary import (
    MAX_SAMPLES,
    TWO_GARMENT_MODES,
    GarmentPhotoType,
    OutputFormat,
    Quality,
    TryOnMode,
    listed,
    values,
)
from trailroom.domain.accounts.guards import ALLOW_PUBLISHABLE, principal_of, requires_account
from trailroom.domain.analytics.middleware import CREDITS_USED
from trailroom.domain.tryon.access import HistoryFilter, JobReader
from trailroom.domain.tryon.intake import Submission, TryOnOptions
from trailroom.domain.tryon.lifecycle import STATUS_CHANNEL
from trailroom.domain.tryon.models import TERMINAL, JobStatus, TryOnJob
from trailroom.domain.tryon.schemas import (
    Base64Image,
    Base64Response,
    BatchRequest,
    BatchResponse,
    HistoryResponse,
    ShopperIdResponse,
    TryOnJobResponse,
    TryOnOptionsIn,
    TryOnRequest,
)
from trailroom.domain.tryon.services import TryOnService
from trailroom.server.contract import PROBLEMS, READ_BODY, ReadBody
from trailroom.server.request_body import BODY_MEDIA_TYPES, JSON, MULTIPART

MAX_BODY = 48 * 1024 * 1024  # three images of 10 MiB as base64, with room for the rest
SSE_MAX_S = 600
OPTION_FIELDS = TryOnOptionsIn.__struct_fields__  # samples, seed, output_format, quality, garment_photo_type
IMAGE_FIELDS = ("person_image", "garment_image", "bottom_image")
# The problems of the try-on routes beyond those their shape implies (see server/contract.py).
IMAGE_PROBLEMS = (
    "missing_image",
    "image_not_decodable",
    "image_too_large",
    "image_too_small",
    "unsupported_image_type",
    "invalid_image_url",
    "image_url_forbidden",
    "image_url_unreachable",
)
OPTION_PROBLEMS = ("invalid_option", "invalid_mode", "idempotency_key_reused", "invalid_shopper_id")
CREATE_PROBLEMS = {
    402: ("out_of_credits",),
    403: ("full_mode_requires_paid_plan",),
    422: (*OPTION_PROBLEMS, *IMAGE_PROBLEMS),
    429: ("concurrency_limited", "shopper_limit_reached"),
}
BATCH_PROBLEMS = {**CREATE_PROBLEMS, 422: (*CREATE_PROBLEMS[422], "invalid_batch")}
NO_SUCH_TRYON = {404: ("tryon_not_found",)}
# What a publishable key reads its shopper's job with (ignored for sessions and secret keys).
ShopperIdHeader = Annotated[str | None, HeaderParameter(name="X-Shopper-ID", max_length=128)]
ClientSecretHeader = Annotated[str | None, HeaderParameter(name="X-Client-Secret", max_length=128)]


class KeepAlive(ServerSentEventMessage):
    """A comment line only: keeps proxies from closing an idle stream, dispatches no event."""

    def encode(self) -> bytes:
        return b": keep-alive\r\n\r\n"


def provide_tryon(state: State) -> TryOnService:
    service: TryOnService = state.services.tryon
    return service


async def provide_reader(
    request: Request[Any, Any, Any],
    state: State,
    shopper: ShopperIdHeader = None,
    client_secret: ClientSecretHeader = None,
) -> JobReader:
    """Who reads a job: the account, or a publishable key's shopper with the job's client secret."""
    tryon: TryOnService = state.services.tryon
    return tryon.jobs.reader(principal_of(request), shopper_token=shopper, client_secret=client_secret)


def _client_info(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Who is calling, as the request says: kept on the job and used for the shopper limits."""
    return {
        "origin": request.headers.get("origin"),
        "shopper_id": (request.headers.get("x-shopper-id") or "").strip()[:128] or None,
        "ip": request.client.host if request.client else None,
        # The shopper's address as a merchant's server reports it when proxying (trusted for secret keys only).
        "shopper_ip": _ip_or_none(request.headers.get("x-shopper-ip")),
    }


def _ip_or_none(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def _decode(body: bytes, kind: type[Any]) -> Any:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise ValidationException(detail=str(exc), extra=[{"message": str(exc), "source": "body"}]) from exc
    except msgspec.DecodeError as exc:
        raise ValidationException(detail="The body is not valid JSON.") from exc


async def _form_request(request: Request[Any, Any, Any]) -> tuple[dict[str, Any], dict[str, bytes | str]]:
    """A multipart form as (options, images); image fields may be files or JSON-style strings."""
    form = await request.form()
    images: dict[str, bytes | str] = {}
    fields: dict[str, Any] = {}
    for name, value in form.multi_items():
        if name in IMAGE_FIELDS:
            images[name] = await value.read() if isinstance(value, UploadFile) else str(value)
        elif isinstance(value, UploadFile):
            raise InvalidInput(f"{name} must be a plain field, not a file.", code="invalid_option", field=name)
        else:
            fields[name] = value
    return fields, images


def _form_options(fields: dict[str, Any]) -> TryOnRequest:
    """Form fields are text: check them with the JSON schema's types and rules (numbers from text)."""
    unknown = set(fields) - {"mode", *OPTION_FIELDS}
    if unknown:
        raise ValidationException(detail=f"Unknown fields: {', '.join(sorted(unknown))}")
    placeholders = {"person_image": "-", "garment_image": "-"}  # the images are checked on their own
    try:
        return msgspec.convert({**fields, **placeholders}, TryOnRequest, strict=False)
    except msgspec.ValidationError as exc:
        raise ValidationException(detail=str(exc), extra=[{"message": str(exc), "source": "body"}]) from exc


class TryOnController(Controller):
    path = "/api/v1/tryon"
    tags = ["Try-on"]
    guards = [requires_account]
    dependencies = {"tryon": Provide(provide_tryon, sync_to_thread=False), "reader": Provide(provide_reader)}

    @staticmethod
    def _respond(tryon: TryOnService, job: TryOnJob, *, with_client_secret: bool = False) -> TryOnJobResponse:
        urls = (
            [tryon.jobs.result_url(job, i) for i in range(len(job.results))]
            if job.status == JobStatus.COMPLETED
            else []
        )
        return TryOnJobResponse.of(job, urls, tryon.jobs.client_secret(job) if with_client_secret else None)

    async def _submission(
        self, tryon: TryOnService, options: dict[str, Any], images: dict[str, bytes | str]
    ) -> Submission:
        for required in ("person_image", "garment_image"):
            if required not in images:
                raise InvalidInput(f"{required} is required.", code="missing_image", field=required)
        loaded = await asyncio.gather(*(tryon.intake.load_image(value, field) for field, value in images.items()))
        by_field = dict(zip(images, loaded, strict=True))
        return Submission(
            options=TryOnOptions(**options),
            person=by_field["person_image"],
            garment=by_field["garment_image"],
            bottom=by_field.get("bottom_image"),
        )

    @post(
        "/",
        status_code=HTTP_202_ACCEPTED,
        summary="Start a try-on (multipart upload, or JSON with URLs / base64)",
        description=(
            "Send `multipart/form-data` with files `person_image`, `garment_image` (and `bottom_image` for "
            f"`mode={listed(sorted(TWO_GARMENT_MODES))}`), or JSON with those fields as https URLs, data URIs or "
            f"base64. Options: `mode` ({', '.join(TryOnMode)}), `samples` (1-{MAX_SAMPLES}, each charged), `seed`, "
            f"`output_format` ({', '.join(OutputFormat)}), `quality` ({', '.join(Quality)}), `garment_photo_type` "
            f"({', '.join(GarmentPhotoType)}). "
            "An `Idempotency-Key` header makes retries safe: the same key and body return the same job. "
            "With a publishable key, `X-Shopper-ID` must be an id from `POST /api/v1/shoppers`, and the answer "
            "carries the job's `client_secret`: only that shopper reads the job, with it in `X-Client-Secret`."
        ),
        opt={
            ALLOW_PUBLISHABLE: True,
            BODY_MEDIA_TYPES: (MULTIPART, JSON),
            READ_BODY: ReadBody(TryOnRequest, file_fields=IMAGE_FIELDS),
            PROBLEMS: CREATE_PROBLEMS,
        },
        request_max_body_size=MAX_BODY,
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        tryon: NamedDependency[TryOnService],
        idempotency_key: Annotated[
            str | None, HeaderParameter(name="Idempotency-Key", min_length=1, max_length=255)
        ] = None,
    ) -> Response[TryOnJobResponse]:
        # Any other media type was refused with 415 before this ran (server/request_body.py).
        if request.content_type[0] == MULTIPART:
            fields, images = await _form_request(request)
            parsed = _form_options(fields)
        else:
            parsed = _decode(await request.body(), TryOnRequest)
            images = {"person_image": parsed.person_image, "garment_image": parsed.garment_image}
            if parsed.bottom_image is not None:
                images["bottom_image"] = parsed.bottom_image
        options = {"mode": parsed.mode, **{name: getattr(parsed, name) for name in OPTION_FIELDS}}
        submission = await self._submission(tryon, options, images)
        job, replayed = await tryon.intake.submit(
            principal_of(request), submission, idempotency_key=idempotency_key, client=_client_info(request)
        )
        headers = {"Location": f"/api/v1/tryon/{job.id}"}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        else:
            request.state[CREDITS_USED] = job.credits_charged
        body = self._respond(tryon, job, with_client_secret=True)
        return Response(body, status_code=HTTP_202_ACCEPTED, headers=headers)

    @post(
        "/batch",
        status_code=HTTP_202_ACCEPTED,
        summary="Start many try-ons at once (all or none charged)",
        opt={BODY_MEDIA_TYPES: (JSON,), READ_BODY: ReadBody(BatchRequest), PROBLEMS: BATCH_PROBLEMS},
        request_max_body_size=MAX_BODY * 4,
    )
    async def batch(self, request: Request[Any, Any, Any], tryon: NamedDependency[TryOnService]) -> BatchResponse:
        parsed: BatchRequest = _decode(await request.body(), BatchRequest)
        shared = {name: getattr(parsed, name) for name in OPTION_FIELDS}
        submissions = []
        for index, item in enumerate(parsed.items):
            person = item.person_image or parsed.person_image
            if person is None:
                raise InvalidInput(
                    f"items[{index}] has no person_image and the batch has none.",
                    code="missing_image",
                    field=f"items[{index}].person_image",
                )
            images: dict[str, bytes | str] = {"person_image": person, "garment_image": item.garment_image}
            if item.bottom_image is not None:
                images["bottom_image"] = item.bottom_image
            submissions.append(await self._submission(tryon, {"mode": item.mode or parsed.mode, **shared}, images))
        jobs = await tryon.intake.submit_batch(principal_of(request), submissions, client=_client_info(request))
        request.state[CREDITS_USED] = sum(job.credits_charged for job in jobs)
        return BatchResponse(batch_id=jobs[0].batch_id, jobs=[self._respond(tryon, job) for job in jobs])

    @get(
        "/history",
        summary="Past try-ons, newest first, with filters",
        opt={PROBLEMS: {422: ("invalid_filter", "invalid_cursor")}},
    )
    async def history(
        self,
        request: Request[Any, Any, Any],
        tryon: NamedDependency[TryOnService],
        # The rules are checked below (422 invalid_filter); `schema_extra` states them in the document.
        mode: Annotated[
            str | None, QueryParameter(max_length=10, schema_extra={"enum": list(values(TryOnMode))})
        ] = None,
        status: Annotated[
            str | None, QueryParameter(max_length=12, schema_extra={"enum": [s.value for s in JobStatus]})
        ] = None,
        since: Annotated[datetime | None, QueryParameter()] = None,
        until: Annotated[datetime | None, QueryParameter()] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> HistoryResponse:
        if mode is not None and mode not in values(TryOnMode):
            raise InvalidInput(f"mode must be {listed(TryOnMode)}", code="invalid_filter", field="mode")
        if status is not None and status not in {s.value for s in JobStatus}:
            raise InvalidInput("status is not a job status", code="invalid_filter", field="status")
        if since and until and since >= until:
            raise InvalidInput("since must be before until", code="invalid_filter", field="since")
        jobs, next_cursor = await tryon.jobs.history(
            principal_of(request).user_id,
            HistoryFilter(mode=mode, status=status, since=since, until=until),
            cursor=cursor,
            limit=limit,
        )
        return HistoryResponse(data=[self._respond(tryon, j) for j in jobs], next_cursor=next_cursor)

    @get(
        "/{job_id:str}",
        summary="A try-on's status (and signed result URLs once completed)",
        opt={ALLOW_PUBLISHABLE: True, PROBLEMS: NO_SUCH_TRYON},
    )
    async def status(
        self, job_id: FromPath[str], tryon: NamedDependency[TryOnService], reader: NamedDependency[JobReader]
    ) -> TryOnJobResponse:
        return self._respond(tryon, await tryon.jobs.get_for(reader, job_id))

    @get(
        "/{job_id:str}/base64",
        summary="The result images as base64",
        opt={PROBLEMS: {404: ("tryon_not_found", "results_gone"), 409: ("tryon_not_completed",)}},
    )
    async def base64_result(
        self, request: Request[Any, Any, Any], job_id: FromPath[str], tryon: NamedDependency[TryOnService]
    ) -> Base64Response:
        job = await tryon.jobs.get(principal_of(request).user_id, job_id)
        images = await tryon.jobs.result_images(job)
        return Base64Response(
            id=str(job.id),
            images=[
                Base64Image(media_type=i.media_type, width=i.width, height=i.height, data=base64.b64encode(b).decode())
                for i, b in images
            ],
        )

    @get(
        "/{job_id:str}/events",
        summary="Server-sent events: the try-on's status until it ends",
        opt={ALLOW_PUBLISHABLE: True, PROBLEMS: NO_SUCH_TRYON},
    )
    async def events(
        self, job_id: FromPath[str], tryon: NamedDependency[TryOnService], reader: NamedDependency[JobReader]
    ) -> ServerSentEvent:
        job = await tryon.jobs.get_for(reader, job_id)
        redis = tryon.resources.redis

        async def stream() -> AsyncGenerator[ServerSentEventMessage, None]:
            pubsub = redis.pubsub()
            await pubsub.subscribe(f"{STATUS_CHANNEL}{job.id}")
            try:
                deadline = time.monotonic() + SSE_MAX_S
                last = None
                while time.monotonic() < deadline:
                    current = await tryon.jobs.get_for(reader, job_id)
                    if current.status != last:
                        last = current.status
                        body = msgspec.json.encode(self._respond(tryon, current)).decode()
                        yield ServerSentEventMessage(data=body, event="status", id=f"{current.id}:{last.value}")
                    if current.status in TERMINAL:
                        return
                    # Wake on the worker's notice, or re-read every few seconds in case one was missed.
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                    if message is None:
                        yield KeepAlive()
            finally:
                await pubsub.unsubscribe()
                await pubsub.aclose()  # type: ignore[no-untyped-call]

        return ServerSentEvent(stream(), headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @post(
        "/{job_id:str}/cancel",
        status_code=200,
        summary="Cancel a queued try-on (credits are returned)",
        opt={PROBLEMS: {**NO_SUCH_TRYON, 409: ("tryon_not_cancelable",)}},
    )
    async def cancel(
        self, request: Request[Any, Any, Any], job_id: FromPath[str], tryon: NamedDependency[TryOnService]
    ) -> TryOnJobResponse:
        return self._respond(tryon, await tryon.jobs.cancel(principal_of(request).user_id, job_id))

    @delete(
        "/{job_id:str}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a try-on and its images",
        opt={PROBLEMS: {**NO_SUCH_TRYON, 409: ("tryon_in_progress",)}},
    )
    async def remove(
        self, request: Request[Any, Any, Any], job_id: FromPath[str], tryon: NamedDependency[TryOnService]
    ) -> None:
        await tryon.jobs.delete(principal_of(request).user_id, job_id)


class TryOnResultController(Controller):
    """Result images by signed URL: usable in <img> tags, no credentials but the signature."""

    path = "/api/v1/tryon"
    tags = ["Try-on"]
    dependencies = {"tryon": Provide(provide_tryon, sync_to_thread=False)}

    @get(
        "/{job_id:str}/result/{index:int}",
        summary="A result image (signed, expiring URL)",
        opt={PROBLEMS: {403: ("invalid_result_link",), 404: ("results_gone",)}},
    )
    async def result(
        self,
        job_id: FromPath[str],
        index: FromPath[int],
        tryon: NamedDependency[TryOnService],
        expires: Annotated[int, QueryParameter()],
        signature: Annotated[str, QueryParameter(max_length=128)],
    ) -> Response[bytes]:
        image, data = await tryon.jobs.signed_result(job_id, index, expires, signature)
        # The signature is the only credential, so any page may fetch it (the widget's download button).
        headers = {"Cache-Control": "private, max-age=3600", "Access-Control-Allow-Origin": "*"}
        return Response(data, media_type=image.media_type, headers=headers)


class ShopperController(Controller):
    """Shopper ids for the widget: the platform names each browser, so per-shopper caps mean something."""

    path = "/api/v1/shoppers"
    tags = ["Try-on"]
    guards = [requires_account]
    dependencies = {"tryon": Provide(provide_tryon, sync_to_thread=False)}

    @post(
        "/",
        status_code=201,
        summary="A new shopper id for this browser (publishable keys only)",
        description=(
            "The widget asks once per browser and key, keeps the id, and sends it as `X-Shopper-ID`. "
            "Ids are signed for the key; new ids per IP address and day are limited."
        ),
        opt={
            ALLOW_PUBLISHABLE: True,
            PROBLEMS: {403: ("publishable_key_required",), 429: ("shopper_id_limit_reached",)},
        },
    )
    async def issue(self, request: Request[Any, Any, Any], tryon: NamedDependency[TryOnService]) -> ShopperIdResponse:
        ip = request.client.host if request.client else None
        return ShopperIdResponse(shopper_id=await tryon.intake.issue_shopper_id(principal_of(request), ip))
