"""Accepting try-ons: the images (upload, URL, base64) made clean, the options checked, the shopper's
daily caps, and the one transaction that charges and creates the jobs.

Invariants:
- Credits are taken exactly once for an accepted job: the charge, its ledger entry and the job
  are written in one transaction. An `Idempotency-Key` maps to one job per account (a unique
  index), so a retried request returns that job and charges nothing.
- The in-flight limit is counted inside the charging transaction: concurrent submissions on one
  account conflict on its credits document, so the loser retries and counts the winner's job.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import httpx
from beanie import PydanticObjectId
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from trailroom.core.blobs import BlobStore
from trailroom.core.errors import Forbidden, InvalidInput
from trailroom.core.ids import random_object_id
from trailroom.core.limits import LimitPolicies, jobs_in_flight
from trailroom.core.logging import get_logger
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
from trailroom.domain.runtime_config.models import RuntimeConfig
from trailroom.domain.runtime_config.services import RuntimeConfigService
from trailroom.domain.tryon.dispatch import JobDispatch
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
from trailroom.domain.tryon.models import IN_FLIGHT, JobError, JobStatus, TryOnJob
from trailroom.domain.tryon.shopper_ids import ShopperIds
from trailroom.domain.tryon.shopper_limits import Reservation, Shopper, ShopperLimiter
from trailroom.resources import Resources

log = get_logger("trailroom.tryon")

MAX_BATCH = 20


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


class TryOnIntake:
    def __init__(
        self,
        resources: Resources,
        credits: CreditService,
        config: RuntimeConfigService,
        blobs: BlobStore,
        http: httpx.AsyncClient,
        lifecycle: JobLifecycle,
        dispatch: JobDispatch,
        shopper_ids: ShopperIds,
    ) -> None:
        self.resources = resources
        self.settings = resources.settings
        self.credits = credits
        self.config = config
        self.blobs = blobs
        self.http = http
        self.lifecycle = lifecycle
        self.dispatch = dispatch
        self.shopper_ids = shopper_ids
        self.limits = ImageLimits(max_bytes=self.settings.image_max_bytes)
        self.shoppers = ShopperLimiter(resources.redis)
        self.limit_policies = LimitPolicies(self.settings)
        self.fetch_policy = FetchPolicy(
            allow_http=self.settings.url_fetch_allow_http, allow_loopback=self.settings.url_fetch_allow_loopback
        )
        # Decoding a large photo takes tens of MB: bound how many this process decodes at once.
        self._decoding = asyncio.Semaphore(4)
        self._charge_locks = [asyncio.Lock() for _ in range(64)]  # striped by account

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
            await self.lifecycle.fail(
                job.oid,
                JobError(code="storage_failed", detail=f"Could not store the images: {exc}"),
                from_status=JobStatus.QUEUED,
            )
            raise
        await self.dispatch.hand_off(job)


def _replay(existing: TryOnJob, fingerprint: str) -> TryOnJob:
    if existing.request_hash != fingerprint:
        raise InvalidInput(
            "This Idempotency-Key was used for a different request; use a new key for a new try-on.",
            code="idempotency_key_reused",
        )
    return existing


def _input_key(job_id: PydanticObjectId, role: str, image: NormalizedImage) -> str:
    return f"inputs/{job_id}/{role}.{EXTENSION_OF_MEDIA_TYPE.get(image.media_type, 'png')}"


def _describe(submissions: list[Submission]) -> str:
    if len(submissions) == 1:
        options = submissions[0].options
        return f"Try-on ({options.mode}, {options.samples} sample{'s' if options.samples > 1 else ''})"
    return f"Batch of {len(submissions)} try-ons"
