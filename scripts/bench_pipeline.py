"""Benchmark of the try-on pipeline's plumbing, on the embedded services (or TRAILROOM_* URLs).

Prints:
- job dispatch: enqueue-to-start latency of the product's SAQ worker (target: median < 25 ms),
  idle (one job at a time) and in a burst;
- accepted submissions per second: POST /api/v1/tryon over real HTTP with small images, through
  intake, credit charge, job insert, blob store and enqueue (no engine work).

Usage: .venv/bin/python scripts/bench_pipeline.py [--jobs 200] [--submissions 200] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from PIL import Image
from saq import Job

from trailroom.core.config import Settings
from trailroom.domain.accounts.models import User
from trailroom.domain.credits.models import TransactionKind
from trailroom.embedded.process import free_port
from trailroom.embedded.services import start_mongo, start_redis
from trailroom.resources import open_resources
from trailroom.server.app import create_app
from trailroom.worker.main import TrailRoomWorker

STARTS: dict[str, float] = {}
ENOUGH = asyncio.Event()  # set once STARTS holds `expected` entries
expected = 0


async def probe(ctx: dict[str, Any], *, sent: float) -> None:
    """The job the benchmark dispatches: it only records when it started."""
    STARTS[ctx["job"].key] = time.time() - sent
    if len(STARTS) >= expected:
        ENOUGH.set()


async def started(count: int) -> None:
    global expected
    expected = count
    if len(STARTS) < count:
        ENOUGH.clear()
        await ENOUGH.wait()


def summary(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[int(len(ms) * 0.95) - 1]
    return f"median {statistics.median(ms):6.2f} ms   p95 {p95:6.2f} ms   max {ms[-1]:6.2f} ms   (n={len(ms)})"


async def bench_dispatch(settings: Settings, jobs: int) -> None:
    async with open_resources(settings) as resources:
        queue = resources.queues.tryon
        worker = TrailRoomWorker(queue, functions=[probe], concurrency=settings.worker_concurrency, dequeue_timeout=1.0)
        worker.SIGNALS = []
        task = asyncio.create_task(worker.start())
        await asyncio.sleep(0.5)
        STARTS.clear()
        for i in range(jobs):  # idle: one at a time
            job: Job | None = await queue.enqueue("probe", key=f"idle-{i}", sent=time.time())
            assert job is not None
            await started(i + 1)
        idle = list(STARTS.values())
        STARTS.clear()
        await asyncio.gather(*(queue.enqueue("probe", key=f"burst-{i}", sent=time.time()) for i in range(jobs)))
        await started(jobs)
        burst = list(STARTS.values())
        await worker.stop()
        await asyncio.gather(task, return_exceptions=True)
    print(f"dispatch, idle    {summary(idle)}")
    print(f"dispatch, burst   {summary(burst)}")


def small_png(color: tuple[int, int, int]) -> str:
    out = io.BytesIO()
    Image.new("RGB", (320, 400), color).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


async def bench_submissions(settings: Settings, submissions: int, concurrency: int) -> None:
    app = create_app(settings, configure_logs=False)
    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for this
        await asyncio.sleep(0.05)
    services = app.state.services
    base = f"http://{settings.host}:{settings.port}"
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        email = f"bench-{int(time.time())}@example.com"
        password = "Fitting-Room-42"
        user = await services.accounts.create_user(email=email, password=password, name="Load Test")
        await services.credits.add(user.id, submissions, kind=TransactionKind.PURCHASE, description="bench")
        await User.find_one(User.id == user.id).update({"$set": {"max_jobs_in_flight": 1_000_000}})
        token = (await client.post("/api/v1/auth/login", json={"email": email, "password": password})).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        body = {"mode": "top", "person_image": small_png((80, 80, 80)), "garment_image": small_png((20, 40, 200))}
        semaphore = asyncio.Semaphore(concurrency)
        latencies: list[float] = []

        async def submit() -> int:
            async with semaphore:
                started = time.perf_counter()
                response = await client.post("/api/v1/tryon", headers=headers, json=body)
                latencies.append(time.perf_counter() - started)
                return response.status_code

        started = time.perf_counter()
        codes = await asyncio.gather(*(submit() for _ in range(submissions)))
        elapsed = time.perf_counter() - started
    server.should_exit = True
    await serving
    accepted = codes.count(202)
    print(
        f"submissions       {accepted}/{submissions} accepted in {elapsed:.1f} s = {accepted / elapsed:.1f} /s "
        f"at concurrency {concurrency}"
    )
    print(f"submission time   {summary(latencies)}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trailroom-bench-") as tmp:
        data = Path(tmp)
        mongo = start_mongo(data)
        redis = start_redis(data, persist=False)
        try:
            settings = Settings(
                _env_file=None,
                env="test",
                mongodb_uri=mongo.uri,
                redis_url=redis.url,
                mongodb_database="bench",
                data_dir=data,
                port=free_port(),
                secret_key="bench-secret-key-long-enough-for-hs256-signing-ok",
                log_level="WARNING",
            )
            await bench_dispatch(settings, args.jobs)
            await bench_submissions(settings, args.submissions, args.concurrency)
        finally:
            redis.stop()
            mongo.stop()


if __name__ == "__main__":
    asyncio.run(main())
