"""Try-on rules: accepting jobs, running them through an engine, results and their lifetime.

Invariants:
- Credits are taken exactly once for an accepted job: the charge, its ledger entry and the job
  are written in one transaction. An `Idempotency-Key` maps to one job per account (a unique
  index), so a retried request returns that job and charges nothing.
- A job that ends `failed` or `canceled` gives its credits back exactly once (a unique ledger
  reference per job), whether the engine refused, retries ran out, or a sweeper found it stuck.
- Every state change goes through the job's lifecycle (`lifecycle.py`): one conditional update on
  the expected current status, so a worker and the sweeper (or a cancel) can never both move a job.
- Inputs are deleted when a job ends; results when they expire or the job is deleted.
- An account (session or secret key) reads all of its jobs. A publishable key reads only a job it
  created, for the same platform-issued shopper id, with the client secret handed out at creation;
  anything else is "not found", so an id alone grants nothing. Job ids are random.
- The in-flight limit is counted inside the charging transaction: concurrent submissions on one
  account conflict on its credits document, so the loser retries and counts the winner's job.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from beanie import PydanticObjectId
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError
from saq import Queue
from saq.job import Status as SaqStatus

from trailroom.core.blobs import BlobStore
from trailroom.core.clock import utcnow
from trailroom.core.config import Settings
from trailroom.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from trailroom.core.ids import parse_object_id, random_object_id
from trailroom.core.limits import LimitPolicies, jobs_in_flight
from trailroom.core.logging import get_logger
from trailroom.core.mongo import MONGO_UNAVAILABLE
from trailroom.core.pagination import NEWEST_FIRST, after_cursor, page_cursor
from trailroom.core.redis import REDIS_UNAVAILABLE
from trailroom.core.transactions import in_transaction
from trailroom.core.vocabulary import (
    DEFAULT_GARMENT_PHOTO_TYPE,
    DEFAULT_OUTPUT_FORMAT,
    DEFAULT_QUALITY,
    EXTENSION_OF_MEDIA_TYPE,
    MAX_SAMPLES,
    PAID_MODES,
    SEED_LIMIT,
    TWO_GARMENT_MODES,
    GarmentPhotoType,
    OutputFormat,
    Quality,
    TryOnMode,
    listed,
    values,
)
from trailroom.domain.accounts.models import User
from trailroom.domain.accounts.principal import Principal, Via
from trailroom.domain.credits.services import CreditService
from trailroom.domain.prompts.services import PromptService
from trailroom.domain.runtime_config.models import RuntimeConfig
from trailroom.domain.runtime_config.services import RuntimeConfigService
from trailroom.domain.tryon.images import (
    FetchPolicy,
    ImageLimits,
    ImageUrl,
    NormalizedImage,
    fetch_image,
    normalize_image_async,
    parse_image_reference,
)
from trailroom.domain.tryon.lifecycle import JobLifecycle
from trailroom.domain.tryon.models import IN_FLIGHT, JobError, JobStatus, StoredImage, TryOnJob
from trailroom.domain.tryon.shopper_ids import ShopperIds
from trailroom.domain.tryon.shopper_limits import Reservation, Shopper, ShopperLimiter
from trailroom.engines.base import EngineError, TryOnEngine, TryOnInput
from trailroom.engines.registry import create_engine
from trailroom.resources import Resources

log = get_logger("trailroom.tryon")

MAX_BATCH = 20
RESULT_URL_TTL_S = 3600
# A running attempt proves it is alive this often; the sweeper retries one silent for STALE_AFTER_S.
HEARTBEAT_S = 3.0
STALE_AFTER_S = 15.0
# A queued job the queue has not started after this long is checked against the queue (lost entries).
REQUEUE_AFTER_S = 15.0
# A worker claims a job in the database within moments of taking it from the queue.
CLAIM_WITHIN_S = 5.0
# The API stores a job's images right after accepting it; one without them after this is orphaned.
STORE_WITHIN_S = 60.0


@dataclass(frozen=True)
class TryOnOptions:
    mode: str
    samples: int = 1
    seed: int | None = None
    output_format: str = DEFAULT_OUTPUT_FORMAT.value
    quality: str = DEFAULT_QUALITY.value
    garment_photo_type: str = DEFAULT_GARMENT_PHOTO_TYPE.value


@dataclass(frozen=True)
class Submission:
    options: TryOnOptions
    person: NormalizedImage
    garment: NormalizedImage
    bottom: NormalizedImage | None = None

    def fingerprint(self) -> str:
        """What makes two requests "the same" for an idempotency key: options and image contents."""
        digest = hashlib.sha256(json.dumps(self.options.__dict__, sort_keys=True).encode())
        for image in (self.person, self.garment, self.bottom):
            digest.update(hashlib.sha256(image.data).digest() if image else b"-")
        return digest.hexdigest()


@dataclass(frozen=True)
class JobReader:
    """Who asks for a job. `key_id`, `shopper_id` and `client_secret` are set for publishable keys only."""

    account_id: PydanticObjectId
    key_id: PydanticObjectId | None = None
    shopper_id: str | None = None
    client_secret: str | None = None


@dataclass(frozen=True)
class HistoryFilter:
    mode: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def check_options(options: TryOnOptions, *, has_bottom: bool, user: User) -> None:
    """The rules on a request's options, before anything is stored or charged."""

    def bad(field: str, detail: str, code: str = "invalid_option") -> InvalidInput:
        return InvalidInput(detail, code=code, field=field)

    if options.mode not in values(TryOnMode):
        raise bad("mode", f"mode must be one of {', '.join(TryOnMode)}", "invalid_mode")
    if not 1 <= options.samples <= MAX_SAMPLES:
        raise bad("samples", f"samples must be between 1 and {MAX_SAMPLES}")
    if options.seed is not None and not 0 <= options.seed < SEED_LIMIT:
        raise bad("seed", f"seed must be between 0 and {SEED_LIMIT - 1}")
    for field, vocabulary in (
        ("output_format", OutputFormat),
        ("quality", Quality),
        ("garment_photo_type", GarmentPhotoType),
    ):
        if getattr(options, field) not in values(vocabulary):
            raise bad(field, f"{field} must be {listed(values(vocabulary))}")
    mode = TryOnMode(options.mode)
    if mode in TWO_GARMENT_MODES:
        if not has_bottom:
            raise bad(
                "bottom_image",
                f"mode {mode} needs bottom_image (the trousers or skirt) besides garment_image",
                "missing_image",
            )
    elif has_bottom:
        raise bad("bottom_image", f"bottom_image is only for mode {listed(sorted(TWO_GARMENT_MODES))}")
    if mode in PAID_MODES and not user.is_paying:
        free = listed(m for m in TryOnMode if m not in PAID_MODES)
        raise Forbidden(
            f"Full-outfit try-ons are for accounts that have bought credits; use {free}.",
            code="full_mode_requires_paid_plan",
        )


class TryOnService:
    def __init__(
        self,
        resources: Resources,
        credits: CreditService,
        config: RuntimeConfigService,
        prompts: PromptService,
        blobs: BlobStore,
        http: httpx.AsyncClient,
    ) -> None:
        self.resources = resources
        self.settings: Settings = resources.settings
        self.credits = credits
        self.config = config
        self.prompts = prompts
        self.blobs = blobs
        self.http = http
        self.lifecycle = JobLifecycle(resources, credits, blobs)
        self.limits = ImageLimits(max_bytes=self.settings.image_max_bytes)
        self.shoppers = ShopperLimiter(resources.redis)
        self.limit_policies = LimitPolicies(self.settings)
        self._secret = self.settings.resolved_secret_key().encode()
        self.shopper_ids = ShopperIds(self._secret)
        self.fetch_policy = FetchPolicy(
            allow_http=self.settings.url_fetch_allow_http, allow_loopback=self.settings.url_fetch_allow_loopback
        )
        self._engines: dict[tuple[Any, ...], TryOnEngine] = {}
        # Decoding a large photo takes tens of MB: bound how many this process decodes at once.
        self._decoding = asyncio.Semaphore(4)
        self._charge_locks = [asyncio.Lock() for _ in range(64)]  # striped by account

    @property
    def queue(self) -> Queue:
        return self.resources.queues.tryon

    # -- intake ------------------------------------------------------------------------------------

    async def load_image(self, value: bytes | str, field: str) -> NormalizedImage:
        """An uploaded file (bytes) or a JSON value (https URL, data URI, base64) as a clean image."""
        if isinstance(value, str):
            reference = parse_image_reference(
                value, limits=self.limits, field=field, allow_http=self.fetch_policy.allow_http
            )
            if isinstance(reference, ImageUrl):
                value = await fetch_image(
                    reference.url, limits=self.limits, policy=self.fetch_policy, client=self.http, field=field
                )
            else:
                value = reference.data
        async with self._decoding:
            return await normalize_image_async(value, self.limits, field=field)

    # -- accepting jobs ----------------------------------------------------------------------------

    async def submit(
        self,
        principal: Principal,
        submission: Submission,
        *,
        idempotency_key: str | None = None,
        client: dict[str, Any] | None = None,
    ) -> tuple[TryOnJob, bool]:
        """Accept one job. Returns the job and whether it is a replay of an earlier request."""
        fingerprint = submission.fingerprint()
        client = dict(client or {})
        if principal.via == Via.PUBLISHABLE_KEY:
            # The widget's shopper must be one the platform issued for this key; its idempotency keys
            # are its own, so one shopper can never replay (and so read) another's job.
            client["shopper_id"] = self.verified_shopper(principal, client.get("shopper_id"))
            if idempotency_key:
                idempotency_key = f"{principal.api_key_id}:{client['shopper_id']}:{idempotency_key}"
        if idempotency_key:
            existing = await self._by_idempotency_key(principal.user_id, idempotency_key)
            if existing is not None:
                return _replay(existing, fingerprint), True
        reservation = await self._reserve_for_shopper(principal, client)
        try:
            [job] = await self._accept(
                principal, [submission], idempotency_key=idempotency_key, fingerprint=fingerprint, client=client
            )
        except DuplicateKeyError:
            # A concurrent request with the same key won the race; nothing was charged for this one.
            await self.shoppers.release(reservation)
            existing = await self._by_idempotency_key(principal.user_id, idempotency_key or "")
            if existing is None:
                raise
            return _replay(existing, fingerprint), True
        except BaseException:
            await self.shoppers.release(reservation)
            raise
        return job, False

    def verified_shopper(self, principal: Principal, token: str | None) -> str:
        """The shopper of a publishable-key request, from the id the platform issued for that key."""
        shopper = self.shopper_ids.verify(str(principal.api_key_id), token)
        if shopper is None:
            raise InvalidInput(
                "Send the shopper id this key was given by POST /api/v1/shoppers in `X-Shopper-ID`.",
                code="invalid_shopper_id",
                field="X-Shopper-ID",
            )
        return shopper

    async def issue_shopper_id(self, principal: Principal, ip: str | None) -> str:
        """A new shopper id for a publishable key's browser; new ids per IP and day are capped."""
        if principal.via != Via.PUBLISHABLE_KEY:
            raise Forbidden(
                "Shopper ids are for the widget's publishable key; a server names its shoppers itself.",
                code="publishable_key_required",
            )
        await self.shoppers.count_new_shopper(
            str(principal.api_key_id), ip, self.limit_policies.shopper_ids_per_ip_daily
        )
        return self.shopper_ids.issue(str(principal.api_key_id))

    def client_secret(self, job: TryOnJob) -> str | None:
        """The per-job secret a publishable key reads its job with (None for jobs of other callers).
        Derived, not stored: an idempotent replay of the create call can hand it out again."""
        shopper = job.client.get("shopper_id")
        if job.api_key_id is None or job.via != Via.PUBLISHABLE_KEY or not shopper:
            return None
        message = f"tryon-client-secret:{job.id}:{job.api_key_id}:{shopper}".encode()
        return "tcs_" + hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:40]

    def reader(self, principal: Principal, *, shopper_token: str | None, client_secret: str | None) -> JobReader:
        if principal.via != Via.PUBLISHABLE_KEY:
            return JobReader(account_id=principal.user_id)
        return JobReader(
            account_id=principal.user_id,
            key_id=principal.api_key_id,
            shopper_id=self.shopper_ids.verify(str(principal.api_key_id), shopper_token),
            client_secret=client_secret,
        )

    async def _reserve_for_shopper(self, principal: Principal, client: dict[str, Any]) -> Reservation | None:
        """Count the try-on against the shopper's daily caps of the key. Widget calls (publishable key)
        always count, by the browser's shopper id and the connection's IP; a merchant's server (secret
        key) is counted when it says which shopper it acts for (`X-Shopper-ID` / `X-Shopper-IP`)."""
        api_key = principal.api_key
        if api_key is None:
            return None
        if principal.via == Via.PUBLISHABLE_KEY:
            shopper = Shopper(shopper_id=client.get("shopper_id"), ip=client.get("ip"))
        else:
            shopper = Shopper(shopper_id=client.get("shopper_id"), ip=client.get("shopper_ip"))
        caps = self.limit_policies.shopper_caps(api_key.shopper_daily_limit, api_key.ip_daily_limit)
        return await self.shoppers.reserve(str(api_key.id), shopper, caps)

    async def submit_batch(
        self, principal: Principal, submissions: list[Submission], *, client: dict[str, Any] | None = None
    ) -> list[TryOnJob]:
        """Accept many jobs at once: all are charged together, or none is created."""
        if not 1 <= len(submissions) <= MAX_BATCH:
            raise InvalidInput(f"A batch has 1 to {MAX_BATCH} items.", code="invalid_batch", field="items")
        return await self._accept(principal, submissions, idempotency_key=None, fingerprint=None, client=client)

    async def _by_idempotency_key(self, account_id: PydanticObjectId, key: str) -> TryOnJob | None:
        return await TryOnJob.find_one(TryOnJob.account_id == account_id, TryOnJob.idempotency_key == key)

    async def _accept(
        self,
        principal: Principal,
        submissions: list[Submission],
        *,
        idempotency_key: str | None,
        fingerprint: str | None,
        client: dict[str, Any] | None,
    ) -> list[TryOnJob]:
        user, user_id = principal.user, principal.user_id
        config = await self.config.current()
        for submission in submissions:
            check_options(submission.options, has_bottom=submission.bottom is not None, user=user)
        in_flight_cap = jobs_in_flight(user.max_jobs_in_flight, config.max_jobs_in_flight)
        batch_id = str(random_object_id()) if len(submissions) > 1 else None
        jobs = [
            self._new_job(principal, s, config, idempotency_key, fingerprint, batch_id, client or {})
            for s in submissions
        ]
        costs = [config.cost_of(s.options.mode, s.options.samples) for s in submissions]

        async def charge_and_create(session: AsyncClientSession) -> None:
            in_flight = await TryOnJob.find(
                {"account_id": user.id, "status": {"$in": list(IN_FLIGHT)}}, session=session
            ).count()
            in_flight_cap.check(in_flight, len(submissions))
            charge = await self.credits.spend(
                session,
                user_id,
                sum(costs),
                job_ids=[job.oid for job in jobs],
                description=_describe(submissions),
            )
            # Split the charge over the jobs, free credits first, so each refund returns its own part.
            free_left = charge.free
            for job, cost in zip(jobs, costs, strict=True):
                job.credits_charged = cost
                job.charged_free = min(free_left, cost)
                job.charged_purchased = cost - job.charged_free
                free_left -= job.charged_free
            for job in jobs:  # one by one: a duplicate idempotency key surfaces as DuplicateKeyError
                await job.insert(session=session)

        # Charges of one account conflict with each other (they update one document): queue them in
        # this process instead of letting them abort and retry against each other.
        async with self._charge_locks[hash(user_id) % len(self._charge_locks)]:
            await in_transaction(self.resources.mongo, charge_and_create)
        self.credits.changed(user_id)
        for job, submission in zip(jobs, submissions, strict=True):
            await self._store_inputs_and_enqueue(job, submission)
        return jobs

    def _new_job(
        self,
        principal: Principal,
        submission: Submission,
        config: RuntimeConfig,
        idempotency_key: str | None,
        fingerprint: str | None,
        batch_id: str | None,
        client: dict[str, Any],
    ) -> TryOnJob:
        options = submission.options
        job_id = random_object_id()
        inputs = {
            "person": _input_key(job_id, "person", submission.person),
            "garment": _input_key(job_id, "garment", submission.garment),
        }
        if submission.bottom is not None:
            inputs["bottom"] = _input_key(job_id, "bottom", submission.bottom)
        return TryOnJob(
            id=job_id,
            account_id=principal.user.id,
            api_key_id=principal.api_key.id if principal.api_key else None,
            via=principal.via,
            mode=options.mode,
            samples=options.samples,
            seed=options.seed if options.seed is not None else int.from_bytes(job_id.binary[-4:]) % 2**31,
            output_format=options.output_format,
            quality=options.quality,
            garment_photo_type=options.garment_photo_type,
            inputs=inputs,
            idempotency_key=idempotency_key,
            request_hash=fingerprint,
            batch_id=batch_id,
            client=client,
            max_attempts=config.max_attempts,
        )

    async def _store_inputs_and_enqueue(self, job: TryOnJob, submission: Submission) -> None:
        images = {"person": submission.person, "garment": submission.garment, "bottom": submission.bottom}
        try:
            for role, key in job.inputs.items():
                image = images[role]
                assert image is not None
                await self.blobs.put(key, image.data, image.media_type)
            await TryOnJob.get_pymongo_collection().update_one({"_id": job.id}, {"$set": {"inputs_stored": True}})
            job.inputs_stored = True
        except Exception as exc:
            log.exception("storing try-on inputs failed", job_id=str(job.id))
            await self.fail(
                job.oid,
                JobError(code="storage_failed", detail=f"Could not store the images: {exc}"),
                from_status=JobStatus.QUEUED,
            )
            raise
        await self.hand_off(job)

    # -- hand-off to the queue (outbox) --------------------------------------------------------------
    # An accepted job is in the database with `dispatched=False` before anything touches Redis. The
    # API then queues it at once if it can (`hand_off`); what it could not queue, the worker's
    # dispatcher queues (`dispatch_pending`), and `sweep` queues again what Redis lost.

    async def enqueue(self, job: TryOnJob, *, delay_s: float = 0, key_suffix: str = "") -> None:
        """Queue a job's current attempt and mark it dispatched. The SAQ key names the attempt, so
        enqueueing twice (the API and a dispatcher, or two dispatchers) queues it once."""
        config = await self.config.current()
        await self.queue.enqueue(
            "run_tryon",
            key=attempt_key(job) + key_suffix,
            job_id=str(job.id),
            timeout=config.timeout_s * job.samples + 30,
            retries=1,  # retries are ours: a new attempt is a new SAQ job
            scheduled=int(time.time() + delay_s) if delay_s else 0,
        )
        await TryOnJob.get_pymongo_collection().update_one(
            {"_id": job.id, "status": JobStatus.QUEUED, "attempts": job.attempts},
            {"$set": {"dispatched": True, "enqueued_at": utcnow()}},
        )

    async def hand_off(self, job: TryOnJob, *, delay_s: float = 0) -> bool:
        """Queue the job now if Redis answers. Best effort: the job is already accepted, and the
        dispatcher queues it once Redis is back."""
        try:
            await self.enqueue(job, delay_s=delay_s)
        except (*REDIS_UNAVAILABLE, *MONGO_UNAVAILABLE) as exc:
            log.warning("queue unavailable; the try-on waits for the dispatcher", job_id=str(job.id), error=repr(exc))
            return False
        return True

    async def dispatch_pending(self, *, grace_s: float = 1.0, limit: int = 200) -> int:
        """Queue the jobs accepted (or retried) but not handed to the queue. One indexed query; safe
        to run in every worker at once. `grace_s` leaves the API's own hand-off the first try."""
        due = utcnow() - timedelta(seconds=grace_s)
        pending = (
            await TryOnJob.find({"dispatched": False, "dispatch_at": {"$lte": due}})
            .sort("dispatch_at")
            .limit(limit)
            .to_list()
        )
        queued = 0
        for job in pending:
            if job.status == JobStatus.QUEUED and job.inputs_stored:
                await self.enqueue(job)
                queued += 1
            elif job.status != JobStatus.QUEUED:  # ended before it was queued: nothing to hand off
                await TryOnJob.get_pymongo_collection().update_one(
                    {"_id": job.id, "status": job.status}, {"$set": {"dispatched": True}}
                )
        return queued

    # -- reading -------------------------------------------------------------------------------

    async def get(self, account_id: PydanticObjectId, job_id: str) -> TryOnJob:
        """A job of the account (for its sessions and secret keys)."""
        object_id = parse_object_id(job_id)
        job = (
            await TryOnJob.find_one(TryOnJob.id == object_id, TryOnJob.account_id == account_id) if object_id else None
        )
        if job is None:
            raise _not_found()
        return job

    async def get_for(self, reader: JobReader, job_id: str) -> TryOnJob:
        """A job as `reader` may see it: the whole account's, or a publishable key's own shopper's."""
        job = await self.get(reader.account_id, job_id)
        if reader.key_id is None:
            return job
        expected = self.client_secret(job)
        if (
            expected is None
            or job.api_key_id != reader.key_id
            or reader.shopper_id is None
            or job.client.get("shopper_id") != reader.shopper_id
            or not hmac.compare_digest(expected, reader.client_secret or "")
        ):
            raise _not_found()
        return job

    async def history(
        self, account_id: PydanticObjectId, filters: HistoryFilter, *, cursor: str | None, limit: int
    ) -> tuple[list[TryOnJob], str | None]:
        query: dict[str, Any] = {"account_id": account_id, **after_cursor(cursor)}
        if filters.mode:
            query["mode"] = filters.mode
        if filters.status:
            query["status"] = filters.status
        if filters.since or filters.until:
            query["created_at"] = {
                **({"$gte": filters.since} if filters.since else {}),
                **({"$lt": filters.until} if filters.until else {}),
            }
            if "$or" in query:  # combine the cursor's condition with the date range
                query = {"$and": [{k: v for k, v in query.items() if k != "$or"}, {"$or": query["$or"]}]}
        fetched = await TryOnJob.find(query).sort(NEWEST_FIRST).limit(limit + 1).to_list()  # type: ignore[arg-type]
        return page_cursor(fetched, limit)

    async def result_images(self, job: TryOnJob) -> list[tuple[StoredImage, bytes]]:
        if job.status != JobStatus.COMPLETED:
            raise Conflict(
                f"The try-on is {job.status.value}; results exist once it is completed.",
                code="tryon_not_completed",
                status=job.status.value,
            )
        if not job.results:
            raise NotFound("The results of this try-on have expired or were deleted.", code="results_gone")
        return [(image, await self.blobs.get(image.key)) for image in job.results]

    # -- signed result URLs ------------------------------------------------------------------------

    def _signature(self, job_id: str, index: int, expires: int) -> str:
        message = f"tryon-result:{job_id}:{index}:{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def result_url(self, job: TryOnJob, index: int, *, now: float | None = None) -> str:
        expires = int((now or time.time()) + RESULT_URL_TTL_S)
        signature = self._signature(str(job.id), index, expires)
        return f"/api/v1/tryon/{job.id}/result/{index}?expires={expires}&signature={signature}"

    async def signed_result(self, job_id: str, index: int, expires: int, signature: str) -> tuple[StoredImage, bytes]:
        """The result image a signed URL points at; the URL is the only credential."""
        # Bytes: compare_digest refuses str with non-ASCII characters (TypeError, a 500).
        valid = hmac.compare_digest(self._signature(job_id, index, expires).encode(), signature.encode())
        if not valid or expires < time.time():
            raise Forbidden(
                "This result link is invalid or has expired; ask the API for a new one.", code="invalid_result_link"
            )
        object_id = parse_object_id(job_id)
        job = await TryOnJob.get(object_id) if object_id else None
        if job is None or job.status != JobStatus.COMPLETED or not 0 <= index < len(job.results):
            raise NotFound("The result is gone.", code="results_gone")
        image = job.results[index]
        return image, await self.blobs.get(image.key)

    # -- cancel and delete -------------------------------------------------------------------------

    async def cancel(self, account_id: PydanticObjectId, job_id: str) -> TryOnJob:
        job = await self.get(account_id, job_id)
        if job.status != JobStatus.QUEUED:
            raise Conflict(
                f"Only queued try-ons can be canceled; this one is {job.status.value}.", code="tryon_not_cancelable"
            )
        ended = await self.lifecycle.transition(
            job.oid,
            JobStatus.CANCELED,
            expected=JobStatus.QUEUED,
            error=JobError(code="canceled", detail="Canceled by the account."),
        )
        if ended is None:
            raise Conflict("The try-on started meanwhile; it can no longer be canceled.", code="tryon_not_cancelable")
        return await self.get(account_id, job_id)

    async def delete(self, account_id: PydanticObjectId, job_id: str) -> None:
        """Remove a job and its images. A queued job is canceled (and refunded) first."""
        job = await self.get(account_id, job_id)
        if job.status == JobStatus.PROCESSING:
            raise Conflict("The try-on is being generated; delete it once it has finished.", code="tryon_in_progress")
        if job.status == JobStatus.QUEUED:
            await self.cancel(account_id, job_id)
        await self.blobs.delete_prefix(f"results/{job.id}/")
        await self.blobs.delete_prefix(f"inputs/{job.id}/")
        await TryOnJob.find_one(TryOnJob.id == job.id).delete()

    # -- running (worker side) -----------------------------------------------------------------------

    async def process(self, job_id: str) -> None:
        """Run one attempt of a job. Safe to call twice: only one caller can claim the attempt."""
        now = utcnow()
        job = await self.lifecycle.transition(
            PydanticObjectId(job_id),
            JobStatus.PROCESSING,
            where={"inputs_stored": True},
            changes={"started_at": now, "heartbeat_at": now},
            increments={"attempts": 1},
        )
        if job is None:
            return
        config = await self.config.current()
        try:
            async with self._heartbeat(job):
                results = await self._generate(job, config)
        except EngineError as exc:
            await self._after_failure(job, JobError(code=exc.code, detail=exc.detail), transient=exc.transient)
            return
        except TimeoutError:
            await self._after_failure(
                job,
                JobError(code="engine_timeout", detail=f"The engine took longer than {config.timeout_s} s."),
                transient=True,
            )
            return
        except Exception as exc:  # an engine crash: retried like a transient error, then failed
            log.exception("try-on attempt crashed", job_id=job_id)
            await self._after_failure(job, JobError(code="engine_failed", detail=type(exc).__name__), transient=True)
            return
        await self._complete(job, results)

    @asynccontextmanager
    async def _heartbeat(self, job: TryOnJob) -> AsyncIterator[None]:
        """Mark the attempt alive every few seconds while it runs, so the sweeper can tell a dead
        worker (no heartbeat for STALE_AFTER_S) from a slow engine within seconds."""

        async def beat() -> None:
            while True:
                await asyncio.sleep(HEARTBEAT_S)
                with suppress(*MONGO_UNAVAILABLE):
                    await TryOnJob.get_pymongo_collection().update_one(
                        {"_id": job.id, "status": JobStatus.PROCESSING, "attempts": job.attempts},
                        {"$set": {"heartbeat_at": utcnow()}},
                    )

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _generate(self, job: TryOnJob, config: RuntimeConfig) -> list[StoredImage]:
        engine_name = self._engine_name(config)
        engine = self._engine(engine_name, config)
        prompt = await self.prompts.active(job.mode)
        inputs = {role: await self.blobs.get(key) for role, key in job.inputs.items()}
        results = []
        for index in range(job.samples):
            output = await asyncio.wait_for(
                engine.generate(
                    TryOnInput(
                        mode=TryOnMode(job.mode),
                        person=inputs["person"],
                        garment=inputs["garment"],
                        bottom=inputs.get("bottom"),
                        garment_photo_type=GarmentPhotoType(job.garment_photo_type),
                        seed=job.seed + index,
                        quality=Quality(job.quality),
                        output_format=OutputFormat(job.output_format),
                        prompt=prompt.text if prompt else None,
                    )
                ),
                timeout=config.timeout_s,
            )
            key = f"results/{job.id}/{index}.{EXTENSION_OF_MEDIA_TYPE.get(output.media_type, 'png')}"
            await self.blobs.put(key, output.image, output.media_type)
            results.append(StoredImage(key=key, media_type=output.media_type, width=output.width, height=output.height))
            await TryOnJob.get_pymongo_collection().update_one(
                {"_id": job.id, "status": JobStatus.PROCESSING},
                {
                    "$set": {
                        "heartbeat_at": utcnow(),
                        "engine": engine_name,
                        "prompt_version": prompt.version if prompt else None,
                    }
                },
            )
        return results

    def _engine_name(self, config: RuntimeConfig) -> str:
        if config.engine != "auto":
            return config.engine
        return "openai" if self.settings.openai_api_key else "local"

    def _engine(self, name: str, config: RuntimeConfig) -> TryOnEngine:
        options: dict[str, Any] = {}
        if name == "openai":
            options = {
                "api_key": self.settings.openai_api_key,
                "base_url": self.settings.openai_base_url,
                "model": config.model,
                "timeout_s": config.timeout_s,
                "size": config.size,
            }
        cache_key = (name, *sorted(options.items()))
        if cache_key not in self._engines:
            self._engines[cache_key] = create_engine(name, **options)
        return self._engines[cache_key]

    async def _complete(self, job: TryOnJob, results: list[StoredImage]) -> None:
        now = utcnow()
        completed = await self.lifecycle.transition(
            job.oid,
            JobStatus.COMPLETED,
            # This attempt's: a sweeper may have retried it meanwhile, and a later attempt may run.
            where={"attempts": job.attempts},
            changes={
                "completed_at": now,
                "error": None,
                "results": [r.model_dump() for r in results],
                "results_expire_at": now + timedelta(days=self.settings.result_retention_days),
            },
        )
        if completed is None:  # the sweeper ended this attempt meanwhile: our results are not the job's
            await self.blobs.delete_prefix(f"results/{job.id}/")

    async def _after_failure(self, job: TryOnJob, error: JobError, *, transient: bool) -> None:
        if transient and job.attempts < job.max_attempts:
            await self.retry(job, error)
        else:
            await self.fail(job.oid, error, from_status=JobStatus.PROCESSING, attempt=job.attempts)

    async def retry(self, job: TryOnJob, error: JobError) -> None:
        """Put a job back in the queue for another attempt, with exponential backoff."""
        delay_s = min(2**job.attempts, 60)
        requeued = await self.lifecycle.transition(
            job.oid,
            JobStatus.QUEUED,
            where={"attempts": job.attempts},
            changes={"dispatched": False, "dispatch_at": utcnow() + timedelta(seconds=delay_s)},
            error=error,
        )
        if requeued is not None:
            log.warning("try-on attempt failed; retrying", job_id=str(job.id), code=error.code, attempt=job.attempts)
            await self.hand_off(requeued, delay_s=delay_s)

    async def fail(
        self, job_id: PydanticObjectId, error: JobError, *, from_status: JobStatus, attempt: int | None = None
    ) -> bool:
        """End a job failed and refund it, if it is still `from_status` (and still in `attempt`, when
        given: a late failure of an attempt the sweeper replaced must not end the newer one)."""
        where = {"attempts": attempt} if attempt is not None else None
        ended = await self.lifecycle.transition(
            job_id, JobStatus.FAILED, expected=from_status, where=where, error=error
        )
        return ended is not None

    # -- maintenance (cron) ------------------------------------------------------------------------

    async def sweep(
        self, *, stale_after_s: float | None = None, requeue_after_s: float = REQUEUE_AFTER_S, limit: int = 200
    ) -> dict[str, int]:
        """Find jobs a crash left behind: attempts with no heartbeat (worker died) are retried or failed
        and refunded; queued jobs whose queue entry was lost (Redis restarted) are queued again.
        Cheap enough for the worker's dispatcher to run every few seconds (indexed queries, bounded)."""
        stale = stale_after_s if stale_after_s is not None else STALE_AFTER_S
        now = utcnow()
        counts = {"retried": 0, "failed": 0, "requeued": 0}
        stuck = (
            await TryOnJob.find(
                {"status": JobStatus.PROCESSING, "heartbeat_at": {"$lt": now - timedelta(seconds=stale)}}
            )
            .limit(limit)
            .to_list()
        )
        for job in stuck:
            error = JobError(code="worker_lost", detail="The worker running this try-on stopped.")
            if job.attempts < job.max_attempts:
                await self.retry(job, error)
                counts["retried"] += 1
            elif await self.fail(job.oid, error, from_status=JobStatus.PROCESSING, attempt=job.attempts):
                counts["failed"] += 1
        # Accepted, but the API stopped before the images were stored: nothing can ever run it.
        unstored = (
            await TryOnJob.find(
                {
                    "status": JobStatus.QUEUED,
                    "inputs_stored": False,
                    "created_at": {"$lt": now - timedelta(seconds=max(requeue_after_s, STORE_WITHIN_S))},
                }
            )
            .limit(limit)
            .to_list()
        )
        for job in unstored:
            if await self.fail(
                job.oid,
                JobError(code="storage_failed", detail="The images were never stored."),
                from_status=JobStatus.QUEUED,
            ):
                counts["failed"] += 1
        # Handed to the queue (or written before the outbox existed: no `dispatched` field), not started.
        old = now - timedelta(seconds=requeue_after_s)
        waiting = (
            await TryOnJob.find(
                {
                    "status": JobStatus.QUEUED,
                    "inputs_stored": True,
                    "dispatched": {"$ne": False},
                    "$or": [{"enqueued_at": {"$lt": old}}, {"enqueued_at": None, "created_at": {"$lt": old}}],
                }
            )
            .limit(limit)
            .to_list()
        )
        for job in waiting:
            queued = await self.queue.job(attempt_key(job))
            if queued is None:  # Redis lost it: the attempt's own key is free again
                await self.enqueue(job)
                counts["requeued"] += 1
            elif queued.completed or (
                # Taken from the queue long ago but never claimed: its worker died in between.
                queued.status == SaqStatus.ACTIVE and time.time() * 1000 - queued.started > CLAIM_WITHIN_S * 1000
            ):
                # Ran without effect (e.g. the database was away) or died unclaimed: a new queue entry.
                # Should the old one still run, only one of them can claim the attempt.
                await self.enqueue(job, key_suffix=f":{int(now.timestamp())}")
                counts["requeued"] += 1
        return counts

    async def purge_expired_results(self) -> int:
        """Delete result images past their retention; the job stays, marked without results."""
        expired = await TryOnJob.find({"results_expire_at": {"$lt": utcnow()}}).limit(500).to_list()
        for job in expired:
            await self.blobs.delete_prefix(f"results/{job.id}/")
            await TryOnJob.get_pymongo_collection().update_one(
                {"_id": job.id}, {"$set": {"results": [], "results_expire_at": None}}
            )
        return len(expired)


def attempt_key(job: TryOnJob) -> str:
    """The SAQ key of a job's current attempt: queueing one attempt twice queues it once."""
    return f"tryon:{job.id}:{job.attempts}"


def _replay(existing: TryOnJob, fingerprint: str) -> TryOnJob:
    if existing.request_hash != fingerprint:
        raise InvalidInput(
            "This Idempotency-Key was used for a different request; use a new key for a new try-on.",
            code="idempotency_key_reused",
        )
    return existing


def _not_found() -> NotFound:
    return NotFound("No such try-on.", code="tryon_not_found")


def _input_key(job_id: PydanticObjectId, role: str, image: NormalizedImage) -> str:
    return f"inputs/{job_id}/{role}.{EXTENSION_OF_MEDIA_TYPE.get(image.media_type, 'png')}"


def _describe(submissions: list[Submission]) -> str:
    if len(submissions) == 1:
        options = submissions[0].options
        return f"Try-on ({options.mode}, {options.samples} sample{'s' if options.samples > 1 else ''})"
    return f"Batch of {len(submissions)} try-ons"
