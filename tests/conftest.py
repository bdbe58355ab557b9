"""Test harness: real SecantusDB and redis-server for the session, the real app served over loopback
HTTP by uvicorn in the test event loop, a clean database and Redis for every test, and a helper that
runs SAQ jobs through real workers."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from litestar import Litestar

from trailroom.cli import uvicorn_options
from trailroom.core.config import Settings
from trailroom.domain.services import Services
from trailroom.embedded.process import free_port
from trailroom.embedded.services import EmbeddedMongo, EmbeddedRedis, start_mongo, start_redis
from trailroom.resources import Resources
from trailroom.server.app import create_app
from trailroom.worker.main import build_workers

from .fakes import engines as _test_engines  # noqa: F401 - registers the scripted test engine
from .fakes.oidc import CLIENT_ID, CLIENT_SECRET, OIDCProvider

# Every log line of the run is kept and searched for secrets when it ends (tests/log_secrets.py).
from .log_secrets import log_every_level, pytest_configure, pytest_sessionfinish  # noqa: F401

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("trailroom-data")


@pytest.fixture(scope="session")
def embedded_mongo(data_dir: Path) -> Iterator[EmbeddedMongo]:
    mongo = start_mongo(data_dir)
    yield mongo
    mongo.stop()


@pytest.fixture(scope="session")
def embedded_redis(data_dir: Path) -> Iterator[EmbeddedRedis]:
    redis = start_redis(data_dir, persist=False)
    yield redis
    redis.stop()


@asynccontextmanager
async def serve(app: Any, host: str, port: int, **options: Any) -> AsyncIterator[None]:
    """Serve an ASGI app with uvicorn in the current event loop until the block ends. `options`
    are uvicorn's (the platform's own app is served with `uvicorn_options`, as in production)."""
    config = {"log_config": None, "lifespan": "on", **options, "host": host, "port": port}
    server = uvicorn.Server(uvicorn.Config(app, **config))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the server stopped while starting")
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="session")
def oidc_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
async def oidc_provider(oidc_port: int) -> AsyncIterator[OIDCProvider]:
    provider = OIDCProvider(issuer=f"http://127.0.0.1:{oidc_port}")
    async with serve(provider.app(), "127.0.0.1", oidc_port):
        yield provider


@pytest.fixture(scope="session")
def settings(embedded_mongo: EmbeddedMongo, embedded_redis: EmbeddedRedis, data_dir: Path, oidc_port: int) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        host="127.0.0.1",
        port=free_port(),
        mongodb_uri=embedded_mongo.uri,
        mongodb_database="trailroom_test",
        redis_url=embedded_redis.url,
        data_dir=data_dir,
        secret_key="test-secret-key-that-is-long-enough-for-hs256-signing",
        log_level=os.environ.get("TRAILROOM_TEST_LOG_LEVEL", "WARNING"),  # type: ignore[arg-type]
        heartbeat_cron="* * * * * *",
        url_fetch_allow_loopback=True,
        url_fetch_allow_http=True,
        google_client_id=CLIENT_ID,
        google_client_secret=CLIENT_SECRET,
        google_discovery_url=f"http://127.0.0.1:{oidc_port}/.well-known/openid-configuration",
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Litestar]:
    application = create_app(settings)
    async with serve(application, **uvicorn_options(settings)):
        yield application


@pytest.fixture(scope="session")
def base_url(app: Litestar, settings: Settings) -> str:
    return f"http://{settings.host}:{settings.port}"


@pytest.fixture(scope="session")
def resources(app: Litestar) -> Resources:
    res: Resources = app.state.resources
    return res


@pytest.fixture(scope="session")
def services(app: Litestar) -> Services:
    svc: Services = app.state.services
    return svc


@pytest.fixture(autouse=True)
async def clean_state(resources: Resources, services: Services) -> None:
    """Every test starts from an empty database (indexes kept), an empty Redis, no blobs and the
    default runtime configuration."""
    database = resources.database
    for name in await database.list_collection_names():
        if not name.startswith("system."):
            await database[name].delete_many({})
    await resources.redis.flushdb()
    shutil.rmtree(resources.settings.blob_root, ignore_errors=True)
    services.runtime_config.invalidate()


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        yield http


@asynccontextmanager
async def running_workers(services: Services) -> AsyncIterator[None]:
    """Real SAQ workers for every queue, in the test's event loop, for the duration of the block."""
    workers = build_workers(services)
    tasks = [asyncio.create_task(worker.start()) for worker in workers]
    try:
        yield
    finally:
        await asyncio.gather(*(worker.stop() for worker in workers), return_exceptions=True)
        await asyncio.gather(*tasks, return_exceptions=True)
