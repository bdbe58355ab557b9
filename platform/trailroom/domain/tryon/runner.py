"""The worker's run of a try-on attempt: claim it, keep it alive (heartbeat), run the engine per
sample, store the results and complete it; or retry it with backoff, or fail it (with its refund)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Any

from beanie import PydanticObjectId

from trailroom.core.blobs import BlobStore
from trailroom.core.clock import utcnow
from trailroom.core.config import Settings
from trailroom.core.logging import get_logger
from trailroom.core.mongo import MONGO_UNAVAILABLE
from trailroom.core.vocabulary import EXTENSION_OF_MEDIA_TYPE, GarmentPhotoType, OutputFormat, Quality, TryOnMode
from trailroom.domain.prompts.services import PromptService
from trailroom.domain.runtime_config.models import RuntimeConfig
from trailroom.domain.runtime_config.services import RuntimeConfigService
from trailroom.domain.tryon.dispatch import JobDispatch
from trailroom.domain.tryon.lifecycle import JobLifecycle
from trailroom.domain.tryon.models import JobError, JobStatus, StoredImage, TryOnJob
from trailroom.engines.base import EngineError, TryOnEngine, TryOnInput
from trailroom.engines.registry import create_engine

log = get_logger("trailroom.tryon")

# A running attempt proves it is alive this often; the sweeper retries one silent for STALE_AFTER_S.
HEARTBEAT_S = 3.0


class TryOnRunner:
    def __init__(
        self,
        settings: Settings,
        config: RuntimeConfigService,
        prompts: PromptService,
        blobs: BlobStore,
        lifecycle: JobLifecycle,
        dispatch: JobDispatch,
    ) -> None:
        self.settings = settings
        self.config = config
        self.prompts = prompts
        self.blobs = blobs
        self.lifecycle = lifecycle
        self.dispatch = dispatch
        self._engines: dict[tuple[Any, ...], TryOnEngine] = {}

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
            await self.lifecycle.fail(job.oid, error, from_status=JobStatus.PROCESSING, attempt=job.attempts)

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
            await self.dispatch.hand_off(requeued, delay_s=delay_s)
