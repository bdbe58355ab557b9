"""`trailroom dev`: the whole product on 127.0.0.1 from one command.

Starts the embedded MongoDB-compatible server and Redis (unless URLs are configured), seeds the
demo account, then runs the API and the worker (with its cron scheduler) as child processes. A
child or server that exits is reaped and started again with backoff, with a line saying so. Ctrl-C
stops the children in order: API and worker first, then Redis, then the database.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from trailroom.core.config import Settings
from trailroom.embedded.process import EmbeddedError, ManagedProcess, port_is_open
from trailroom.embedded.services import EmbeddedService, start_mongo, start_redis


class AlreadyRunning(EmbeddedError):
    pass


BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
STABLE_AFTER_S = 60.0


@dataclass
class Crashes:
    """The restart state of one supervised process."""

    started_at: float
    in_a_row: int = 0
    due: float | None = None  # when to start it again, once it has exited


def _exit_code(unit: EmbeddedService | ManagedProcess) -> int | None:
    process = unit.process if isinstance(unit, EmbeddedService) else unit
    return process.exit_code


def _how(code: int | None) -> str:
    if code is None:
        return "not running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _services_file(data_dir: Path) -> Path:
    return data_dir / "run" / "services.json"


def read_running_services(data_dir: Path) -> dict[str, str] | None:
    """The service URLs of a `trailroom dev` running on this data folder, if one is.

    A file left by a crashed run is ignored: only a held dev lock proves a supervisor runs (its pid
    alone may have been reused by another process)."""
    path = _services_file(data_dir)
    try:
        running = json.loads(path.read_text())
        os.kill(int(running["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    if not _dev_lock_held(data_dir):
        return None
    return {"mongodb_uri": running["mongodb_uri"], "redis_url": running["redis_url"]}


def _dev_lock_held(data_dir: Path) -> bool:
    try:
        with (data_dir / "run" / "dev.lock").open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
    except OSError:
        return False


def acquire_dev_lock(data_dir: Path) -> IO[str]:
    """An exclusive lock on the data folder, held for the life of the process (freed by the kernel on crash)."""
    lock_path = data_dir / "run" / "dev.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = lock_path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "unknown"
        handle.close()
        raise AlreadyRunning(
            f"trailroom dev is already running with the data folder {data_dir} (pid {owner}); "
            "stop it with Ctrl-C in its terminal, or set TRAILROOM_DATA_DIR to another folder"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _say(line: str) -> None:
    # Flushed at once: when stdout is a pipe or a file (`make dev | tee`, an IDE, a service manager)
    # Python buffers it, and the banner would only appear when everything stops.
    print(line, flush=True)


@dataclass
class DevStack:
    settings: Settings
    say: Callable[[str], None] = _say
    services: list[EmbeddedService] = field(default_factory=list)
    children: list[ManagedProcess] = field(default_factory=list)

    def run(self, *, seed: Callable[[Settings], Any] | None = None) -> int:
        settings = self.settings
        data_dir = settings.data_dir.resolve()
        lock = acquire_dev_lock(data_dir)
        stopping = False

        def request_stop(signum: int, _frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        try:
            if port_is_open(settings.host, settings.port):
                raise EmbeddedError(
                    f"port {settings.port} on {settings.host} is already in use; stop what listens there "
                    "or set TRAILROOM_PORT"
                )
            env = self._start_services(data_dir)
            child_settings = settings.model_copy(
                update={"mongodb_uri": env["TRAILROOM_MONGODB_URI"], "redis_url": env["TRAILROOM_REDIS_URL"]}
            )
            _services_file(data_dir).write_text(
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "mongodb_uri": env["TRAILROOM_MONGODB_URI"],
                        "redis_url": env["TRAILROOM_REDIS_URL"],
                    }
                )
            )
            demo = asyncio.run(seed(child_settings)) if seed else None
            self._start_children(env, data_dir)
            self._wait_ready(lambda: stopping)
            if stopping:
                return 0
            self.say(self._banner(demo, data_dir))
            self._supervise(lambda: stopping)
            return 0
        finally:
            self.stop()
            _services_file(data_dir).unlink(missing_ok=True)
            lock.close()

    def _start_services(self, data_dir: Path) -> dict[str, str]:
        settings = self.settings
        env = dict(os.environ)
        env["TRAILROOM_DATA_DIR"] = str(data_dir)
        if settings.mongodb_uri:
            env["TRAILROOM_MONGODB_URI"] = settings.mongodb_uri
        else:
            self.say("starting embedded SecantusDB (MongoDB wire protocol)…")
            mongo = start_mongo(data_dir)
            self.services.append(mongo)
            env["TRAILROOM_MONGODB_URI"] = mongo.uri
        if settings.redis_url:
            env["TRAILROOM_REDIS_URL"] = settings.redis_url
        else:
            self.say("starting embedded redis-server…")
            redis = start_redis(data_dir)
            self.services.append(redis)
            env["TRAILROOM_REDIS_URL"] = redis.url
        return env

    def _start_children(self, env: dict[str, str], data_dir: Path) -> None:
        for name in ("api", "worker"):
            child = ManagedProcess(
                name=f"trailroom {name}",
                argv=[sys.executable, "-m", "trailroom", name],
                pid_file=data_dir / "run" / f"{name}.pid",
                marker=f"-m trailroom {name}",
                env=env,
                inherit_output=True,
            )
            child.start()
            self.children.append(child)

    def _wait_ready(self, stopping: Callable[[], bool], timeout: float = 60.0) -> None:
        url = f"http://{self.settings.host}:{self.settings.port}/readyz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not stopping():
            for child in self.children:
                if not child.running:
                    raise EmbeddedError(f"{child.name} exited while starting; see its messages above")
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        if not stopping():
            raise EmbeddedError(f"the API did not become ready at {url} within {timeout:.0f} s")

    def _supervise(self, stopping: Callable[[], bool]) -> None:
        """Until told to stop: restart whatever exited, after a backoff that doubles with each crash
        in a row (0.5 s up to 30 s; a run of a minute clears it). Servers come back on their port and
        data, so the API and the worker reconnect to them by themselves."""
        crashes: dict[str, Crashes] = {}
        while not stopping():
            now = time.monotonic()
            units: list[EmbeddedService | ManagedProcess] = [*self.services, *self.children]
            for unit in units:
                state = crashes.setdefault(unit.name, Crashes(started_at=now))
                if unit.running:  # polling also reaps a dead child
                    if state.in_a_row and now - state.started_at > STABLE_AFTER_S:
                        state.in_a_row = 0
                    continue
                if state.due is None:
                    delay = min(BACKOFF_FIRST_S * 2**state.in_a_row, BACKOFF_MAX_S)
                    state.in_a_row += 1
                    state.due = now + delay
                    self.say(
                        f"trailroom: {unit.name} exited ({_how(_exit_code(unit))}); "
                        f"restarting it in {delay:.1f} s (crash {state.in_a_row} in a row)"
                    )
                elif now >= state.due and not stopping():
                    state.due = None
                    state.started_at = now
                    try:
                        unit.restart()
                    except EmbeddedError as exc:
                        self.say(f"trailroom: {unit.name} did not come back: {exc}")
                        continue
                    self.say(f"trailroom: {unit.name} restarted")
            time.sleep(0.2)

    def _banner(self, demo: Any, data_dir: Path) -> str:
        base = self.settings.base_url
        lines = [
            "",
            "TrailRoom is running",
            f"  Web app          {base}/   (dashboard {base}/app)",
            f"  Guides           {base}/docs",
            f"  API reference    {base}/schema",
            f"  Health           {base}/healthz   {base}/readyz",
            f"  Data folder      {data_dir}",
        ]
        if demo is not None:
            lines += [
                f"  Demo login       {demo.email} / {demo.password}",
                f"  Demo secret key  {demo.secret_key}",
                f"  Try it           curl -H 'Authorization: Bearer {demo.secret_key}' {base}/api/v1/credits",
            ]
            if self.settings.demo_store_enabled:
                lines.append(f"  Demo store       {base}/demo/store   (the widget, with the demo publishable key)")
        lines += ["Press Ctrl-C to stop.", ""]
        return "\n".join(lines)

    def stop(self) -> None:
        for process in reversed(self.children):
            process.stop(timeout=25)
        self.children.clear()
        for service in reversed(self.services):
            service.stop()
        self.services.clear()
